"""Environment of the matrix engine bench (rtl/engines/npu_matmul_engine.sv) on a real scratchpad.

Toplevel: tb/sv/npu_matmul_engine_tb.sv (simulation only), the engine on ports 0..2 (A, B, C)
of a 4-port npu_scratchpad and a host port 3 that this bench drives to preload the scratchpad,
read it back, and probe overwrite control.

The bench advances one clock cycle per `step()` (called by the tests): after each rising edge
the host-port driver and the engine host port present their requests, then in ReadOnly the
agents sample the handshakes, the host's read responses and every engine-port request (grants
recorded, a waiting request must stay stable, no request outside an instruction, single
done/err pulses, busy_o / insn_ready_o consistent).

Granted engine-port requests are logged in `granted` and also attributed to the oldest
instruction in flight (`EngineHostPort.active`). That attribution is exact for `run` (one
instruction at a time); `run_many` offers a stream with up to matmul_inflight instructions in
flight and has the scoreboard split each port's log by instruction instead (scoreboard.py,
`check_stream`).

The golden model tb/golden/matmul_engine_model.py computes, from the bench's mirror of the
scratchpad and its own accumulator state, the error (code, info) or the scratchpad image after
the instruction (every byte is compared after each instruction by reading all lines back, so
bytes outside the destination are checked unchanged), and the regions that the release reads
and lock writes must touch (scoreboard.py).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from hwdef.isa import INSN_BITS
from tb.agents.engine_port import EngineHostPort, EngineOp
from tb.agents.env import BlockEnv
from tb.agents.spad_port import (
    SpadAccess,
    SpadPortDriver,
    SpadPortMonitor,
    first_difference,
    line_int,
)
from tb.blocks.matmul_engine.scoreboard import ENGINE_PORTS, MatmulEngineScoreboard
from tb.golden.matmul_engine_model import MatmulEngineModel, MatmulResult
from tb.harness.cocotb_utils import check_build, start_clock_and_reset
from tools.rtl_sources import REPO

TOPLEVEL = "npu_matmul_engine_tb"
TB_SOURCES = [REPO / "tb" / "sv" / "npu_matmul_engine_tb.sv"]
PORTS = 4
TIMEOUT = 20000
WIDE_ENV = "NPU_MM_LINE_BITS"
INFLIGHT_ENV = "NPU_MM_INFLIGHT"     # the one-at-a-time variant's Inflight (see the launcher)


class MatmulEngineEnv(BlockEnv):
    def __init__(self, dut) -> None:
        super().__init__(dut)
        cfg = self.cfg
        self.ab = cfg.spad_addr_bits

        expected = dict(cfg.sv_params(TOPLEVEL))
        if os.environ.get(WIDE_ENV):          # the wide-line variant (see the launcher)
            expected["LineBits"] = int(os.environ[WIDE_ENV])
        if os.environ.get(INFLIGHT_ENV):
            expected["Inflight"] = int(os.environ[INFLIGHT_ENV])
        self.line_bits = expected["LineBits"]
        self.lb = self.line_bits // 8
        check_build(dut, TOPLEVEL, {
            "insn_i": INSN_BITS, "err_code_o": 8, "err_info_o": 32,
            "host_req_addr_i": self.ab, "host_req_wdata_i": self.line_bits,
            "host_req_wstrb_i": self.lb, "host_rsp_rdata_o": self.line_bits,
            "req_addr_o": PORTS * self.ab, "req_wstrb_o": PORTS * self.lb,
            "req_readers_o": PORTS * cfg.spad_reader_bits, "req_valid_o": PORTS,
        }, expected)

        # The model sees the lines the build has (the wide variant doubles the lanes of a line).
        self.model = MatmulEngineModel(dataclasses.replace(cfg, vector_lanes=self.lb // 4))
        self.scoreboard = MatmulEngineScoreboard(self.dim, self.region_lines)
        self.host = SpadPortDriver(dut, "host_", step=self.step)
        self.ports = SpadPortMonitor(dut, ENGINE_PORTS, PORTS)
        # The build's instructions in flight (hwdef matmul_inflight, the wrapper's Inflight).
        self.engine = EngineHostPort(dut, max_inflight=expected["Inflight"])
        self.mirror = np.zeros((self.lines, self.lb), dtype=np.uint8)
        self.granted: list[SpadAccess] = []     # every granted engine-port request, in order
        self.cycle = 0
        self.strict = 0
        dut.strict_i.value = 0
        self._strict_driven = 0

    async def reset(self) -> None:
        await start_clock_and_reset(self.dut)

    # ---- one clock cycle ----------------------------------------------------------------------
    async def step(self) -> None:
        await RisingEdge(self.dut.clk_i)
        self.cycle += 1
        self.host.drive(self.cycle)
        self.engine.drive()
        if self.strict != self._strict_driven:
            self.dut.strict_i.value = self._strict_driven = self.strict
        await ReadOnly()
        self.host.sample(self.cycle)
        presented, granted = self.ports.sample(self.cycle)
        if granted:
            self.granted.extend(granted)
            if self.engine.active is not None:
                self.engine.active.accesses.extend(granted)
        self.engine.sample(self.cycle, presented)

    async def idle(self, cycles: int) -> None:
        for _ in range(cycles):
            await self.step()

    # ---- host port ----------------------------------------------------------------------------
    async def preload(self, rng) -> None:
        """Fill the whole scratchpad with random bytes (the mirror follows)."""
        self.mirror = rng.integers(0, 256, size=(self.lines, self.lb), dtype=np.uint8)
        await self.host.write_lines(0, self.mirror)

    async def readback(self) -> np.ndarray:
        return await self.host.read_lines(range(self.lines))

    async def check_image(self, expected: np.ndarray, what: str) -> None:
        got = await self.readback()
        if not np.array_equal(got, expected):
            raise AssertionError(first_difference(got, expected, 0, what))
        self.mirror = expected.copy()

    def counter(self, name: str) -> int:
        return getattr(self.dut, f"stat_{name}_o").value.to_unsigned()

    def mirror_line(self, line: int) -> int:
        return line_int(self.mirror[line])

    # ---- one instruction ----------------------------------------------------------------------
    async def run(self, f: dict, *, check_image: bool = True, what: str = "matmul",
                  expect_hang: int = 0):
        """Execute one MATMUL and check it completely against the golden model.

        expect_hang > 0: the instruction is expected not to finish within that many cycles
        (overwrite control holds it); the caller finishes it with `finish_run`."""
        f = self.model.fields(f)
        res = self.model.execute(f, self.mirror)
        op = self.engine.offer("MATMUL", f)
        start = self.cycle
        limit = expect_hang or TIMEOUT
        while not op.finished.is_set():
            await self.step()
            if self.cycle - start > limit:
                if expect_hang:
                    return res, op
                raise AssertionError(f"{what}: no done/err within {TIMEOUT} cycles ({f})")
        assert not expect_hang, f"{what}: finished although overwrite control should hold it"
        await self.finish_run(res, op, f, what, check_image)
        return res, op

    async def finish_run(self, res, op: EngineOp, f: dict, what: str, check_image: bool):
        start = self.cycle
        while not op.finished.is_set():
            await self.step()
            assert self.cycle - start < TIMEOUT, f"{what}: no done/err"
        # A few more cycles: single pulses, no access after the end (the agents check both).
        await self.idle(3)
        assert op.t_accept is not None, f"{what}: instruction never accepted"
        if res.error:
            self.scoreboard.check_rejected(op, res, what)
            if check_image:
                await self.check_image(res.spad, what)
            return
        assert op.kind == "done", f"{what}: unexpected err {op.code}/{op.info} for {f}"
        self.scoreboard.check_accesses(res, op, f, what)
        if check_image:
            await self.check_image(res.spad, what)
        else:
            self.mirror = res.spad.copy()

    # ---- a stream of instructions -------------------------------------------------------------
    async def run_many(self, insns: list[dict], *, what: str = "stream",
                       check_image: bool = True) -> list[tuple[MatmulResult, EngineOp]]:
        """Offer every instruction of `insns` at once, without waiting for completions: the
        host port presents the next one as soon as the engine has taken the previous one, so
        the engine holds as many as it can (matmul_inflight). The golden model runs them one
        after the other in program order; the engine's result must be the same (every error's
        code and info, every access, the whole scratchpad image after the last one). Returns
        (model result, observed op) per instruction."""
        fs = [self.model.fields(f) for f in insns]
        results: list[MatmulResult] = []
        image = self.mirror
        for f in fs:
            res = self.model.execute(f, image)
            results.append(res)
            assert res.spad is not None
            image = res.spad
        first = len(self.granted)
        ops = [self.engine.offer("MATMUL", f) for f in fs]
        start = self.cycle
        while not all(op.finished.is_set() for op in ops):
            await self.step()
            # A verdict is checked as it comes: a younger instruction's pulse that comes too
            # early is counted as the older one's (the agent retires the oldest), so say so.
            for k, (res, op) in enumerate(zip(results, ops)):
                if op.finished.is_set() and op.kind != ("err" if res.error else "done"):
                    raise AssertionError(
                        f"{what} #{k}: {op.kind} (code {op.code}, info {op.info}) at cycle "
                        f"{op.t_end}, the model says {'err ' if res.error else 'done'}"
                        f"{f'{res.error}/{res.info}' if res.error else ''} (a later "
                        "instruction's pulse before this one retired?)")
            if self.cycle - start > TIMEOUT * len(ops):
                unfinished = [k for k, op in enumerate(ops) if not op.finished.is_set()]
                raise AssertionError(f"{what}: instructions {unfinished} got no done/err "
                                     f"within {TIMEOUT * len(ops)} cycles")
        # A few more cycles: single pulses, no access after the end (the agents check both).
        await self.idle(3)
        self.scoreboard.check_stream(results, ops, fs, self.granted[first:], what)
        if check_image:
            await self.check_image(image, what)
        else:
            self.mirror = image.copy()
        return list(zip(results, ops))

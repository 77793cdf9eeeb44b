"""Environment of the vector engine bench (rtl/engines/npu_vector_engine.sv, docs/vector_engine.md).

Toplevel: the simulation-only wrapper tb/sv/npu_vector_engine_tb.sv, i.e. the engine on ports 0
(a), 1 (b) and 2 (results) of a real 4-port npu_scratchpad whose port 3 the bench drives as a
host (preload, read back, overwrite-control probes, conflicting traffic).

The environment is one clocked loop (`_loop`): just after each rising edge the host-port driver
and the engine host port drive their requests, and flags_clear_i / strict_i are driven; in
ReadOnly the agents sample every port. Every cycle the agents check: a request that was not
granted is presented again unchanged; no engine port requests while no instruction is in
flight; insn_ready_o == !busy_o; done_o and err_o are one-cycle pulses, one per accepted
instruction. Per instruction the scoreboard (scoreboard.py) checks what the golden model says;
`execute` also compares flags_o and every byte of the destination window (then `check_all` the
whole scratchpad) with the bench's mirror.
"""

from __future__ import annotations

from collections.abc import Sequence

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from hwdef import isa
from hwdef.params import VEC_FLAG_BITS
from tb.agents.engine_port import EngineHostPort, EngineOp
from tb.agents.env import BlockEnv
from tb.agents.spad_port import SpadPortDriver, SpadPortMonitor, SpadTxn
from tb.blocks.vector_engine.scoreboard import ENGINE_PORTS, VectorEngineScoreboard
from tb.golden import vector_engine_model as vem
from tb.harness.cocotb_utils import check_build, start_clock_and_reset
from tools.rtl_sources import REPO

TOPLEVEL = "npu_vector_engine_tb"
WRAPPER = REPO / "tb" / "sv" / "npu_vector_engine_tb.sv"
PORTS = 4


class VectorEngineEnv(BlockEnv):
    def __init__(self, dut) -> None:
        super().__init__(dut)
        cfg = self.cfg

        check_build(dut, TOPLEVEL, {
            "insn_i": isa.INSN_BITS, "err_code_o": 8, "err_info_o": 32,
            "flags_o": VEC_FLAG_BITS, "host_req_addr_i": cfg.spad_addr_bits,
            "host_req_wdata_i": cfg.line_bits, "host_req_wstrb_i": self.lb,
            "host_rsp_rdata_o": cfg.line_bits, "req_addr_o": PORTS * cfg.spad_addr_bits,
            "req_wstrb_o": PORTS * self.lb, "req_wdata_o": PORTS * cfg.line_bits,
            "req_readers_o": PORTS * cfg.spad_reader_bits,
        })

        self.host = SpadPortDriver(dut, "host_", clocked=True)
        self.ports = SpadPortMonitor(dut, ENGINE_PORTS, PORTS)
        self.engine = EngineHostPort(dut)
        self.scoreboard = VectorEngineScoreboard(cfg)
        self.mem = np.zeros((self.lines, self.lb), dtype=np.uint8)   # mirror of the scratchpad
        self.cycle = 0
        self.clear_flags = False
        self.strict = False
        self.bad_release: list[tuple[int, int]] = []
        self.violations: list[tuple[int, int]] = []
        for name in ("strict_i", "flags_clear_i"):
            getattr(dut, name).value = 0
        self._driven = {"strict_i": 0, "flags_clear_i": 0}

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)
        cocotb.start_soon(self._loop())

    # ---- the clocked loop -----------------------------------------------------------------
    def _drive(self, name: str, value: int) -> None:
        if self._driven.get(name) != value:
            getattr(self.dut, name).value = value
            self._driven[name] = value

    async def _loop(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk_i)
            self.host.drive(self.cycle)
            self.engine.drive()
            self._drive("flags_clear_i", int(self.clear_flags))
            self.clear_flags = False
            self._drive("strict_i", int(self.strict))
            await ReadOnly()
            cyc = self.cycle
            bad = dut.bad_release_o.value.to_unsigned()
            viol = dut.ow_violation_o.value.to_unsigned()
            for port in range(PORTS):
                if bad >> port & 1:
                    self.bad_release.append((cyc, port))
                if viol >> port & 1:
                    self.violations.append((cyc, port))
            self.host.sample(cyc)
            presented, granted = self.ports.sample(cyc)
            if granted and self.engine.active is not None:
                self.engine.active.accesses.extend(granted)
            self.engine.sample(cyc, presented)
            self.cycle += 1

    # ---- host port --------------------------------------------------------------------------
    async def host_txns(self, txns: list[SpadTxn]) -> Sequence[SpadTxn]:
        return await self.host.transact(txns)

    async def write_lines(self, start: int, data: np.ndarray) -> None:
        """Full-line host writes of data (n x line_bytes) from line start; updates the mirror."""
        await self.host.write_lines(start, data)
        self.mem[start:start + len(data)] = data

    async def fill_random(self, rng) -> None:
        await self.write_lines(0, rng.integers(0, 256, (self.lines, self.lb), dtype=np.uint8))

    async def check_lines(self, addrs, what: str) -> None:
        addrs = sorted(set(int(a) for a in addrs))
        await self.host.expect_lines(addrs, self.mem[addrs], what)

    async def check_all(self, what: str) -> None:
        await self.check_lines(range(self.lines), what + " (whole scratchpad)")

    # ---- instructions -----------------------------------------------------------------------
    def issue(self, fields: dict, clear_flags: bool = True) -> EngineOp:
        if clear_flags:
            self.clear_flags = True
        return self.engine.offer("VECTOR", fields)

    async def wait(self, op: EngineOp, timeout: int = 200_000) -> EngineOp:
        start = self.cycle
        while not op.finished.is_set():
            await RisingEdge(self.dut.clk_i)
            assert self.cycle - start < timeout, f"instruction did not finish: {op.fields}"
        return op

    async def flags(self) -> int:
        await RisingEdge(self.dut.clk_i)
        await ReadOnly()
        return self.dut.flags_o.value.to_unsigned()

    async def execute(self, fields: dict, what: str, check_flags: bool = True,
                      window: int = 2) -> tuple[EngineOp, vem.EngineResult]:
        """Run one instruction, check it against the model, update the mirror."""
        res = vem.execute(self.cfg, self.mem, fields)
        op = await self.wait(self.issue(fields))
        await RisingEdge(self.dut.clk_i)
        if res.error is not None:
            self.scoreboard.check_rejected(op, res, what)
            return op, res
        assert op.kind == "done", f"{what}: got {op.kind} code {op.code} info {op.info}"
        self.scoreboard.check_accesses(op, res, what)
        if check_flags:
            got = await self.flags()
            assert got == res.flags, f"{what}: flags_o {got:04b} expected {res.flags:04b}"
        self.mem = res.mem
        lines: set[int] = set()
        for line in res.dst_lines:
            lines.update(range(max(0, line - window), min(self.lines, line + window + 1)))
        await self.check_lines(lines, what)
        return op, res

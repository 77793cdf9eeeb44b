"""Environment of the scratchpad bench (rtl/scratchpad/npu_scratchpad.sv, docs/scratchpad.md;
tests: tb/blocks/test_scratchpad.py).

The bench is one clocked loop (`step`): just after each rising edge the scratchpad-port driver
presents, per port, the head of that port's queue (kept until granted, valid/ready), then in
ReadOnly the driver collects grants and read data and the scoreboard advances the reference
model tb/golden/scratchpad_model.py with what was presented and granted. Every cycle it checks:

* the grant vector equals the round-robin policy's (the model also checks legality: one access
  per bank, only eligible requests, no idle bank with a requester);
* rsp_valid_o, every bit of every read response, ow_violation_o and bad_release_o;
and the counters whenever a test asks (always at the end of a test).
"""

from __future__ import annotations

from cocotb.triggers import ReadOnly, RisingEdge

from tb.agents.env import BlockEnv
from tb.agents.spad_port import SpadPortDriver, SpadTxn
from tb.blocks.scratchpad.scoreboard import ScratchpadScoreboard
from tb.golden.scratchpad_model import COUNTER_NAMES, ScratchpadModel, SpadRequest
from tb.harness.cocotb_utils import check_build, start_clock_and_reset

TOPLEVEL = "npu_scratchpad"


class ScratchpadEnv(BlockEnv):
    def __init__(self, dut) -> None:
        super().__init__(dut)
        cfg = self.cfg
        self.ports = cfg.spad_ports
        self.line_bits = cfg.line_bits
        self.line_bytes = cfg.line_bytes
        self.addr_bits = cfg.spad_addr_bits
        self.full_strb = (1 << self.line_bytes) - 1

        widths = {
            "req_valid_i": self.ports, "req_ready_o": self.ports, "req_write_i": self.ports,
            "req_addr_i": self.ports * self.addr_bits,
            "req_wdata_i": self.ports * self.line_bits,
            "req_wstrb_i": self.ports * self.line_bytes,
            "req_readers_i": self.ports * cfg.spad_reader_bits, "req_last_use_i": self.ports,
            "rsp_valid_o": self.ports, "rsp_rdata_o": self.ports * self.line_bits,
            "ow_violation_o": self.ports, "bad_release_o": self.ports,
        }
        widths.update({f"stat_{name}_o": 32 for name in COUNTER_NAMES})
        check_build(dut, TOPLEVEL, widths)

        self.model = ScratchpadModel(self.banks, self.bank_lines, self.region_lines,
                                     self.line_bits, self.ports,
                                     self.cfg.spad_reader_bits)
        self.driver = SpadPortDriver(dut, "", ports=self.ports, step=self.step)
        self.scoreboard = ScratchpadScoreboard(dut, self.model, self.ports, self.line_bits)
        self.strict = False
        self.clear = False
        self.cycle = 0
        self.on_cycle = None         # optional stimulus hook, called before driving each cycle
        self._driven: dict[str, int] = {}
        for name in ("strict_i", "stat_clear_i"):
            self._drive(name, 0, force=True)

    @property
    def cur(self) -> list[SpadTxn | None]:
        return self.driver.cur

    @property
    def queues(self):
        return self.driver.queues

    @property
    def history(self) -> list[tuple[int, int, int]]:
        return self.scoreboard.history

    @property
    def violation_events(self) -> list[tuple[int, int]]:
        return self.scoreboard.violation_events

    @property
    def bad_release_events(self) -> list[tuple[int, int]]:
        return self.scoreboard.bad_release_events

    async def reset(self) -> None:
        await start_clock_and_reset(self.dut)

    def _drive(self, name: str, value: int, force: bool = False) -> None:
        if force or self._driven.get(name) != value:
            getattr(self.dut, name).value = value
            self._driven[name] = value

    def submit(self, port: int, req: SpadRequest | None) -> SpadTxn | None:
        """Queue a request (None = one idle cycle) on a port."""
        return self.driver.submit(None if req is None else SpadTxn(req), port)

    def busy(self) -> bool:
        return self.driver.busy

    def read_counters(self) -> dict[str, int]:
        return self.scoreboard.read_counters()

    # ---- one clock cycle ------------------------------------------------------------------
    async def step(self, check_counters: bool = False) -> None:
        await RisingEdge(self.dut.clk_i)
        if self.on_cycle is not None:
            self.on_cycle(self)
        self.driver.drive(self.cycle)
        self._drive("strict_i", int(self.strict))
        self._drive("stat_clear_i", int(self.clear))
        await ReadOnly()
        self.scoreboard.check_responses(self.cycle)
        if check_counters:
            self.scoreboard.check_counters(self.cycle)
        txns = list(self.driver.cur)
        reqs = self.driver.requests
        ready = self.driver.sample(self.cycle)
        self.scoreboard.step(self.cycle, txns, reqs, ready, self.strict, self.clear)
        self.cycle += 1

    # ---- helpers --------------------------------------------------------------------------
    async def run(self, cycles: int) -> None:
        for _ in range(cycles):
            await self.step()

    async def drain(self, max_cycles: int = 5000) -> None:
        """Step until every queued request is granted, then one more cycle for responses."""
        for _ in range(max_cycles):
            if not self.busy():
                await self.step()
                return
            await self.step()
        raise AssertionError(f"requests still pending after {max_cycles} cycles: "
                             f"{self.driver.requests}")

    async def check_counters(self) -> dict[str, int]:
        """One cycle in which the counters are compared with the model (all six, all bits)."""
        await self.step(check_counters=True)
        return dict(self.model.counters)

    def addr(self, bank: int, line: int) -> int:
        return bank * self.bank_lines + line

    def rand_line(self, rng) -> int:
        return int.from_bytes(rng.bytes(self.line_bytes), "little")

    def rand_strb(self, rng) -> int:
        roll = rng.random()
        if roll < 0.4:
            return self.full_strb
        if roll < 0.45:
            return 0
        return int.from_bytes(rng.bytes((self.line_bytes + 7) // 8), "little") & self.full_strb

    def write(self, addr: int, data: int, strb: int | None = None, readers: int = 0,
              rng=None) -> SpadRequest:
        """A write; with *rng*, the unused last_use bit is randomised (must be ignored)."""
        last = bool(rng.integers(0, 2)) if rng is not None else False
        return SpadRequest(True, addr, data, self.full_strb if strb is None else strb,
                           readers, last)

    def read(self, addr: int, last_use: bool = False, rng=None) -> SpadRequest:
        """A read; with *rng*, the unused wdata/wstrb/readers fields carry random junk."""
        if rng is None:
            return SpadRequest(False, addr, last_use=last_use)
        return SpadRequest(False, addr, self.rand_line(rng), self.rand_strb(rng),
                           int(rng.integers(0, 1 << self.cfg.spad_reader_bits)), last_use)


async def setup(dut) -> ScratchpadEnv:
    tb = ScratchpadEnv(dut)
    await tb.reset()
    await tb.check_counters()   # all counters are zero after reset
    return tb

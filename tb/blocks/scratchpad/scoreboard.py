"""Scoreboard of the scratchpad bench: every cycle, the DUT's grants, responses and pulses
against the reference model tb/golden/scratchpad_model.py (which also checks that the grants
are legal), and the six counters when a test asks."""

from __future__ import annotations

from tb.agents.spad_port import unsigned
from tb.golden.scratchpad_model import COUNTER_NAMES, HELD, SpadModelError


class ScratchpadScoreboard:
    def __init__(self, dut, model, ports: int, line_bits: int) -> None:
        self.dut = dut
        self.model = model
        self.ports = ports
        self.line_bits = line_bits
        self.prev = None             # model result of the previous cycle (its responses are due)
        self.prev_txns = [None] * ports
        self.violation_events: list[tuple[int, int]] = []   # (cycle, port) of pulses seen
        self.bad_release_events: list[tuple[int, int]] = []
        self.history: list[tuple[int, int, int]] = []        # (presented, ready, held) per cycle

    def read_counters(self) -> dict[str, int]:
        return {name: getattr(self.dut, f"stat_{name}_o").value.to_unsigned()
                for name in COUNTER_NAMES}

    def check_counters(self, cycle: int) -> None:
        got = self.read_counters()
        assert got == self.model.counters, \
            f"cycle {cycle}: counters {got} != model {self.model.counters}"

    def check_responses(self, cycle: int) -> None:
        """In ReadOnly: the responses and pulses of the previous cycle's grants."""
        dut = self.dut
        rsp_valid = unsigned(dut.rsp_valid_o)
        violation = unsigned(dut.ow_violation_o)
        bad = unsigned(dut.bad_release_o)
        exp = self.prev
        if exp is None:
            assert rsp_valid == 0 and violation == 0 and bad == 0, \
                f"cycle {cycle}: response or pulse without a request"
            return
        assert rsp_valid == exp.rsp_valid, \
            f"cycle {cycle}: rsp_valid_o {rsp_valid:b} != expected {exp.rsp_valid:b}"
        assert violation == exp.violation, \
            f"cycle {cycle}: ow_violation_o {violation:b} != expected {exp.violation:b}"
        assert bad == exp.bad_release, \
            f"cycle {cycle}: bad_release_o {bad:b} != expected {exp.bad_release:b}"
        for port in range(self.ports):
            if violation >> port & 1:
                self.violation_events.append((cycle, port))
            if bad >> port & 1:
                self.bad_release_events.append((cycle, port))
        if not rsp_valid:
            return
        bus = unsigned(dut.rsp_rdata_o)
        mask = (1 << self.line_bits) - 1
        for port in range(self.ports):
            if not rsp_valid >> port & 1:
                continue
            got = (bus >> (port * self.line_bits)) & mask
            known = exp.rsp_known[port]
            txn = self.prev_txns[port]
            assert got & known == exp.rsp_data[port] & known, (
                f"cycle {cycle}: port {port} read of line {txn.req.addr:#x} returned "
                f"{got:#x}, expected {exp.rsp_data[port]:#x} (known bits {known:#x})")

    def step(self, cycle: int, txns, reqs, ready: int, strict: bool, clear: bool) -> None:
        """Advance the model with this cycle's requests and the observed grants."""
        try:
            result = self.model.step(reqs, strict=strict, clear=clear, grants=ready)
        except SpadModelError as err:
            raise AssertionError(f"{err}; requests {reqs}") from err
        assert ready == result.expected_ready, (
            f"cycle {cycle}: req_ready_o {ready:0{self.ports}b} != expected "
            f"{result.expected_ready:0{self.ports}b} (status {result.status})")
        presented = sum(1 << p for p, t in enumerate(txns) if t is not None)
        held = sum(1 << p for p, s in enumerate(result.status) if s == HELD)
        self.history.append((presented, ready, held))
        self.prev = result
        self.prev_txns = [t if ready >> p & 1 else None for p, t in enumerate(txns)]

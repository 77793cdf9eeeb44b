"""Reference model of the banked scratchpad (rtl/scratchpad/npu_scratchpad.sv, docs/scratchpad.md).

The model is advanced once per clock cycle with the requests the driver presented on every port
and the grants (req_ready_o) the monitor observed. From its own state it decides, for that cycle:

* which requests overwrite control must hold (strict_i = 0) or drop as violations (strict_i = 1),
  which are eligible for bank arbitration, and which grants the documented round-robin policy
  gives (`CycleResult.expected_ready`, compared with the DUT by the bench);
* whether the observed grants are legal (only eligible requests, at most one per bank, every
  bank with an eligible request serves one): `SpadModelError` otherwise;
* the read data each granted read must return next cycle, the violation / bad-release pulses,
  and the counters (conflicts = eligible requests that were not granted).

It then applies the granted transactions in order: byte-masked writes to a reference memory,
pending-read counts set by writes with readers != 0 and decremented by last-use reads. Nothing is
copied from the DUT except the grant vector, whose legality is checked first.

Memory that was never written (the RTL array has no reset) is tracked per byte as unknown; read
data is compared on the known bytes only and `unknown_read_bytes` counts the rest, so a test can
require full coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COUNTER_BITS = 32
COUNTER_NAMES = ("reads", "writes", "conflicts", "ow_wait", "ow_violations", "bad_release")

# Per-port state of a request in one cycle.
IDLE, ELIGIBLE, HELD, VIOLATION = "idle", "eligible", "held", "violation"


class SpadModelError(AssertionError):
    """The DUT did something the scratchpad contract forbids."""


@dataclass(frozen=True)
class SpadRequest:
    """The fields one port drives in one cycle. Fields that do not apply to the access kind
    (wdata/wstrb/readers of a read, last_use of a write) are driven anyway and must be ignored."""

    write: bool
    addr: int
    wdata: int = 0
    wstrb: int = 0
    readers: int = 0
    last_use: bool = False


@dataclass
class CycleResult:
    status: list[str]              # IDLE / ELIGIBLE / HELD / VIOLATION per port
    expected_ready: int            # grants of the round-robin policy plus violation acks
    grants: int                    # the grant vector that was applied (observed)
    rsp_valid: int                 # rsp_valid_o expected next cycle
    rsp_data: list[int]            # per port: expected read data (0 when no response)
    rsp_known: list[int]           # per port: bit mask of the bytes whose value is known
    violation: int                 # ow_violation_o expected next cycle
    bad_release: int               # bad_release_o expected next cycle
    conflicts: int                 # requests that lost bank arbitration this cycle
    held: int                      # writes held by overwrite control this cycle
    events: dict = field(default_factory=dict)


class ScratchpadModel:
    def __init__(self, banks: int, bank_lines: int, region_lines: int, line_bits: int,
                 ports: int, reader_bits: int = 2) -> None:
        if region_lines > bank_lines or bank_lines % region_lines:
            raise ValueError("a region must lie inside one bank")
        self.banks = banks
        self.bank_lines = bank_lines
        self.region_lines = region_lines
        self.line_bits = line_bits
        self.line_bytes = line_bits // 8
        self.ports = ports
        self.reader_bits = reader_bits
        self.lines = banks * bank_lines
        self.regions = self.lines // region_lines
        self.mem = np.zeros((self.lines, self.line_bytes), dtype=np.uint8)
        self.known = np.zeros((self.lines, self.line_bytes), dtype=bool)
        self.pending = [0] * self.regions
        self.rr_next = [0] * banks      # first port the round-robin search looks at, per bank
        self.counters = dict.fromkeys(COUNTER_NAMES, 0)
        self.unknown_read_bytes = 0
        self.cycles = 0

    # ---- address map ----------------------------------------------------------------------
    def bank_of(self, addr: int) -> int:
        return addr // self.bank_lines

    def region_of(self, addr: int) -> int:
        return addr // self.region_lines

    def line_addr(self, bank: int, line: int) -> int:
        return bank * self.bank_lines + line

    # ---- reference memory -----------------------------------------------------------------
    def write_line(self, addr: int, wdata: int, wstrb: int) -> None:
        data = np.frombuffer(wdata.to_bytes(self.line_bytes, "little"), dtype=np.uint8)
        enable = np.array([(wstrb >> i) & 1 for i in range(self.line_bytes)], dtype=bool)
        self.mem[addr, enable] = data[enable]
        self.known[addr, enable] = True

    def read_line(self, addr: int) -> tuple[int, int]:
        """(value, mask of known bits) of one line; unknown bytes read as 0."""
        value = int.from_bytes(np.where(self.known[addr], self.mem[addr], 0).tobytes(), "little")
        mask = int.from_bytes(np.where(self.known[addr], 0xFF, 0).astype(np.uint8).tobytes(),
                              "little")
        return value, mask

    # ---- one cycle ------------------------------------------------------------------------
    def classify(self, reqs: list[SpadRequest | None], strict: bool) -> list[str]:
        status = []
        for req in reqs:
            if req is None:
                status.append(IDLE)
            elif req.write and self.pending[self.region_of(req.addr)] > 0:
                status.append(VIOLATION if strict else HELD)
            else:
                status.append(ELIGIBLE)
        return status

    def round_robin(self, reqs: list[SpadRequest | None], status: list[str]) -> int:
        """Grant vector of the documented policy: per bank, the first eligible port at or
        after rr_next[bank], wrapping around."""
        grants = 0
        for bank in range(self.banks):
            for k in range(self.ports):
                port = (self.rr_next[bank] + k) % self.ports
                if status[port] == ELIGIBLE and self.bank_of(reqs[port].addr) == bank:
                    grants |= 1 << port
                    break
        return grants

    def step(self, reqs: list[SpadRequest | None], strict: bool = False, clear: bool = False,
             grants: int | None = None) -> CycleResult:
        """Advance one cycle. *grants* is the observed bank-grant vector (req_ready_o without
        the violation acks is derived here); None means "use the model's own policy"."""
        if len(reqs) != self.ports:
            raise ValueError(f"expected {self.ports} request slots, got {len(reqs)}")
        status = self.classify(reqs, strict)
        violations = sum(1 << p for p, s in enumerate(status) if s == VIOLATION)
        expected_grants = self.round_robin(reqs, status)
        expected_ready = expected_grants | violations
        if grants is None:
            bank_grants = expected_grants
        else:
            bank_grants = grants & ~violations
            if grants & violations != violations:
                missing = violations & ~grants
                raise SpadModelError(f"cycle {self.cycles}: violating writes on ports "
                                     f"{missing:#b} were not acknowledged")
        self._check_legal(reqs, status, bank_grants)

        result = CycleResult(status=status, expected_ready=expected_ready, grants=bank_grants,
                             rsp_valid=0, rsp_data=[0] * self.ports,
                             rsp_known=[0] * self.ports, violation=violations, bad_release=0,
                             conflicts=0, held=sum(s == HELD for s in status))
        # Apply the granted accesses. They are on distinct banks, hence distinct regions and
        # lines, so their order within the cycle does not matter.
        reads = writes = 0
        for port in range(self.ports):
            if not bank_grants >> port & 1:
                if status[port] == ELIGIBLE:
                    result.conflicts += 1
                continue
            req = reqs[port]
            region = self.region_of(req.addr)
            self.rr_next[self.bank_of(req.addr)] = (port + 1) % self.ports
            if req.write:
                writes += 1
                self.write_line(req.addr, req.wdata, req.wstrb)
                if req.readers:
                    self.pending[region] = req.readers
            else:
                reads += 1
                value, known = self.read_line(req.addr)
                self.unknown_read_bytes += self.line_bytes - bin(known).count("1") // 8
                result.rsp_valid |= 1 << port
                result.rsp_data[port] = value
                result.rsp_known[port] = known
                if req.last_use:
                    if self.pending[region] == 0:
                        result.bad_release |= 1 << port
                    else:
                        self.pending[region] -= 1

        increments = {
            "reads": reads,
            "writes": writes,
            "conflicts": result.conflicts,
            "ow_wait": result.held,
            "ow_violations": bin(violations).count("1"),
            "bad_release": bin(result.bad_release).count("1"),
        }
        mask = (1 << COUNTER_BITS) - 1
        for name, inc in increments.items():
            self.counters[name] = 0 if clear else (self.counters[name] + inc) & mask
        if clear:   # the block's stat_clear_i also clears the locks (clear_locks_i, START)
            self.pending = [0] * self.regions
        result.events = increments
        self.cycles += 1
        return result

    def _check_legal(self, reqs, status, bank_grants: int) -> None:
        served: dict[int, int] = {}
        for port in range(self.ports):
            if not bank_grants >> port & 1:
                continue
            if status[port] != ELIGIBLE:
                raise SpadModelError(f"cycle {self.cycles}: port {port} granted while "
                                     f"{status[port]}")
            bank = self.bank_of(reqs[port].addr)
            if bank in served:
                raise SpadModelError(f"cycle {self.cycles}: bank {bank} granted to ports "
                                     f"{served[bank]} and {port} in one cycle")
            served[bank] = port
        for port in range(self.ports):
            if status[port] == ELIGIBLE and self.bank_of(reqs[port].addr) not in served:
                raise SpadModelError(f"cycle {self.cycles}: bank {self.bank_of(reqs[port].addr)}"
                                     f" idle although port {port} requested it")

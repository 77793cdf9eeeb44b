"""Engine host-port agent: the instruction interface every engine wrapper brings out.

Signals (with a prefix such as "load_" where a wrapper holds several engines):
`insn_valid_i` / `insn_i` / `insn_ready_o` (the instruction is taken at an edge where both are
high), then one single-cycle pulse of `done_o` or of `err_o` with `err_code_o` / `err_info_o`
(the ERROR_INFO value); `busy_o` and `stall_o` where the wrapper has them.

Two ways to use it, so that a bench keeps its cost:

* stepped by a bench's clocked loop: `offer()` queues an instruction, `drive()` (after the
  rising edge) presents it, `sample(cycle)` (in ReadOnly) records the handshake, busy / stall
  cycles and the completion in an `EngineOp`, and checks the protocol every cycle: at most
  `max_inflight` instructions in flight (1: insn_ready_o is !busy_o, no instruction is accepted
  while one is in flight; the matrix engine takes hwdef's matmul_inflight), busy_o stays high
  while an instruction is in flight, done_o and err_o are single pulses (never together, never
  without an instruction) that retire the oldest, stall_o only in flight.
* on its own: `issue()` polls only until the handshake, `watch()` waits on edges of done_o /
  err_o (no Python per cycle while the engine works), `result()` returns the next completion.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import cocotb
from cocotb.queue import Queue
from cocotb.triggers import Event, First, ReadOnly, RisingEdge, with_timeout

from hwdef.isa import encode
from hwdef.regs import ErrorCode
from tb.harness.cocotb_utils import hold_until_ready

CLOCK_NS = 10


class Completion(NamedTuple):
    """How an instruction ended: ErrorCode.NONE with info 0 for done_o."""

    code: ErrorCode
    info: int


@dataclass(eq=False)
class EngineOp:
    """One instruction through the host port and what the bench saw while it ran."""

    mnemonic: str
    fields: dict
    word: int
    t_accept: int | None = None      # cycle of the handshake
    t_end: int | None = None         # cycle of the done_o / err_o pulse
    kind: str | None = None          # "done" or "err"
    code: int = 0
    info: int = 0
    accesses: list = field(default_factory=list)   # filled by the bench's port monitor
    request_cycles: int = 0          # cycles with an engine-port request while in flight
    stall_cycles: int = 0
    busy_cycles: int = 0
    finished: Event = field(default_factory=Event)

    @property
    def requested(self) -> bool:
        return self.request_cycles > 0

    @property
    def completion(self) -> Completion:
        return Completion(ErrorCode(self.code) if self.kind == "err" else ErrorCode.NONE,
                          self.info if self.kind == "err" else 0)


class EngineHostPort:
    def __init__(self, dut, prefix: str = "", clk=None, max_inflight: int = 1) -> None:
        self.dut = dut
        self.max_inflight = max_inflight
        self.clk = clk if clk is not None else dut.clk_i
        sig = lambda name: getattr(dut, prefix + name)   # noqa: E731
        self._valid, self._insn, self._ready = sig("insn_valid_i"), sig("insn_i"), \
            sig("insn_ready_o")
        self._done, self._err = sig("done_o"), sig("err_o")
        self._code, self._info = sig("err_code_o"), sig("err_info_o")
        # Every engine has busy_o and stall_o (docs/architecture.md, engine contract); a
        # missing port is an error here, not a protocol check that quietly disappears.
        self._busy, self._stall = sig("busy_o"), sig("stall_o")
        self.offers: deque[EngineOp] = deque()
        self.offer_cur: EngineOp | None = None
        self.inflight: deque[EngineOp] = deque()   # oldest first
        self.results: Queue[Completion] = Queue()
        self._driven: dict[str, int] = {}
        self._valid.value = 0
        self._insn.value = 0

    @property
    def active(self) -> EngineOp | None:
        """The oldest instruction in flight (None when idle)."""
        return self.inflight[0] if self.inflight else None

    # ---- stepped by a clocked loop ----------------------------------------------------------
    def offer(self, mnemonic: str, fields: dict) -> EngineOp:
        op = EngineOp(mnemonic, fields, encode(mnemonic, **fields))
        self.offers.append(op)
        return op

    def drive(self) -> None:
        if self.offer_cur is None and self.offers:
            self.offer_cur = self.offers.popleft()
        valid = int(self.offer_cur is not None)
        if self._driven.get("valid") != valid:
            self._valid.value = valid
            self._driven["valid"] = valid
        if self.offer_cur is not None and self._driven.get("insn") != self.offer_cur.word:
            self._insn.value = self.offer_cur.word
            self._driven["insn"] = self.offer_cur.word

    def sample(self, cycle: int, engine_requests: int = 0) -> EngineOp | None:
        """In ReadOnly: the protocol checks of this cycle; returns the op that completed.
        `engine_requests` is the mask of engine ports presenting a request this cycle (none may
        while no instruction is in flight)."""
        busy = int(self._busy.value)
        ready = int(self._ready.value)
        done, err = int(self._done.value), int(self._err.value)
        stall = int(self._stall.value)
        active = self.active
        if self.max_inflight == 1:
            assert ready == (not busy), f"cycle {cycle}: insn_ready_o {ready} busy_o {busy}"
        retiring = int(bool(done or err))
        assert not ready or len(self.inflight) - retiring < self.max_inflight, \
            f"cycle {cycle}: insn_ready_o with {len(self.inflight)} instructions in flight"
        assert not (done and err), f"cycle {cycle}: done_o and err_o together"
        if engine_requests:
            assert active is not None, \
                f"cycle {cycle}: ports {engine_requests:b} request with no instruction"
            active.request_cycles += 1
        finished = None
        if active is not None:
            active.busy_cycles += busy
            assert busy or done or err, f"cycle {cycle}: busy_o low during the instruction"
            active.stall_cycles += stall
        else:
            assert not stall, f"cycle {cycle}: stall_o while idle"
        if done or err:
            assert active is not None, f"cycle {cycle}: done/err pulse with no instruction"
            active.t_end = cycle
            active.kind = "done" if done else "err"
            active.code = self._code.value.to_unsigned()
            active.info = self._info.value.to_unsigned()
            active.finished.set()
            finished = self.inflight.popleft()
        if self.offer_cur is not None and ready:
            assert len(self.inflight) < self.max_inflight, f"cycle {cycle}: accepted while busy"
            self.offer_cur.t_accept = cycle
            self.inflight.append(self.offer_cur)
            self.offer_cur = None
        return finished

    # ---- on its own ----------------------------------------------------------------------------
    def watch(self, on_completion: Callable[[], None] | None = None) -> None:
        """Start the completion watcher (edge-triggered). `on_completion` runs in the ReadOnly
        phase of each completion cycle (to sample side signals)."""
        cocotb.start_soon(self._watch(on_completion))

    async def _watch(self, on_completion) -> None:
        while True:
            await First(RisingEdge(self._done), RisingEdge(self._err))
            await ReadOnly()
            if on_completion is not None:
                on_completion()
            if self._done.value == 1:
                self.results.put_nowait(Completion(ErrorCode.NONE, 0))
            if self._err.value == 1:
                self.results.put_nowait(Completion(ErrorCode(self._code.value.to_unsigned()),
                                                   self._info.value.to_unsigned()))

    async def issue(self, mnemonic: str, fields: dict) -> None:
        """Present the instruction until insn_ready_o takes it."""
        await RisingEdge(self.clk)
        self._insn.value = encode(mnemonic, **fields)
        self._valid.value = 1
        await hold_until_ready(self.clk, self._valid, self._ready)

    async def result(self, cycles: int) -> Completion:
        """The next completion within `cycles` clock cycles."""
        return await with_timeout(self.results.get(), cycles * CLOCK_NS, "ns")

    async def execute(self, mnemonic: str, fields: dict, cycles: int) -> Completion:
        """Issue one instruction and await its completion (watch() must be running)."""
        await self.issue(mnemonic, fields)
        return await self.result(cycles)


def insn_fields(mnemonic: str, **values: int) -> dict:
    """Every field of an instruction (hwdef.isa), 0 unless given."""
    from hwdef import isa
    out = {fld.name: 0 for fld, _ in isa.BY_MNEMONIC[mnemonic].layout()[1:]}
    out.update(values)
    return out

"""Scratchpad-port agents (docs/scratchpad.md, the port protocol of npu_scratchpad).

A port presents `req_valid` with `req_write`, `req_addr`, `req_wdata`, `req_wstrb`,
`req_readers` and `req_last_use`, holds them unchanged until `req_ready` grants them (the access
happens at that edge), and a granted read's data arrives the next cycle with `rsp_valid` /
`rsp_rdata`. Several ports may be packed into one vector per field (port p in the p-th slice).

* `SpadPortDriver` drives the inputs `{prefix}req_*_i` of one or more packed ports and collects
  `{prefix}req_ready_o` / `{prefix}rsp_*_o`: a host port of a wrapper (prefix "host_" or "tb_")
  or every port of the scratchpad itself (prefix "").
* `SpadPortMonitor` watches the outputs `{prefix}req_*_o` a wrapper brings out of the engine
  ports: every granted request becomes a `SpadAccess`, and a request that was not granted must
  stay presented and unchanged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from cocotb.triggers import Event, ReadOnly, RisingEdge

from tb.golden.scratchpad_model import SpadRequest


@dataclass(eq=False)
class SpadTxn:
    """One request on one port and what happened to it."""

    req: SpadRequest
    port: int = 0
    t_present: int | None = None   # first cycle the request was presented
    t_grant: int | None = None     # cycle of the handshake
    rdata: int | None = None       # read data received

    @property
    def write(self) -> bool:
        return self.req.write

    @property
    def addr(self) -> int:
        return self.req.addr


def spad_write(addr: int, wdata: int, wstrb: int, readers: int = 0,
               last_use: bool = False) -> SpadTxn:
    """A write (wstrb 0 with readers != 0 is a lock write; with readers 0 a probe)."""
    return SpadTxn(SpadRequest(True, int(addr), int(wdata), int(wstrb), readers, last_use))


def spad_read(addr: int, last_use: bool = False) -> SpadTxn:
    return SpadTxn(SpadRequest(False, int(addr), last_use=last_use))


def line_int(row: np.ndarray) -> int:
    return int.from_bytes(np.asarray(row, dtype=np.uint8).tobytes(), "little")


def int_line(value: int, line_bytes: int) -> np.ndarray:
    return np.frombuffer(int(value).to_bytes(line_bytes, "little"), dtype=np.uint8).copy()


def first_difference(got: np.ndarray, want: np.ndarray, first_line: int, what: str) -> str:
    """Message naming the lines and bytes where two (lines x bytes) images differ."""
    bad = np.argwhere(got != want)
    lines = sorted({int(r) for r, _ in bad})
    line = lines[0]
    cols = np.nonzero(got[line] != want[line])[0]
    return (f"{what}: {len(bad)} byte(s) on {len(lines)} line(s) differ, lines "
            f"{[first_line + x for x in lines[:16]]}; first line {first_line + line} bytes "
            f"{cols.tolist()[:16]}: got {got[line][cols][:16].tolist()} expected "
            f"{want[line][cols][:16].tolist()}")


def unsigned(handle) -> int:
    """Value of a signal as an unsigned int (1-bit signals are Logic, wider ones LogicArray)."""
    value = handle.value
    return int(value) if len(handle) == 1 else value.to_unsigned()


class _Packed:
    """Slices of per-port fields packed into one vector."""

    @staticmethod
    def get(word: int, port: int, bits: int) -> int:
        return word >> (port * bits) & ((1 << bits) - 1)


class SpadPortDriver:
    """Drives `{prefix}req_*_i` of `ports` packed ports (queues per port, one request at a
    time, held until granted) and collects grants and read data.

    Time: call `drive()` right after each rising edge and `sample(cycle)` in ReadOnly from the
    bench's clocked loop; `transact` then waits for the loop (`step` given: it calls it;
    otherwise it waits for `drained`). Without a clocked loop, `transact` runs `run()`, a loop
    that lasts only while requests are queued."""

    def __init__(self, dut, prefix: str = "", ports: int = 1,
                 step: Callable[[], Awaitable[None]] | None = None, clocked: bool = False,
                 clk=None) -> None:
        self.dut = dut
        self.prefix = prefix
        self.ports = ports
        self.clk = clk if clk is not None else dut.clk_i
        self.step = step
        self.clocked = clocked or step is not None
        sig = self._sig
        self.addr_bits = len(sig("req_addr_i")) // ports
        self.line_bits = len(sig("req_wdata_i")) // ports
        self.line_bytes = self.line_bits // 8
        self.full_strb = (1 << self.line_bytes) - 1
        self.reader_bits = len(sig("req_readers_i")) // ports
        self.queues: list[deque[SpadTxn | None]] = [deque() for _ in range(ports)]
        self.cur: list[SpadTxn | None] = [None] * ports
        self.rsp_due: list[SpadTxn | None] = [None] * ports   # reads granted last cycle
        self.drained = Event()
        self.drained.set()
        self._driven: dict[str, int] = {}
        self._ready = sig("req_ready_o")
        self._rsp_valid = sig("rsp_valid_o")
        self._rsp_rdata = sig("rsp_rdata_o")
        for name in ("valid", "write", "addr", "wdata", "wstrb", "readers", "last_use"):
            self._drive(name, 0, force=True)

    def _sig(self, name: str):
        return getattr(self.dut, self.prefix + name)

    def _drive(self, field: str, value: int, force: bool = False) -> None:
        if force or self._driven.get(field) != value:
            self._sig(f"req_{field}_i").value = value
            self._driven[field] = value

    # ---- queueing ---------------------------------------------------------------------------
    def submit(self, txn: SpadTxn | None, port: int = 0) -> SpadTxn | None:
        """Queue a request (None: one idle cycle) on a port."""
        if txn is not None:
            txn.port = port
        self.queues[port].append(txn)
        self.drained.clear()
        return txn

    @property
    def busy(self) -> bool:
        """Requests queued or presented (read data still due does not count)."""
        return any(self.queues) or any(t is not None for t in self.cur)

    @property
    def presented(self) -> int:
        """Mask of the ports presenting a request this cycle."""
        return sum(1 << p for p, t in enumerate(self.cur) if t is not None)

    @property
    def requests(self) -> list[SpadRequest | None]:
        """The request each port presents this cycle."""
        return [None if t is None else t.req for t in self.cur]

    @property
    def idle(self) -> bool:
        return not self.busy and all(t is None for t in self.rsp_due)

    # ---- one cycle --------------------------------------------------------------------------
    def drive(self, cycle: int | None = None) -> None:
        """Present each port's request (the head of its queue once the previous one is
        granted); call right after the rising edge."""
        valid = write = addr = wdata = wstrb = readers = last = 0
        for port in range(self.ports):
            if self.cur[port] is None and self.queues[port]:
                self.cur[port] = self.queues[port].popleft()
                if self.cur[port] is not None:
                    self.cur[port].t_present = cycle
            txn = self.cur[port]
            if txn is None:
                continue
            req = txn.req
            valid |= 1 << port
            write |= int(req.write) << port
            last |= int(req.last_use) << port
            addr |= req.addr << (port * self.addr_bits)
            wdata |= req.wdata << (port * self.line_bits)
            wstrb |= req.wstrb << (port * self.line_bytes)
            readers |= req.readers << (port * self.reader_bits)
        self._drive("valid", valid)
        self._drive("write", write)
        self._drive("addr", addr)
        self._drive("wdata", wdata)
        self._drive("wstrb", wstrb)
        self._drive("readers", readers)
        self._drive("last_use", last)

    def sample(self, cycle: int | None = None) -> int:
        """In ReadOnly: the read data of last cycle's grants (rsp_valid exactly on those
        ports), then this cycle's grants. Returns req_ready_o."""
        due = sum(1 << p for p, t in enumerate(self.rsp_due) if t is not None)
        rsp_valid = unsigned(self._rsp_valid)
        assert rsp_valid == due, (f"cycle {cycle}: {self.prefix}rsp_valid_o {rsp_valid:b}, "
                                  f"expected {due:b} (reads granted last cycle)")
        if due:
            bus = unsigned(self._rsp_rdata)
            for port, txn in enumerate(self.rsp_due):
                if txn is not None:
                    txn.rdata = _Packed.get(bus, port, self.line_bits)
            self.rsp_due = [None] * self.ports
        ready = unsigned(self._ready)
        assert not ready & ~self.presented, \
            f"cycle {cycle}: {self.prefix}req_ready_o {ready:b} without a request"
        for port, txn in enumerate(self.cur):
            if txn is not None and ready >> port & 1:
                txn.t_grant = cycle
                if not txn.req.write:
                    self.rsp_due[port] = txn
                self.cur[port] = None
        if self.idle:
            self.drained.set()
        return ready

    # ---- whole transactions -------------------------------------------------------------------
    async def run(self) -> None:
        """Own loop for a bench without one: lasts while requests are queued or due."""
        cycle = 0
        while not self.idle:
            await RisingEdge(self.clk)
            self.drive(cycle)
            await ReadOnly()
            self.sample(cycle)
            cycle += 1
        await RisingEdge(self.clk)
        self.drive(cycle)

    async def wait_idle(self, limit: int = 100_000) -> None:
        if not self.clocked:
            await self.run()
        elif self.step is not None:
            for _ in range(limit):
                if self.idle:
                    return
                await self.step()
            raise AssertionError(f"{self.prefix}port requests did not complete")
        else:
            await self.drained.wait()

    async def transact(self, txns: Sequence[SpadTxn], port: int = 0) -> Sequence[SpadTxn]:
        """Run the requests in order on one port; returns them (grant cycles, read data)."""
        for txn in txns:
            self.submit(txn, port)
        await self.wait_idle()
        return txns

    # ---- whole lines ----------------------------------------------------------------------------
    async def write_lines(self, start: int, data: np.ndarray, port: int = 0) -> None:
        """Full-line writes of data (n x line_bytes) from line `start` on."""
        await self.transact([spad_write(start + k, line_int(row), self.full_strb)
                             for k, row in enumerate(data)], port)

    async def read_lines(self, addrs, port: int = 0) -> np.ndarray:
        txns = await self.transact([spad_read(a) for a in addrs], port)
        if not txns:
            return np.zeros((0, self.line_bytes), dtype=np.uint8)
        return np.stack([int_line(t.rdata, self.line_bytes) for t in txns])

    async def expect_lines(self, addrs, want: np.ndarray, what: str, port: int = 0) -> None:
        """Read `addrs` and compare them with `want` (one row per address)."""
        addrs = [int(a) for a in addrs]
        got = await self.read_lines(addrs, port)
        if not np.array_equal(got, want):
            bad = [k for k in range(len(addrs)) if not np.array_equal(got[k], want[k])]
            raise AssertionError(first_difference(got[bad], want[bad], 0, what)
                                 + f" (scratchpad lines {[addrs[k] for k in bad[:16]]})")


@dataclass(frozen=True)
class SpadAccess:
    """One granted request of a monitored port."""

    cycle: int
    port: int
    write: bool
    addr: int
    wstrb: int
    readers: int
    last_use: bool


class SpadPortMonitor:
    """Watches `{prefix}req_*_o` of the monitored `ports` (of `nports` packed ports).

    `sample(cycle)` (in ReadOnly) returns (mask of monitored ports presenting a request, the
    granted requests as `SpadAccess`es) and checks that a request which was not granted is
    presented again unchanged (wdata too, where the wrapper brings it out)."""

    def __init__(self, dut, ports: Sequence[int], nports: int, prefix: str = "") -> None:
        self.dut = dut
        self.ports = tuple(ports)
        self.mask = sum(1 << p for p in self.ports)
        sig = lambda name: getattr(dut, f"{prefix}req_{name}_o")   # noqa: E731
        self._valid, self._ready, self._write = sig("valid"), sig("ready"), sig("write")
        self._last, self._readers, self._addr = sig("last_use"), sig("readers"), sig("addr")
        self._wstrb = sig("wstrb")
        self._wdata = getattr(dut, f"{prefix}req_wdata_o", None)
        self.addr_bits = len(self._addr) // nports
        self.strb_bits = len(self._wstrb) // nports
        self.reader_bits = len(self._readers) // nports
        self.line_bits = self.strb_bits * 8
        self.pending: dict[int, tuple] = {}   # port -> (request, wdata) seen waiting

    def sample(self, cycle: int) -> tuple[int, list[SpadAccess]]:
        valid = unsigned(self._valid) & self.mask
        if not valid:
            assert not self.pending, \
                f"cycle {cycle}: port(s) {sorted(self.pending)} withdrew a waiting request"
            return 0, []
        ready = unsigned(self._ready)
        write = unsigned(self._write)
        last = unsigned(self._last)
        readers = unsigned(self._readers)
        addr = unsigned(self._addr)
        wstrb = unsigned(self._wstrb)
        wdata_bus = None
        granted, pending = [], {}
        for port in self.ports:
            if not valid >> port & 1:
                assert port not in self.pending, \
                    f"cycle {cycle}: port {port} withdrew its request"
                continue
            now = (bool(write >> port & 1), _Packed.get(addr, port, self.addr_bits),
                   _Packed.get(wstrb, port, self.strb_bits),
                   _Packed.get(readers, port, self.reader_bits), bool(last >> port & 1))
            data = None
            if now[0] and self._wdata is not None and (port in self.pending
                                                        or not ready >> port & 1):
                if wdata_bus is None:
                    wdata_bus = unsigned(self._wdata)
                data = _Packed.get(wdata_bus, port, self.line_bits)
            if port in self.pending:
                assert (now, data) == self.pending[port], \
                    (f"cycle {cycle}: port {port} changed its waiting request "
                     f"{self.pending[port]} -> {(now, data)}")
            if ready >> port & 1:
                granted.append(SpadAccess(cycle, port, *now))
            else:
                pending[port] = (now, data)
        self.pending = pending
        return valid, granted

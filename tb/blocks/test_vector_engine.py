"""cocotb bench of the vector engine (rtl/engines/npu_vector_engine.sv, docs/vector_engine.md).

Toplevel: the simulation-only wrapper tb/sv/npu_vector_engine_tb.sv, i.e. the engine on ports 0
(a), 1 (b) and 2 (results) of a real 4-port npu_scratchpad whose port 3 the bench drives as a
host (preload, read back, overwrite-control probes, conflicting traffic).

Golden: tb/golden/vector_engine_model.py computes, from the bench's mirror of the scratchpad,
the new scratchpad image of each instruction (or the error it must raise), the result flags,
the lines each port must read and the regions to release and lock. The softmax chain is also
checked against a direct NumPy computation from npu_model/numerics.py that knows nothing of the
scratchpad layout.

The bench is one clocked loop (`TB._loop`): just after each rising edge it drives the host
request, the instruction offer and flags_clear_i; in ReadOnly it samples every port. Every cycle
it checks: a request that was not granted is presented again unchanged; no engine port
requests while no instruction is in flight; insn_ready_o == !busy_o; done_o and err_o are
one-cycle pulses, one per accepted instruction. Per instruction it checks the exact sequence
of data reads on a and b (each 8-bit line read once for its four vectors), the result writes
(one per destination line), the release reads and lock writes (one per touched region, after
the data accesses), no access at all for a rejected instruction, the error code and info,
flags_o, and every byte of the destination window (then of the whole scratchpad at the end of
each test). Stimulus comes from seeded_rng() (seeded from cocotb's seed, logged).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Event, ReadOnly, RisingEdge

from hwdef import isa
from hwdef.isa import BMode, ElemType
from hwdef.params import VEC_FLAG_BITS, SatMode, VecOp
from hwdef.regs import ErrorCode
from npu_model import numerics as nm
from npu_model import semantics as sem
from tb.golden import vector_engine_model as vem
from tb.harness.cocotb_utils import built_params, npu_config, start_clock_and_reset
from tb.harness.cocotb_utils import seeded_rng
from tb.harness.sim import run_cocotb
from tools.rtl_sources import REPO

TOPLEVEL = "npu_vector_engine_tb"
WRAPPER = REPO / "tb" / "sv" / "npu_vector_engine_tb.sv"
PORT_A, PORT_B, PORT_D, PORT_HOST = 0, 1, 2, 3
ENGINE_PORTS = (PORT_A, PORT_B, PORT_D)
READER_BITS = 2
INT32_MIN, INT32_MAX = nm.INT32_MIN, nm.INT32_MAX
ELEMENTWISE = [VecOp.COPY, VecOp.ADD, VecOp.SUB, VecOp.MAX, VecOp.MULSHR, VecOp.EXP2,
               VecOp.RECIP]


def vector_fields(**kw) -> dict:
    """A full VECTOR field dict (every field present, defaults 0)."""
    cls = isa.BY_MNEMONIC["VECTOR"]
    out = {f.name: 0 for f, _ in cls.layout()[1:]}
    out.update(kw)
    return out


@dataclass
class HostTxn:
    write: bool
    addr: int
    wdata: int = 0
    wstrb: int = 0
    readers: int = 0
    last_use: bool = False
    t_grant: int | None = None
    rdata: int | None = None


@dataclass
class Access:
    """One granted engine request."""

    cycle: int
    port: int
    write: bool
    addr: int
    last_use: bool
    readers: int
    wstrb: int


@dataclass
class Insn:
    fields: dict
    word: int
    t_accept: int | None = None
    t_end: int | None = None
    kind: str | None = None           # "done" or "err"
    code: int = 0
    info: int = 0
    accesses: list[Access] = field(default_factory=list)
    requested: bool = False           # any engine port request while in flight
    stall_cycles: int = 0
    busy_cycles: int = 0
    finished: Event = field(default_factory=Event)


class TB:
    def __init__(self, dut) -> None:
        self.dut = dut
        cfg = npu_config()
        self.cfg = cfg
        self.lanes = cfg.vector_lanes
        self.lb = cfg.line_bytes
        self.line_bits = cfg.line_bits
        self.lines = cfg.spad_lines
        self.bank_lines = cfg.spad_bank_lines
        self.banks = cfg.spad_banks
        self.region_lines = cfg.spad_region_lines
        self.addr_bits = cfg.spad_addr_bits
        self.full_strb = (1 << self.lb) - 1

        params = built_params()
        assert params == cfg.sv_params(TOPLEVEL), (params, cfg.sv_params(TOPLEVEL))
        widths = {
            "insn_i": isa.INSN_BITS, "err_code_o": 8, "err_info_o": 32,
            "flags_o": VEC_FLAG_BITS, "host_req_addr_i": self.addr_bits,
            "host_req_wdata_i": self.line_bits, "host_req_wstrb_i": self.lb,
            "host_rsp_rdata_o": self.line_bits, "req_addr_o": 4 * self.addr_bits,
            "req_wstrb_o": 4 * self.lb, "req_wdata_o": 4 * self.line_bits,
            "req_readers_o": 4 * READER_BITS,
        }
        for name, width in widths.items():
            assert len(getattr(dut, name)) == width, (name, len(getattr(dut, name)), width)

        self.mem = np.zeros((self.lines, self.lb), dtype=np.uint8)   # mirror of the scratchpad
        self.cycle = 0
        self.host_q: deque[HostTxn] = deque()
        self.host_cur: HostTxn | None = None
        self.host_rsp: HostTxn | None = None
        self.host_idle = Event()
        self.offer_q: deque[Insn] = deque()
        self.offer: Insn | None = None
        self.active: Insn | None = None
        self.clear_flags = False
        self.strict = False
        self.bad_release: list[tuple[int, int]] = []
        self.violations: list[tuple[int, int]] = []
        self._driven: dict[str, int] = {}
        for name in ("strict_i", "insn_valid_i", "insn_i", "flags_clear_i", "host_req_valid_i",
                     "host_req_write_i", "host_req_addr_i", "host_req_wdata_i",
                     "host_req_wstrb_i", "host_req_readers_i", "host_req_last_use_i"):
            self._drive(name, 0, force=True)

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)
        cocotb.start_soon(self._loop())

    # ---- the clocked loop -----------------------------------------------------------------
    def _drive(self, name: str, value: int, force: bool = False) -> None:
        if force or self._driven.get(name) != value:
            getattr(self.dut, name).value = value
            self._driven[name] = value

    def _drive_inputs(self) -> None:
        if self.host_cur is None and self.host_q:
            self.host_cur = self.host_q.popleft()
        h = self.host_cur
        self._drive("host_req_valid_i", int(h is not None))
        if h is not None:
            self._drive("host_req_write_i", int(h.write))
            self._drive("host_req_addr_i", h.addr)
            self._drive("host_req_wdata_i", h.wdata)
            self._drive("host_req_wstrb_i", h.wstrb)
            self._drive("host_req_readers_i", h.readers)
            self._drive("host_req_last_use_i", int(h.last_use))
        if self.offer is None and self.offer_q:
            self.offer = self.offer_q.popleft()
        self._drive("insn_valid_i", int(self.offer is not None))
        if self.offer is not None:
            self._drive("insn_i", self.offer.word)
        self._drive("flags_clear_i", int(self.clear_flags))
        self.clear_flags = False
        self._drive("strict_i", int(self.strict))

    def _sample_port(self, port: int, valid, write, last, readers, addr, wstrb) -> tuple:
        return (write >> port & 1, addr >> (port * self.addr_bits) & ((1 << self.addr_bits) - 1),
                last >> port & 1, readers >> (port * READER_BITS) & 3,
                wstrb >> (port * self.lb) & self.full_strb)

    async def _loop(self) -> None:
        dut = self.dut
        pending: dict[int, tuple] = {}          # engine requests presented and not granted
        while True:
            await RisingEdge(dut.clk_i)
            self._drive_inputs()
            await ReadOnly()
            cyc = self.cycle
            valid = dut.req_valid_o.value.to_unsigned()
            ready = dut.req_ready_o.value.to_unsigned()
            write = dut.req_write_o.value.to_unsigned()
            last = dut.req_last_use_o.value.to_unsigned()
            readers = dut.req_readers_o.value.to_unsigned()
            addr = dut.req_addr_o.value.to_unsigned()
            wstrb = dut.req_wstrb_o.value.to_unsigned()
            busy = int(dut.busy_o.value)
            insn_ready = int(dut.insn_ready_o.value)
            done = int(dut.done_o.value)
            err = int(dut.err_o.value)
            stall = int(dut.stall_o.value)
            bad = dut.bad_release_o.value.to_unsigned()
            viol = dut.ow_violation_o.value.to_unsigned()
            for port in range(4):
                if bad >> port & 1:
                    self.bad_release.append((cyc, port))
                if viol >> port & 1:
                    self.violations.append((cyc, port))

            # Host port: a read's data arrives the cycle after its grant.
            if self.host_rsp is not None:
                assert int(dut.host_rsp_valid_o.value) == 1, f"cycle {cyc}: host read data missing"
                self.host_rsp.rdata = dut.host_rsp_rdata_o.value.to_unsigned()
                self.host_rsp = None
            h = self.host_cur
            if h is not None and ready >> PORT_HOST & 1:
                h.t_grant = cyc
                if not h.write:
                    self.host_rsp = h
                self.host_cur = None
            if self.host_cur is None and not self.host_q and self.host_rsp is None:
                self.host_idle.set()

            # Engine ports: stable requests, no request outside an instruction.
            assert insn_ready == (not busy), f"cycle {cyc}: insn_ready_o {insn_ready} busy_o {busy}"
            active = self.active
            wdata_all = None
            for port in ENGINE_PORTS:
                now = self._sample_port(port, valid, write, last, readers, addr, wstrb)
                if port in pending:
                    assert valid >> port & 1, f"cycle {cyc}: port {port} withdrew its request"
                    assert now == pending[port][0], \
                        f"cycle {cyc}: port {port} changed its request {pending[port][0]} -> {now}"
                    if pending[port][1] is not None:
                        wdata_all = wdata_all or dut.req_wdata_o.value.to_unsigned()
                        data = wdata_all >> (port * self.line_bits) & ((1 << self.line_bits) - 1)
                        assert data == pending[port][1], f"cycle {cyc}: port {port} changed wdata"
                    del pending[port]
                if not valid >> port & 1:
                    continue
                assert active is not None, f"cycle {cyc}: port {port} requests with no instruction"
                active.requested = True
                if ready >> port & 1:
                    active.accesses.append(Access(cyc, port, bool(now[0]), now[1], bool(now[2]),
                                                  now[3], now[4]))
                else:
                    data = None
                    if now[0]:
                        wdata_all = wdata_all or dut.req_wdata_o.value.to_unsigned()
                        data = wdata_all >> (port * self.line_bits) & ((1 << self.line_bits) - 1)
                    pending[port] = (now, data)

            # Instruction handshake and completion.
            assert not (done and err), f"cycle {cyc}: done_o and err_o together"
            if active is not None:
                active.busy_cycles += busy
                active.stall_cycles += stall
            else:
                assert not stall, f"cycle {cyc}: stall_o while idle"
            if done or err:
                assert active is not None, f"cycle {cyc}: done/err pulse with no instruction"
                active.t_end = cyc
                active.kind = "done" if done else "err"
                active.code = dut.err_code_o.value.to_unsigned()
                active.info = dut.err_info_o.value.to_unsigned()
                active.finished.set()
                self.active = active = None
            if self.offer is not None and insn_ready:
                assert active is None, f"cycle {cyc}: accepted while busy"
                self.offer.t_accept = cyc
                self.active = self.offer
                self.offer = None
            self.cycle += 1

    # ---- host port --------------------------------------------------------------------------
    async def host(self, txns: list[HostTxn]) -> list[HostTxn]:
        self.host_idle.clear()
        self.host_q.extend(txns)
        await self.host_idle.wait()
        return txns

    @staticmethod
    def line_int(row: np.ndarray) -> int:
        return int.from_bytes(row.tobytes(), "little")

    def int_line(self, value: int) -> np.ndarray:
        return np.frombuffer(value.to_bytes(self.lb, "little"), dtype=np.uint8).copy()

    async def write_lines(self, start: int, data: np.ndarray) -> None:
        """Full-line host writes of data (n x line_bytes) from line start; updates the mirror."""
        txns = [HostTxn(True, start + k, self.line_int(row), self.full_strb)
                for k, row in enumerate(data)]
        await self.host(txns)
        self.mem[start:start + len(data)] = data

    async def read_lines(self, addrs) -> np.ndarray:
        txns = await self.host([HostTxn(False, int(a)) for a in addrs])
        return np.stack([self.int_line(t.rdata) for t in txns])

    async def fill_random(self, rng) -> None:
        data = rng.integers(0, 256, (self.lines, self.lb), dtype=np.uint8)
        await self.write_lines(0, data)

    async def check_lines(self, addrs, what: str) -> None:
        addrs = sorted(set(int(a) for a in addrs))
        got = await self.read_lines(addrs)
        want = self.mem[addrs]
        if not np.array_equal(got, want):
            bad = [a for a, g, w in zip(addrs, got, want) if not np.array_equal(g, w)]
            line = bad[0]
            g, w = got[addrs.index(line)], self.mem[line]
            cols = np.nonzero(g != w)[0]
            raise AssertionError(f"{what}: {len(bad)} line(s) differ, first line {line} bytes "
                                 f"{cols.tolist()[:16]}: got {g[cols][:16].tolist()} expected "
                                 f"{w[cols][:16].tolist()}")

    async def check_all(self, what: str) -> None:
        await self.check_lines(range(self.lines), what + " (whole scratchpad)")

    # ---- instructions -----------------------------------------------------------------------
    def issue(self, fields: dict, clear_flags: bool = True) -> Insn:
        insn = Insn(fields, isa.encode("VECTOR", **fields))
        if clear_flags:
            self.clear_flags = True
        self.offer_q.append(insn)
        return insn

    async def wait(self, insn: Insn, timeout: int = 200_000) -> Insn:
        start = self.cycle
        while not insn.finished.is_set():
            await RisingEdge(self.dut.clk_i)
            assert self.cycle - start < timeout, f"instruction did not finish: {insn.fields}"
        return insn

    async def flags(self) -> int:
        await RisingEdge(self.dut.clk_i)
        await ReadOnly()
        return self.dut.flags_o.value.to_unsigned()

    async def execute(self, fields: dict, what: str, check_flags: bool = True,
                      window: int = 2) -> tuple[Insn, vem.EngineResult]:
        """Run one instruction, check it against the model, update the mirror."""
        res = vem.execute(self.cfg, self.mem, fields)
        insn = await self.wait(self.issue(fields))
        await RisingEdge(self.dut.clk_i)
        if res.error is not None:
            assert insn.kind == "err", f"{what}: expected error {res.error.name}, got {insn.kind}"
            assert (insn.code, insn.info) == (int(res.error), res.info), \
                (f"{what}: error {insn.code}/{insn.info}, expected {res.error.name}"
                 f"({int(res.error)})/{res.info}")
            assert not insn.requested, f"{what}: a rejected instruction accessed the scratchpad"
            assert insn.t_end == insn.t_accept + 1, \
                f"{what}: err_o {insn.t_end - insn.t_accept} cycles after the handshake"
            return insn, res
        assert insn.kind == "done", f"{what}: got {insn.kind} code {insn.code} info {insn.info}"
        self.check_accesses(insn, res, what)
        if check_flags:
            got = await self.flags()
            assert got == res.flags, f"{what}: flags_o {got:04b} expected {res.flags:04b}"
        self.mem = res.mem
        lines = set()
        for line in res.dst_lines:
            lines.update(range(max(0, line - window), min(self.lines, line + window + 1)))
        await self.check_lines(lines, what)
        return insn, res

    def check_accesses(self, insn: Insn, res: vem.EngineResult, what: str) -> None:
        f = insn.fields
        by_port = {p: [a for a in insn.accesses if a.port == p] for p in ENGINE_PORTS}
        for port, lines, regions, release in (
                (PORT_A, res.a_lines, res.a_regions, f["release_a"]),
                (PORT_B, res.b_lines, res.b_regions, f["release_b"])):
            acc = by_port[port]
            assert not any(a.write for a in acc), f"{what}: write on read port {port}"
            data = [a for a in acc if not a.last_use]
            rel = [a for a in acc if a.last_use]
            got = [a.addr for a in data]
            assert got == lines, f"{what}: port {port} read lines {got}, expected {lines}"
            want_rel = regions if release else set()
            rel_regions = [a.addr // self.region_lines for a in rel]
            assert sorted(rel_regions) == sorted(want_rel), \
                f"{what}: port {port} released regions {rel_regions}, expected {sorted(want_rel)}"
            if rel and data:
                assert min(a.cycle for a in rel) > max(a.cycle for a in data), \
                    f"{what}: port {port} released before its last data read"
        acc = by_port[PORT_D]
        assert all(a.write and not a.last_use for a in acc), f"{what}: bad access on port d"
        data = [a for a in acc if a.wstrb != 0]
        locks = [a for a in acc if a.wstrb == 0]
        assert all(a.readers == 0 for a in data), f"{what}: data write with readers"
        written = sorted({a.addr for a in data})
        assert set(written) == res.dst_lines, \
            f"{what}: wrote lines {written}, expected {sorted(res.dst_lines)}"
        nvec = sem.vectors_per_row(f["row_len"], self.lanes)
        per_row = 1 if VecOp(f["op"]).is_reduction else (
            nvec if f["dst_type"] == ElemType.INT32 else -(-nvec // 4))
        assert len(data) == f["rows"] * per_row, \
            f"{what}: {len(data)} result writes, expected one per line ({f['rows'] * per_row})"
        want_locks = res.d_regions if f["lock_readers"] else set()
        lock_regions = [a.addr // self.region_lines for a in locks]
        assert sorted(lock_regions) == sorted(want_locks), \
            f"{what}: lock writes to regions {lock_regions}, expected {sorted(want_locks)}"
        assert all(a.readers == f["lock_readers"] and a.addr % self.region_lines == 0
                   for a in locks), f"{what}: bad lock write"
        if locks:
            assert min(a.cycle for a in locks) > max(a.cycle for a in data), \
                f"{what}: lock written before the last result write"
        last = max(a.cycle for a in insn.accesses)
        assert insn.t_end == last + 1, \
            f"{what}: done_o at {insn.t_end}, last access granted at {last}"


# ---- stimulus ------------------------------------------------------------------------------
CORNERS = np.array([INT32_MIN, INT32_MIN + 1, -(1 << 30), -65536, -1025, -1024, -129, -128,
                    -127, -1, 0, 1, 127, 128, 255, 256, 1 << 30, INT32_MAX - 1, INT32_MAX],
                   dtype=np.int64)


def rand_int32(rng, n: int) -> np.ndarray:
    kind = rng.integers(0, 4, n)
    full = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True)
    small = rng.integers(-300, 300, n, endpoint=True)
    bits = rng.integers(0, 32, n)
    magnitude = rng.integers(0, 1 << 31, n) >> (31 - bits)
    scaled = np.where(rng.random(n) < 0.5, -magnitude, magnitude)
    corner = rng.choice(CORNERS, n)
    return np.select([kind == 0, kind == 1, kind == 2], [full, small, scaled], corner)


def rand_words(rng, op: VecOp, n: int) -> np.ndarray:
    """int32 operand a values suited to the op (mostly in its useful range)."""
    if op == VecOp.EXP2:
        values = -rng.integers(0, 24 * 1024, n)
    elif op == VecOp.RECIP:
        bits = rng.integers(0, 31, n)
        values = np.maximum(rng.integers(0, 1 << 31, n) >> (31 - bits), 1)
    else:
        return rand_int32(rng, n)
    odd = rng.random(n) < 0.1
    return np.where(odd, rand_int32(rng, n), values)


def words_to_lines(words: np.ndarray, lb: int) -> np.ndarray:
    return words.astype("<i4").view(np.uint8).reshape(-1, lb)


class Allocator:
    """Disjoint line ranges for the operands of one instruction."""

    def __init__(self, tb: TB, rng, align: int = 1):
        self.tb, self.rng, self.align, self.used = tb, rng, align, []

    def place(self, span: int, bank: int | None = None) -> int | None:
        lo, hi = 0, self.tb.lines
        if bank is not None:
            lo, hi = bank * self.tb.bank_lines, (bank + 1) * self.tb.bank_lines
        span_al = -(-span // self.align) * self.align
        for _ in range(60):
            start = int(self.rng.integers(lo, max(lo, hi - span_al) + 1))
            start -= start % self.align
            if start + span_al > hi:
                continue
            if all(start + span_al <= s or e <= start for s, e in self.used):
                self.used.append((start, start + span_al))
                return start
        return None


def lines_per_row(etype: int, nvec: int) -> int:
    return nvec if etype == ElemType.INT32 else -(-nvec // 4)


def random_insn(tb: TB, rng, op: VecOp | None = None, align: int = 1,
                max_rows: int = 6, max_vecs: int = 7) -> dict | None:
    """A random valid instruction with disjoint a / b / dst (None if it did not fit)."""
    lanes = tb.lanes
    op = VecOp(int(rng.integers(0, 9))) if op is None else op
    a_type = int(rng.integers(0, 3))
    dst_type = int(rng.integers(0, 3))
    b_mode = int(rng.integers(0, 3))
    rows = int(rng.integers(1, max_rows + 1))
    row_len = int(rng.integers(1, max_vecs * lanes + 1))
    nvec = sem.vectors_per_row(row_len, lanes)
    causal = bool(rng.random() < 0.35)
    diag = int(rng.integers(-2, row_len + 2)) if causal else int(rng.integers(-8192, 8192))
    if op == VecOp.MULSHR:
        shift = int(rng.integers(0, 64))
    elif op == VecOp.EXP2:
        shift = int(rng.integers(0, 12))
    else:
        shift = int(rng.integers(0, 64))
    f = vector_fields(op=int(op), sat=int(rng.integers(0, 3)), b_mode=b_mode, shift=shift,
                      scalar=int(rand_int32(rng, 1)[0]), a_type=a_type, dst_type=dst_type,
                      rows=rows, row_len=row_len, causal=int(causal), diag=diag)
    alloc = Allocator(tb, rng, align)

    def pitch(lines):
        roll = rng.random()
        if roll < 0.1 and rows > 1 and lines == 1:
            return 0 if roll < 0.05 else lines
        return lines + int(rng.integers(0, 3))

    a_l = lines_per_row(a_type, nvec)
    d_l = 1 if op.is_reduction else lines_per_row(dst_type, nvec)
    b_l = {BMode.VECTOR: a_l, BMode.ROW: 1, BMode.SCALAR: 0}[BMode(b_mode)]
    for name, lines in (("dst", d_l), ("a", a_l), ("b", b_l)):
        if lines == 0:
            f["b_addr"], f["b_pitch"] = int(rng.integers(0, 1 << 16)), int(rng.integers(0, 4096))
            continue
        p = pitch(lines)
        if name == "dst" and p == 0:
            p = lines                      # rows overwriting each other: order-dependent
        start = alloc.place((rows - 1) * p + lines)
        if start is None:
            return None
        f[f"{name}_addr"], f[f"{name}_pitch"] = start, p
    return f


async def preload(tb: TB, rng, f: dict) -> None:
    """Fresh random operand data (suited to the op) in a's and b's lines."""
    lanes, lb = tb.lanes, tb.lb
    nvec = sem.vectors_per_row(f["row_len"], lanes)
    op = VecOp(f["op"])
    streams = [("a", f["a_type"], lines_per_row(f["a_type"], nvec), op)]
    if f["b_mode"] == BMode.VECTOR:
        streams.append(("b", f["a_type"], lines_per_row(f["a_type"], nvec), VecOp.ADD))
    elif f["b_mode"] == BMode.ROW:
        streams.append(("b", ElemType.INT32, 1, VecOp.ADD))
    for name, etype, lines, kind in streams:
        for i in range(f["rows"]):
            start = f[f"{name}_addr"] + i * f[f"{name}_pitch"]
            if etype == ElemType.INT32:
                data = words_to_lines(rand_words(rng, kind, lines * lanes), lb)
            else:
                data = rng.integers(0, 256, (lines, lb), dtype=np.uint8)
            await tb.write_lines(start, data)


# ---- tests -----------------------------------------------------------------------------------
@cocotb.test()
async def test_interface_and_reset(dut):
    """Widths match the configuration; idle after reset: ready, not busy, no request, no flag."""
    tb = TB(dut)
    await tb.start()
    for _ in range(5):
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        assert int(dut.insn_ready_o.value) == 1 and int(dut.busy_o.value) == 0
        assert int(dut.done_o.value) == 0 and int(dut.err_o.value) == 0
        assert dut.flags_o.value.to_unsigned() == 0
        assert dut.req_valid_o.value.to_unsigned() & 0b0111 == 0


@cocotb.test()
async def test_random_instructions(dut):
    """Random ops, element types, narrowing, b modes, causal masks and geometries."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_random_instructions")
    await tb.fill_random(rng)
    count = 40 if tb.lanes <= 4 else 24
    ops = [VecOp(k % 9) for k in range(count)]
    done = 0
    for k, op in enumerate(ops):
        f = None
        while f is None:
            f = random_insn(tb, rng, op)
        await preload(tb, rng, f)
        await tb.execute(f, f"insn {k} {isa.format_insn(isa.encode('VECTOR', **f))}")
        done += 1
    assert done == count
    await tb.check_all("after random instructions")


@cocotb.test()
async def test_b_modes_and_types(dut):
    """Every b mode with every a type and dst type, ragged rows, causal on and off."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_b_modes_and_types")
    await tb.fill_random(rng)
    k = 0
    for b_mode in BMode:
        for a_type in ElemType:
            for dst_type in ElemType:
                f = None
                while f is None:
                    f = random_insn(tb, rng, VecOp.ADD if k % 2 else VecOp.MULSHR)
                    if f is None:
                        continue
                    if f["b_mode"] != b_mode or f["a_type"] != a_type or f["dst_type"] != dst_type:
                        f = None
                f["causal"] = k % 2
                if f["causal"]:
                    f["diag"] = int(rng.integers(0, f["row_len"]))
                await preload(tb, rng, f)
                await tb.execute(f, f"b_mode {b_mode.name} a {ElemType(a_type).name} "
                                    f"dst {ElemType(dst_type).name}")
                k += 1
    assert k == 27
    await tb.check_all("after b modes")


def softmax_direct(S, mask, M, SH, A):
    """Softmax normalization of docs/numerics.md computed directly on matrices."""
    rows = S.shape[0]
    P = np.zeros_like(S)
    O = np.zeros_like(A)
    for i in range(rows):
        m = nm.row_max(S[i], mask[i])
        x = nm.vsub(S[i], m)
        t = nm.vmulshr(x, M, SH)
        p = nm.narrow(nm.vexp2(t, 7), SatMode.UINT8)
        P[i] = np.where(mask[i], p, 0)
        total, _ = nm.row_sum_vectors([P[i]])
        r = int(nm.vrecip(total))
        O[i] = nm.narrow(nm.vmulshr(A[i], r, 30), SatMode.INT8)
    return P, O


@cocotb.test()
async def test_softmax_chain(dut):
    """S -> RMAX -> SUB(ROW) -> MULSHR(SCALAR) -> EXP2(UINT8) -> RSUM -> RECIP -> MULSHR(ROW,
    INT8) over a ragged block (rows 5, row_len not a multiple of Lanes), causal off and on."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_softmax_chain")
    await tb.fill_random(rng)
    lanes, lb, bl = tb.lanes, tb.lb, tb.bank_lines
    rows = 5
    for causal in (0, 1):
        row_len = 2 * lanes + int(rng.integers(1, lanes))     # 3 vectors, last one partial
        nvec = sem.vectors_per_row(row_len, lanes)
        d = 2 * lanes                                          # head dimension of A and O
        nd = sem.vectors_per_row(d, lanes)
        diag = int(rng.integers(1, row_len - rows + 2)) if causal else 0
        # Buffers in different banks, as a scheduler would place them.
        s_addr, s_pitch = 0, nvec + 1
        m_addr = bl * 1
        l_addr = m_addr + rows
        r_addr = l_addr + rows
        a_addr = bl * 2
        p_addr = bl * 3
        o_addr = p_addr + rows + 1
        S = rng.integers(-4000, 4000, (rows, nvec * lanes))
        A = rng.integers(-(1 << 26), 1 << 26, (rows, nd * lanes))
        for i in range(rows):
            await tb.write_lines(s_addr + i * s_pitch, words_to_lines(S[i], lb))
            await tb.write_lines(a_addr + i * nd, words_to_lines(A[i], lb))
        M = int(rng.integers(1 << 28, 1 << 30))
        SH = int(rng.integers(28, 31))
        common = dict(rows=rows, row_len=row_len, causal=causal, diag=diag)
        # Unary steps use b_mode SCALAR, as a scheduler would: a VECTOR or ROW b is read
        # whatever the op.
        unary = dict(common, b_mode=BMode.SCALAR)
        steps = [
            ("RMAX", vector_fields(op=VecOp.RMAX, a_addr=s_addr, a_pitch=s_pitch,
                                   dst_addr=m_addr, dst_pitch=1, **unary)),
            ("SUB", vector_fields(op=VecOp.SUB, b_mode=BMode.ROW, a_addr=s_addr,
                                  a_pitch=s_pitch, b_addr=m_addr, b_pitch=1, dst_addr=s_addr,
                                  dst_pitch=s_pitch, **common)),
            ("MULSHR", vector_fields(op=VecOp.MULSHR, b_mode=BMode.SCALAR, scalar=M, shift=SH,
                                     a_addr=s_addr, a_pitch=s_pitch, dst_addr=s_addr,
                                     dst_pitch=s_pitch, **common)),
            ("EXP2", vector_fields(op=VecOp.EXP2, shift=7, sat=SatMode.UINT8, a_addr=s_addr,
                                   a_pitch=s_pitch, dst_addr=p_addr, dst_pitch=1,
                                   dst_type=ElemType.UINT8, **unary)),
            ("RSUM", vector_fields(op=VecOp.RSUM, a_type=ElemType.UINT8, a_addr=p_addr,
                                   a_pitch=1, dst_addr=l_addr, dst_pitch=1, **unary)),
            ("RECIP", vector_fields(op=VecOp.RECIP, b_mode=BMode.SCALAR, a_addr=l_addr,
                                    a_pitch=1, dst_addr=r_addr, dst_pitch=1, rows=rows,
                                    row_len=lanes)),
            ("MULSHR-O", vector_fields(op=VecOp.MULSHR, b_mode=BMode.ROW, shift=30,
                                       sat=SatMode.INT8, a_addr=a_addr, a_pitch=nd,
                                       b_addr=r_addr, b_pitch=1, dst_addr=o_addr, dst_pitch=1,
                                       dst_type=ElemType.INT8, rows=rows, row_len=d)),
        ]
        for name, f in steps:
            insn, _ = await tb.execute(f, f"softmax causal={causal} {name}")
            dut._log.info("softmax causal=%d %-8s %3d cycles for %d vectors", causal, name,
                          insn.t_end - insn.t_accept + 1, rows * sem.vectors_per_row(
                              f["row_len"], lanes))
        # Independent check of the weights and the output against the direct computation.
        length = [sem.row_length(common, i) for i in range(rows)]
        mask = np.arange(nvec * lanes)[None, :] < np.array(length)[:, None]
        P, O = softmax_direct(S, mask, M, SH, A)
        got_p = tb.mem[p_addr:p_addr + rows, :nvec * lanes].astype(np.int64)
        got_o = tb.mem[o_addr:o_addr + rows, :d].view(np.int8).astype(np.int64)
        assert np.array_equal(got_p, P), f"P causal={causal}: {got_p.tolist()} != {P.tolist()}"
        assert np.array_equal(got_o, O), f"O causal={causal}: {got_o.tolist()} != {O.tolist()}"
        assert P.max() == 255 or not mask.any(), "the row maximum's weight must be 255"
    await tb.check_all("after softmax")


@cocotb.test()
async def test_errors(dut):
    """Each check gives its code and info, one cycle, and touches nothing."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_errors")
    await tb.fill_random(rng)
    lines, lanes = tb.lines, tb.lanes
    base = vector_fields(op=VecOp.ADD, rows=3, row_len=2 * lanes, a_addr=0, a_pitch=2,
                         b_addr=8, b_pitch=2, dst_addr=16, dst_pitch=2)
    cases = [
        ("rows 0", dict(rows=0), ErrorCode.BAD_FIELD, 0),
        ("row_len 0", dict(row_len=0), ErrorCode.BAD_FIELD, 0),
        ("op 9", dict(op=9), ErrorCode.BAD_FIELD, 9),
        ("op 15", dict(op=15), ErrorCode.BAD_FIELD, 15),
        ("sat 3", dict(sat=3), ErrorCode.BAD_FIELD, 3),
        ("b_mode 3", dict(b_mode=3), ErrorCode.BAD_FIELD, 3),
        ("a_type 3", dict(a_type=3), ErrorCode.BAD_FIELD, 3),
        ("dst_type 3", dict(dst_type=3), ErrorCode.BAD_FIELD, 3),
        ("bad field before range", dict(sat=3, a_addr=0xFFFF), ErrorCode.BAD_FIELD, 3),
        ("a past the end", dict(a_addr=lines - 5), ErrorCode.SPAD_RANGE, lines - 5 + 4 + 1),
        ("a pitch", dict(a_pitch=lines // 2), ErrorCode.SPAD_RANGE, lines + 1),
        ("a addr 0xffff", dict(a_addr=0xFFFF, rows=8191, a_pitch=4095), ErrorCode.SPAD_RANGE,
         0xFFFF + 8190 * 4095 + 1),
        ("b vector", dict(b_addr=lines - 1), ErrorCode.SPAD_RANGE, lines - 1 + 4 + 1),
        ("b row", dict(b_mode=BMode.ROW, b_addr=lines - 2), ErrorCode.SPAD_RANGE, lines + 2),
        ("dst", dict(dst_addr=lines - 4), ErrorCode.SPAD_RANGE, lines + 1),
        ("dst int8", dict(dst_type=ElemType.INT8, dst_addr=lines - 2, dst_pitch=1, rows=3),
         ErrorCode.SPAD_RANGE, lines),
        ("a before b before dst", dict(a_addr=lines, b_addr=lines, dst_addr=lines),
         ErrorCode.SPAD_RANGE, lines + 4 + 1),
    ]
    for name, change, code, info in cases:
        f = dict(base, **change)
        want = sem.check(tb.cfg, "VECTOR", f)
        assert want == sem.Fault(code, info), f"{name}: model says {want}, case table says {code}/{info}"
        await tb.execute(f, f"error case {name}")
    # Near misses that must pass: b ignored in SCALAR mode, a reduction's single dst line, an
    # 8-bit stream's quarter lines, the last line of the scratchpad.
    passes = [
        ("scalar b out of range", dict(b_mode=BMode.SCALAR, b_addr=0xFFFF, b_pitch=4095)),
        ("reduction at the end", dict(op=VecOp.RSUM, dst_addr=lines - 3, dst_pitch=1)),
        ("int8 a at the end", dict(a_type=ElemType.INT8, b_mode=BMode.SCALAR, a_addr=lines - 3,
                                   a_pitch=1)),
        ("last line", dict(rows=1, row_len=lanes, dst_addr=lines - 1)),
    ]
    for name, change in passes:
        f = dict(base, **change)
        assert sem.check(tb.cfg, "VECTOR", f) is None, name
        await preload(tb, rng, f)
        await tb.execute(f, f"pass case {name}")
    await tb.check_all("after error cases")


@cocotb.test()
async def test_lock_release(dut):
    """Release reads and lock writes: exact regions, after the data, with the real overwrite
    control: counts are exact (an extra host release reports bad_release), and an engine write
    into a locked region waits (stall_o) until the host releases it."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_lock_release")
    await tb.fill_random(rng)
    rl = tb.region_lines

    async def run_locked(f: dict, what: str) -> None:
        await preload(tb, rng, f)
        res = vem.execute(tb.cfg, tb.mem, f)
        # Lock what the instruction will release (as its producers would have).
        counts: dict[int, int] = {}
        for name in ("a", "b"):
            if f[f"release_{name}"]:
                for region in getattr(res, f"{name}_regions"):
                    counts[region] = counts.get(region, 0) + 1
        assert not set(counts) & res.d_regions
        await tb.host([HostTxn(True, r * rl, 0, 0, readers=n) for r, n in counts.items()])
        bad_before = len(tb.bad_release)
        await tb.execute(f, what)
        assert len(tb.bad_release) == bad_before, f"{what}: released an unlocked region"
        # Every released region is at zero: one more release is reported as bad.
        probes = [HostTxn(False, r * rl, last_use=True) for r in counts]
        await tb.host(probes)
        await RisingEdge(dut.clk_i)
        assert len(tb.bad_release) == bad_before + len(probes), f"{what}: release counts"
        # Locked regions count exactly lock_readers.
        n = f["lock_readers"]
        for region in res.d_regions if n else []:
            before = len(tb.bad_release)
            await tb.host([HostTxn(False, region * rl, last_use=True) for _ in range(n + 1)])
            await RisingEdge(dut.clk_i)
            await RisingEdge(dut.clk_i)
            assert len(tb.bad_release) == before + 1, f"{what}: region {region} count != {n}"

    for k in range(10):
        f = None
        while f is None:
            f = random_insn(tb, rng, align=rl, max_rows=4, max_vecs=5)
        f["release_a"] = int(rng.random() < 0.7)
        f["release_b"] = int(rng.random() < 0.7 and f["b_mode"] != BMode.SCALAR)
        f["lock_readers"] = int(rng.integers(0, 4))
        await run_locked(f, f"lock/release {k}")
    # Many regions, few vectors: the release reads outlast the result writes, so done_o must
    # wait for them (one row per region for a and b, the results in one region).
    rows = min(8, tb.lines // rl // 2 - 1)
    f = vector_fields(op=VecOp.ADD, b_mode=BMode.ROW, rows=rows, row_len=tb.lanes, a_addr=0,
                      a_pitch=rl, b_addr=2, b_pitch=rl, dst_addr=rows * rl, dst_pitch=1,
                      release_a=1, release_b=1, lock_readers=1)
    await run_locked(f, "release of many regions")
    f.update(b_mode=BMode.SCALAR, release_b=0, lock_readers=2)
    await run_locked(f, "release of many regions, scalar b")

    # An engine write into a region locked by someone else waits until it is released.
    f = vector_fields(op=VecOp.COPY, rows=2, row_len=tb.lanes, a_addr=0, a_pitch=1,
                      dst_addr=3 * rl, dst_pitch=1)
    await preload(tb, rng, f)
    await tb.host([HostTxn(True, 3 * rl + 5, 0, 0, readers=1)])
    res = vem.execute(tb.cfg, tb.mem, f)
    insn = tb.issue(f)
    for _ in range(60):
        await RisingEdge(dut.clk_i)
    assert insn.t_accept is not None and not insn.finished.is_set(), "the write did not wait"
    # The reads and the computation take a few cycles, then nothing moves.
    waited = insn.stall_cycles
    assert waited >= 60 - 15, f"stall_o counted {waited} cycles while the write was held"
    await tb.host([HostTxn(False, 3 * rl, last_use=True)])
    await tb.wait(insn)
    assert insn.kind == "done"
    tb.check_accesses(insn, res, "held write")
    tb.mem = res.mem
    await tb.check_all("after lock/release")


@cocotb.test()
async def test_bank_conflicts(dut):
    """Host traffic on the engine's banks: results stay exact under random grant delays."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_bank_conflicts")
    await tb.fill_random(rng)
    for k in range(8):
        f = None
        while f is None:
            f = random_insn(tb, rng, max_rows=4, max_vecs=6)
        await preload(tb, rng, f)
        res = vem.execute(tb.cfg, tb.mem, f)
        # Random host reads of the operand and result banks (reads do not change memory).
        banks = {f["a_addr"] // tb.bank_lines, f["dst_addr"] // tb.bank_lines}
        noise = []
        for _ in range(300):
            if rng.random() < 0.6:
                bank = int(rng.choice(sorted(banks)))
                noise.append(HostTxn(False, bank * tb.bank_lines +
                                     int(rng.integers(0, tb.bank_lines))))
        tb.host_idle.clear()
        tb.host_q.extend(noise)
        insn = await tb.wait(tb.issue(f))
        await tb.host_idle.wait()
        assert insn.kind == "done", insn.kind
        tb.check_accesses(insn, res, f"conflicts {k}")
        tb.mem = res.mem
        got = await tb.flags()
        assert got == res.flags
        await tb.check_lines(res.dst_lines, f"conflicts {k}")
    await tb.check_all("after conflicts")


@cocotb.test()
async def test_flags_sticky_and_clear(dut):
    """flags_o accumulates over instructions until flags_clear_i."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_flags_sticky_and_clear")
    await tb.fill_random(rng)
    lanes, lb = tb.lanes, tb.lb
    # RECIP of a non-positive value (RECIP_DOMAIN), then EXP2 of a positive one (EXP2_DOMAIN).
    await tb.write_lines(0, words_to_lines(np.full(lanes, -5), lb))
    await tb.write_lines(1, words_to_lines(np.full(lanes, 7), lb))
    f1 = vector_fields(op=VecOp.RECIP, rows=1, row_len=lanes, a_addr=0, dst_addr=10)
    f2 = vector_fields(op=VecOp.EXP2, rows=1, row_len=lanes, a_addr=1, dst_addr=11)
    res1 = vem.execute(tb.cfg, tb.mem, f1)
    await tb.execute(f1, "recip domain")
    res2 = vem.execute(tb.cfg, tb.mem, f2)
    insn = await tb.wait(tb.issue(f2, clear_flags=False))
    assert insn.kind == "done"
    tb.mem = res2.mem
    got = await tb.flags()
    assert res1.flags and res2.flags and res1.flags != res2.flags
    assert got == res1.flags | res2.flags, f"sticky flags {got:04b}"
    tb.clear_flags = True
    await RisingEdge(dut.clk_i)
    assert await tb.flags() == 0, "flags_clear_i did not clear"


async def measure(tb: TB, f: dict, what: str) -> float:
    """Run f, log and return cycles per vector from the handshake to done_o."""
    insn, _ = await tb.execute(f, what, window=0)
    vectors = f["rows"] * sem.vectors_per_row(f["row_len"], tb.lanes)
    cycles = insn.t_end - insn.t_accept + 1
    first = min(a.cycle for a in insn.accesses)
    last = max(a.cycle for a in insn.accesses)
    tb.dut._log.info("throughput %-28s %4d vectors %5d cycles: %.3f cycles/vector (first to "
                     "last access %d cycles), %d stall cycles", what, vectors, cycles,
                     cycles / vectors, last - first + 1, insn.stall_cycles)
    return cycles / vectors


@cocotb.test()
async def test_throughput(dut):
    """One vector per cycle when the ports grant: a, b and results in three different banks."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_throughput")
    await tb.fill_random(rng)
    lanes, bl = tb.lanes, tb.bank_lines
    rows = 8
    nvec = (bl - 4) // rows                       # fill most of a bank
    a, b, d = 0, bl, 2 * bl
    common = dict(rows=rows, row_len=nvec * lanes - 1, a_addr=a, a_pitch=nvec, b_addr=b,
                  b_pitch=nvec, dst_addr=d, dst_pitch=nvec)
    f = vector_fields(op=VecOp.ADD, **common)
    await preload(tb, rng, f)
    cpv = await measure(tb, f, "ADD int32, b vector")
    assert cpv <= 1.25, f"{cpv:.3f} cycles per vector for a big int32 element-wise op"
    cpv = await measure(tb, vector_fields(op=VecOp.SUB, b_mode=BMode.ROW, **common),
                        "SUB int32, b row")
    assert cpv <= 1.25
    cpv = await measure(tb, vector_fields(op=VecOp.RECIP, **common), "RECIP int32")
    assert cpv <= 1.3
    # 8-bit operands and results: four vectors per line.
    f8 = dict(common, row_len=4 * nvec * lanes - 2)
    await preload(tb, rng, vector_fields(op=VecOp.ADD, a_type=ElemType.UINT8, **f8))
    cpv = await measure(tb, vector_fields(op=VecOp.RSUM, a_type=ElemType.UINT8, **f8),
                        "RSUM uint8")
    assert cpv <= 1.1
    cpv = await measure(tb, vector_fields(op=VecOp.MULSHR, b_mode=BMode.SCALAR, scalar=3,
                                          shift=1, a_type=ElemType.INT8, dst_type=ElemType.INT8,
                                          sat=SatMode.INT8, **f8), "MULSHR int8 -> int8")
    assert cpv <= 1.1
    cpv = await measure(tb, vector_fields(op=VecOp.EXP2, shift=7, sat=SatMode.UINT8,
                                          dst_type=ElemType.UINT8, **common),
                        "EXP2 int32 -> uint8")
    assert cpv <= 1.25
    # Everything in one bank: a, b and the results share it (three accesses per vector).
    one = dict(rows=2, row_len=8 * lanes, a_addr=3 * bl, a_pitch=8, b_addr=3 * bl + 16,
               b_pitch=8, dst_addr=3 * bl + 32, dst_pitch=8)
    cpv = await measure(tb, vector_fields(op=VecOp.ADD, **one), "ADD, one bank")
    assert 2.5 <= cpv <= 4.5, "three accesses per vector on one bank"
    await tb.check_all("after throughput")


@cocotb.test()
async def test_back_to_back(dut):
    """Instructions offered while the engine is busy are taken one at a time, in order."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "test_back_to_back")
    await tb.fill_random(rng)
    fs = []
    for _ in range(6):
        f = None
        while f is None:
            f = random_insn(tb, rng, max_rows=3, max_vecs=4)
        fs.append(f)
    # All operands first; the model then runs the instructions in order on that image (a later
    # instruction may read what an earlier one wrote, as in a program).
    for f in fs:
        await preload(tb, rng, f)
    mem = tb.mem.copy()
    results = []
    for f in fs:
        res = vem.execute(tb.cfg, mem, f)
        results.append(res)
        mem = res.mem
    insns = [tb.issue(f, clear_flags=False) for f in fs]
    for insn in insns:
        await tb.wait(insn)
    for k, (insn, res) in enumerate(zip(insns, results)):
        assert insn.kind == "done"
        tb.check_accesses(insn, res, f"back-to-back {k}")
        if k:
            assert insn.t_accept == insns[k - 1].t_end + 1, "not taken the cycle after done"
    tb.mem = mem
    await tb.check_all("after back-to-back")


# ---- pytest launcher -----------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_npu_vector_engine(config):
    run_cocotb(TOPLEVEL, test_module=__name__, config=config, extra_sources=[WRAPPER])

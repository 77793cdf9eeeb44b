"""cocotb bench of the matrix engine (rtl/engines/npu_matmul_engine.sv) on a real scratchpad.

Toplevel: tb/sv/npu_matmul_engine_tb.sv (simulation only), the engine on ports 0..2 (A, B, C)
of a 4-port npu_scratchpad and a host port 3 that this bench drives to preload the scratchpad,
read it back, and probe overwrite control.

The bench is one clocked loop (`TB.step`): after each rising edge it presents the host port's
current request and the instruction, then samples in ReadOnly the handshakes, the host's read
responses and every engine-port request (to record grants, check that a waiting request stays
stable, and that a rejected instruction makes no request at all).

Golden: tb/golden/matmul_engine_model.py computes, from the bench's mirror of the scratchpad and
its own accumulator state, the error (code, info) or the scratchpad image after the
instruction (every byte is compared after each instruction by reading all lines back, so bytes
outside the destination are checked unchanged), and the regions that the release reads and lock
writes must touch. Stimulus comes from seeded_rng() (seeded from cocotb's seed, logged).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from dataclasses import dataclass, field

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from hwdef import load_config
from hwdef.isa import encode
from hwdef.regs import ErrorCode
from tb.golden.matmul_engine_model import FIELDS, MatmulEngineModel
from tb.harness.cocotb_utils import built_params, npu_config, start_clock_and_reset
from tb.harness.cocotb_utils import seeded_rng
from tb.harness.sim import run_cocotb
from tools.rtl_sources import REPO

TOPLEVEL = "npu_matmul_engine_tb"
TB_SOURCES = [REPO / "tb" / "sv" / "npu_matmul_engine_tb.sv"]
PORTS = 4
HOST = 3
PORT_A, PORT_B, PORT_C = 0, 1, 2
TIMEOUT = 20000
WIDE_ENV = "NPU_MM_LINE_BITS"


@dataclass
class HostTxn:
    write: bool
    addr: int
    data: int = 0
    strb: int = 0
    readers: int = 0
    last_use: bool = False
    t_grant: int | None = None
    rdata: int | None = None


@dataclass
class Access:
    """One granted engine-port request."""

    cycle: int
    port: int
    write: bool
    addr: int
    wstrb: int
    readers: int
    last_use: bool


@dataclass
class RunLog:
    accept: int | None = None
    done: list[int] = field(default_factory=list)
    err: list[tuple[int, int, int]] = field(default_factory=list)   # (cycle, code, info)
    accesses: list[Access] = field(default_factory=list)
    requests: int = 0          # cycles with any engine request presented
    stall_cycles: int = 0
    busy_cycles: int = 0

    @property
    def end(self) -> int:
        return (self.done or [e[0] for e in self.err])[0]


class TB:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.log = dut._log
        cfg = npu_config()
        self.cfg = cfg
        self.dim = cfg.array_dim
        self.lines = cfg.spad_lines
        self.region_lines = cfg.spad_region_lines
        self.bank_lines = cfg.spad_bank_lines
        self.acc_lines = cfg.acc_lines
        self.ab = cfg.spad_addr_bits

        params = built_params()
        expected = dict(cfg.sv_params(TOPLEVEL))
        if os.environ.get(WIDE_ENV):          # the wide-line variant (see the launcher)
            expected["LineBits"] = int(os.environ[WIDE_ENV])
        assert params == expected, (params, expected)
        self.line_bits = params["LineBits"]
        self.lb = self.line_bits // 8
        self.full_strb = (1 << self.lb) - 1
        widths = {
            "insn_i": 256, "err_code_o": 8, "err_info_o": 32,
            "host_req_addr_i": self.ab, "host_req_wdata_i": self.line_bits,
            "host_req_wstrb_i": self.lb, "host_rsp_rdata_o": self.line_bits,
            "req_addr_o": PORTS * self.ab, "req_wstrb_o": PORTS * self.lb,
            "req_readers_o": PORTS * 2, "req_valid_o": PORTS,
        }
        for name, width in widths.items():
            assert len(getattr(dut, name)) == width, (name, len(getattr(dut, name)), width)

        self.model = MatmulEngineModel(dataclasses.replace(cfg, vector_lanes=self.lb // 4))
        self.mirror = np.zeros((self.lines, self.lb), dtype=np.uint8)
        self.cycle = 0
        self.host_q: deque[HostTxn] = deque()
        self.host_cur: HostTxn | None = None
        self.host_prev_read: HostTxn | None = None
        self.insn_word: int | None = None
        self.strict = 0
        self.run_log: RunLog | None = None
        self.pending: dict[int, tuple] = {}   # port -> request seen waiting last cycle
        self._driven: dict[str, int] = {}
        for name in ("strict_i", "insn_valid_i", "insn_i", "host_req_valid_i",
                     "host_req_write_i", "host_req_addr_i", "host_req_wdata_i",
                     "host_req_wstrb_i", "host_req_readers_i", "host_req_last_use_i"):
            self._drive(name, 0, force=True)

    def _drive(self, name: str, value: int, force: bool = False) -> None:
        if force or self._driven.get(name) != value:
            getattr(self.dut, name).value = value
            self._driven[name] = value

    async def reset(self) -> None:
        await start_clock_and_reset(self.dut)

    # ---- the clocked loop ---------------------------------------------------------------------
    async def step(self) -> None:
        dut = self.dut
        await RisingEdge(dut.clk_i)
        self.cycle += 1
        if self.host_cur is None and self.host_q:
            self.host_cur = self.host_q.popleft()
        h = self.host_cur
        if h is None:
            self._drive("host_req_valid_i", 0)
        else:
            self._drive("host_req_valid_i", 1)
            self._drive("host_req_write_i", int(h.write))
            self._drive("host_req_addr_i", h.addr)
            self._drive("host_req_wdata_i", h.data)
            self._drive("host_req_wstrb_i", h.strb)
            self._drive("host_req_readers_i", h.readers)
            self._drive("host_req_last_use_i", int(h.last_use))
        self._drive("insn_valid_i", int(self.insn_word is not None))
        if self.insn_word is not None:
            self._drive("insn_i", self.insn_word)
        self._drive("strict_i", self.strict)

        await ReadOnly()
        # Host read data of the previous cycle's grant.
        rsp_valid = int(dut.host_rsp_valid_o.value)
        if self.host_prev_read is not None:
            assert rsp_valid == 1, f"cycle {self.cycle}: host read response missing"
            self.host_prev_read.rdata = dut.host_rsp_rdata_o.value.to_unsigned()
        else:
            assert rsp_valid == 0, f"cycle {self.cycle}: unexpected host read response"
        self.host_prev_read = None
        valid = dut.req_valid_o.value.to_unsigned()
        ready = dut.req_ready_o.value.to_unsigned()
        if h is not None and ready >> HOST & 1:
            h.t_grant = self.cycle
            if not h.write:
                self.host_prev_read = h
            self.host_cur = None
        self._observe_engine(valid, ready)

    def _observe_engine(self, valid: int, ready: int) -> None:
        dut = self.dut
        log = self.run_log
        if self.insn_word is not None and int(dut.insn_ready_o.value):
            self.insn_word = None               # handshake at the coming edge
            if log is not None:
                log.accept = self.cycle
        eng_valid = valid & 0b111
        if log is not None:
            if int(dut.done_o.value):
                log.done.append(self.cycle)
            if int(dut.err_o.value):
                log.err.append((self.cycle, dut.err_code_o.value.to_unsigned(),
                                dut.err_info_o.value.to_unsigned()))
            busy = int(dut.busy_o.value)
            log.busy_cycles += busy
            log.stall_cycles += int(dut.stall_o.value)
            if log.accept is not None and not log.done and not log.err and \
                    log.accept < self.cycle:
                assert busy == 1, f"cycle {self.cycle}: busy_o low during the instruction"
                assert int(dut.insn_ready_o.value) == 0, \
                    f"cycle {self.cycle}: insn_ready_o high while busy"
            if eng_valid:
                log.requests += 1
        if not eng_valid:
            assert not self.pending, f"cycle {self.cycle}: a waiting request was withdrawn"
            return
        addr = dut.req_addr_o.value.to_unsigned()
        wstrb = dut.req_wstrb_o.value.to_unsigned()
        readers = dut.req_readers_o.value.to_unsigned()
        last = dut.req_last_use_o.value.to_unsigned()
        write = dut.req_write_o.value.to_unsigned()
        pending = {}
        for port in (PORT_A, PORT_B, PORT_C):
            if not valid >> port & 1:
                assert port not in self.pending, \
                    f"cycle {self.cycle}: port {port} withdrew a waiting request"
                continue
            req = (bool(write >> port & 1), (addr >> (port * self.ab)) & ((1 << self.ab) - 1),
                   (wstrb >> (port * self.lb)) & self.full_strb, (readers >> (2 * port)) & 3,
                   bool(last >> port & 1))
            if port in self.pending:
                assert req == self.pending[port], \
                    f"cycle {self.cycle}: port {port} changed a waiting request " \
                    f"{self.pending[port]} -> {req}"
            if ready >> port & 1:
                if log is not None:
                    log.accesses.append(Access(self.cycle, port, *req))
            else:
                pending[port] = req
        self.pending = pending

    async def idle(self, cycles: int) -> None:
        for _ in range(cycles):
            await self.step()

    # ---- host port ----------------------------------------------------------------------------
    def host_submit(self, txn: HostTxn) -> HostTxn:
        self.host_q.append(txn)
        return txn

    async def host_drain(self, limit: int = 100000) -> None:
        for _ in range(limit):
            if not self.host_q and self.host_cur is None and self.host_prev_read is None:
                return
            await self.step()
        raise AssertionError("host port requests did not complete")

    @staticmethod
    def line_int(row: np.ndarray) -> int:
        return int.from_bytes(row.tobytes(), "little")

    async def preload(self, rng) -> None:
        """Fill the whole scratchpad with random bytes (the mirror follows)."""
        self.mirror = rng.integers(0, 256, size=(self.lines, self.lb), dtype=np.uint8)
        for line in range(self.lines):
            self.host_submit(HostTxn(True, line, self.line_int(self.mirror[line]),
                                     self.full_strb))
        await self.host_drain()

    async def readback(self) -> np.ndarray:
        txns = [self.host_submit(HostTxn(False, line)) for line in range(self.lines)]
        await self.host_drain()
        image = np.zeros((self.lines, self.lb), dtype=np.uint8)
        for line, txn in enumerate(txns):
            image[line] = np.frombuffer(txn.rdata.to_bytes(self.lb, "little"), dtype=np.uint8)
        return image

    async def check_image(self, expected: np.ndarray, what: str) -> None:
        got = await self.readback()
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)
            lines = sorted({int(r) for r, _ in bad})
            raise AssertionError(
                f"{what}: {len(bad)} scratchpad bytes differ, lines {lines[:16]}; first "
                f"line {lines[0]}: got {got[lines[0]].tolist()} expected "
                f"{expected[lines[0]].tolist()}")
        self.mirror = expected.copy()

    def counter(self, name: str) -> int:
        return getattr(self.dut, f"stat_{name}_o").value.to_unsigned()

    # ---- one instruction ----------------------------------------------------------------------
    async def run(self, f: dict, *, check_image: bool = True, what: str = "matmul",
                  expect_hang: int = 0):
        """Execute one MATMUL and check it completely against the golden model.

        expect_hang > 0: the instruction is expected not to finish within that many cycles
        (overwrite control holds it); the caller finishes it with `finish_run`."""
        f = {name: int(f.get(name, 0)) for name in FIELDS}
        res = self.model.execute(f, self.mirror)
        self.run_log = log = RunLog()
        self.insn_word = encode("MATMUL", **f)
        start = self.cycle
        limit = expect_hang or TIMEOUT
        while not log.done and not log.err:
            await self.step()
            if self.cycle - start > limit:
                if expect_hang:
                    return res, log
                raise AssertionError(f"{what}: no done/err within {TIMEOUT} cycles ({f})")
        assert not expect_hang, f"{what}: finished although overwrite control should hold it"
        await self.finish_run(res, log, f, what, check_image)
        return res, log

    async def finish_run(self, res, log: RunLog, f: dict, what: str, check_image: bool):
        start = self.cycle
        while not log.done and not log.err:
            await self.step()
            assert self.cycle - start < TIMEOUT, f"{what}: no done/err"
        # A few more cycles: single pulses, no access after the end.
        await self.idle(3)
        self.run_log = None
        assert log.accept is not None, f"{what}: instruction never accepted"
        if res.error:
            assert not log.done, f"{what}: done_o although the instruction is rejected"
            assert len(log.err) == 1, f"{what}: err_o pulses {log.err}"
            _, code, info = log.err[0]
            assert (code, info) == (res.error, res.info), \
                f"{what}: err code/info {code}/{info} != expected {res.error}/{res.info}"
            assert log.requests == 0 and not log.accesses, \
                f"{what}: a rejected instruction made scratchpad requests"
            if check_image:
                await self.check_image(res.spad, what)
            return
        assert not log.err, f"{what}: unexpected err {log.err} for {f}"
        assert len(log.done) == 1, f"{what}: done_o pulses {log.done}"
        self.check_accesses(res, log, f, what)
        if check_image:
            await self.check_image(res.spad, what)
        else:
            self.mirror = res.spad.copy()

    def check_accesses(self, res, log: RunLog, f: dict, what: str) -> None:
        """Access counts, release/lock sets and their order, done after the last grant."""
        dim, rl = self.dim, self.region_lines
        end = log.end
        by = {p: [a for a in log.accesses if a.port == p] for p in (PORT_A, PORT_B, PORT_C)}
        assert all(a.cycle < end for a in log.accesses), f"{what}: access after done"
        for port, lines, rel, nreads in (
                (PORT_A, res.a_lines, res.release_a, f["rows"] * f["k_tiles"] * f["n_tiles"]),
                (PORT_B, res.b_lines, res.release_b, dim * f["k_tiles"] * f["n_tiles"])):
            acc = by[port]
            assert not any(a.write for a in acc), f"{what}: write on read port {port}"
            data = [a for a in acc if not a.last_use]
            relr = [a for a in acc if a.last_use]
            assert len(data) == nreads, \
                f"{what}: port {port} made {len(data)} data reads, expected {nreads}"
            assert {a.addr for a in data} == lines, f"{what}: port {port} read other lines"
            got_rel = [a.addr // rl for a in relr]
            assert sorted(got_rel) == sorted(rel), \
                f"{what}: port {port} released regions {got_rel}, expected {sorted(rel)}"
            assert all(a.addr % rl == 0 for a in relr)
            if relr:
                assert min(a.cycle for a in relr) > max(a.cycle for a in data), \
                    f"{what}: port {port} released before its last read"
        acc = by[PORT_C]
        assert all(a.write for a in acc), f"{what}: read on the C port"
        data = [a for a in acc if a.wstrb != 0]
        locks = [a for a in acc if a.wstrb == 0]
        exp_writes = f["rows"] * f["n_tiles"] if f["emit"] else 0
        assert len(data) == exp_writes, \
            f"{what}: {len(data)} C writes, expected {exp_writes}"
        assert all(a.readers == 0 for a in data), f"{what}: C data write with readers"
        assert {a.addr for a in data} == res.written_lines, f"{what}: C wrote other lines"
        got_lock = [a.addr // rl for a in locks]
        assert sorted(got_lock) == sorted(res.lock), \
            f"{what}: lock writes to regions {got_lock}, expected {sorted(res.lock)}"
        assert all(a.readers == f["lock_readers"] and a.addr % rl == 0 for a in locks)
        if locks:
            assert min(a.cycle for a in locks) > max(a.cycle for a in data), \
                f"{what}: lock written before the last C write"

    # ---- stimulus helpers ---------------------------------------------------------------------
    def layout_ok(self, f: dict, forbid: set[int] | None = None) -> bool:
        f = {name: int(f.get(name, 0)) for name in FIELDS}
        if self.model.check(f)[0]:
            return False
        a, b, d = self.model.operand_lines(f)
        if d & (a | b):
            return False
        return not (forbid and (a | b | d) & forbid)

    def random_insn(self, rng, *, max_rows=None, max_k=6, max_n=6, emit=None,
                    releases=False, forbid=None) -> dict:
        dim, lb = self.dim, self.lb
        max_rows = max_rows or 3 * dim
        for _ in range(1000):
            kt = int(rng.integers(1, max_k + 1))
            nt = int(rng.integers(1, max_n + 1))
            rows = int(rng.integers(1, max_rows + 1))
            if nt * rows > self.acc_lines:
                continue
            transpose = int(rng.integers(2))
            a_w = -(-kt * dim // lb)                       # lines per A row
            bcols = (kt if transpose else nt) * dim
            b_w = -(-bcols // lb)
            d_w = -(-nt * dim * 4 // lb)
            f = dict(
                rows=rows, k_tiles=kt, n_tiles=nt, transpose=transpose,
                a_signed=int(rng.integers(2)),
                # Pitches of a region or more make operands skip regions (release sets).
                a_pitch=a_w + int(rng.choice([0, 0, 1, 3, self.region_lines])),
                b_pitch=b_w + int(rng.choice([0, 0, 1, 2, self.region_lines - 1])),
                dst_pitch=d_w + int(rng.choice([0, 0, 1])),
                acc_addr=int(rng.integers(0, self.acc_lines - nt * rows + 1)),
                emit=int(rng.random() < 0.85) if emit is None else int(emit),
                release_a=int(releases and rng.random() < 0.5),
                release_b=int(releases and rng.random() < 0.5),
            )
            f["a_addr"] = int(rng.integers(0, self.lines))
            f["b_addr"] = int(rng.integers(0, self.lines))
            f["dst_addr"] = int(rng.integers(0, self.lines))
            accs = range(f["acc_addr"], f["acc_addr"] + nt * rows)
            f["accumulate"] = int(all(self.model.acc[x] is not None for x in accs)
                                  and rng.random() < 0.5)
            if self.layout_ok(f, forbid):
                return f
        raise RuntimeError("could not place a random instruction")

    async def start(self, rng) -> None:
        await self.reset()
        await self.preload(rng)


async def setup(dut, name: str):
    tb = TB(dut)
    rng = seeded_rng(dut, name)
    await tb.start(rng)
    return tb, rng


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------
@cocotb.test()
async def test_shapes(dut):
    """Hand-picked shapes with random data: A·B and A·Bᵀ, int8/uint8 A, one row, rows not a
    multiple of Dim, several k and n tiles, pitches > 1, bank conflicts between operands."""
    tb, rng = await setup(dut, "shapes")
    d, bl = tb.dim, tb.bank_lines
    lpr = -(-4 * d * 4 // tb.lb)   # destination lines for up to 4 output tiles
    cases = [
        dict(rows=d, k_tiles=1, n_tiles=1, a_addr=0, a_pitch=1, b_addr=bl, b_pitch=1,
             dst_addr=2 * bl, dst_pitch=1, a_signed=1, emit=1),
        dict(rows=d, k_tiles=1, n_tiles=1, a_addr=0, a_pitch=1, b_addr=bl, b_pitch=1,
             dst_addr=2 * bl, dst_pitch=1, a_signed=0, emit=1, transpose=1),
        dict(rows=1, k_tiles=2, n_tiles=3, a_addr=5, a_pitch=1, b_addr=bl + 3, b_pitch=1,
             dst_addr=2 * bl + 1, dst_pitch=lpr, a_signed=1, emit=1, acc_addr=1),
        dict(rows=d + 3, k_tiles=3, n_tiles=2, a_addr=2, a_pitch=2, b_addr=bl, b_pitch=2,
             dst_addr=2 * bl, dst_pitch=lpr + 1, a_signed=1, emit=1, transpose=1),
        dict(rows=2 * d + 1, k_tiles=2, n_tiles=2, a_addr=7, a_pitch=1, b_addr=bl + 1,
             b_pitch=3, dst_addr=2 * bl + 2, dst_pitch=lpr, a_signed=0, emit=1),
        # All three operands in bank 0: every port competes for one bank.
        dict(rows=d + 1, k_tiles=2, n_tiles=2, a_addr=0, a_pitch=1, b_addr=d + 2, b_pitch=1,
             dst_addr=4 * d + 4, dst_pitch=lpr, a_signed=1, emit=1, transpose=1),
    ]
    for idx, f in enumerate(cases):
        assert tb.layout_ok(f), f
        _, log = await tb.run(f, what=f"shape {idx}")
        tb.log.info("shape %d: %s -> %d cycles", idx, f, log.end - log.accept)


@cocotb.test()
async def test_random(dut):
    """Random instructions (shapes, placement incl. shared banks, pitches, transpose, signedness,
    emit, accumulate onto known rows, release flags on unlocked regions) while the host port
    reads random lines in the background to create bank conflicts."""
    tb, rng = await setup(dut, "random")
    count = 40 if tb.dim <= 4 else 14
    bad0 = tb.counter("bad_release")
    expected_bad = 0
    for idx in range(count):
        f = tb.random_insn(rng, releases=True)
        # Background host reads of lines the instruction does not write.
        _, _, dst = tb.model.operand_lines(f)
        bg = [line for line in rng.integers(0, tb.lines, size=3 * f["rows"]).tolist()
              if line not in dst]
        bg_txns = [tb.host_submit(HostTxn(False, int(line))) for line in bg]
        res, log = await tb.run(f, what=f"random {idx}", check_image=False)
        await tb.host_drain()
        for txn in bg_txns:
            exp = TB.line_int(tb.mirror[txn.addr])
            assert txn.rdata == exp, f"background read of line {txn.addr} wrong"
        await tb.check_image(tb.mirror, f"random {idx}")
        # Every release read hit a region whose count was 0: the scratchpad reports them.
        expected_bad += len(res.release_a) + len(res.release_b)
        tb.log.info("random %d: %s -> %d cycles, %d stall", idx, f, log.end - log.accept,
                    log.stall_cycles)
    assert tb.counter("bad_release") - bad0 == expected_bad


@cocotb.test()
async def test_accumulate(dut):
    """accumulate=1 across instructions: a first MATMUL without emit (nothing is written), a
    second one adding onto the same accumulator rows with emit, a third on top of it."""
    tb, rng = await setup(dut, "accumulate")
    d, bl = tb.dim, tb.bank_lines
    rows = d + 2
    kt, nt = 2, 2
    dst_pitch = -(-nt * d * 4 // tb.lb)
    base = dict(rows=rows, k_tiles=kt, n_tiles=nt, a_pitch=1, b_pitch=1, acc_addr=3,
                a_signed=1, dst_addr=2 * bl, dst_pitch=dst_pitch)
    steps = [
        dict(a_addr=0, b_addr=bl, emit=0, accumulate=0),
        dict(a_addr=rows + 1, b_addr=bl + 2 * d * kt, emit=1, accumulate=1, transpose=1,
             a_signed=0),
        dict(a_addr=0, b_addr=bl + 2 * d * kt, emit=1, accumulate=1),
    ]
    for idx, s in enumerate(steps):
        f = dict(base, **s)
        assert tb.layout_ok(f), f
        await tb.run(f, what=f"accumulate step {idx}")
    # The emit=0 step wrote nothing, and later steps saw its partial sums (checked by the
    # golden model's accumulator state: the C images compared above include them).


@cocotb.test()
async def test_errors(dut):
    """Each check rejects with the right code and info, makes no request, changes nothing;
    values right at the limits are accepted."""
    tb, rng = await setup(dut, "errors")
    d, lines, lb, acc = tb.dim, tb.lines, tb.lb, tb.acc_lines
    ok = dict(rows=2, k_tiles=1, n_tiles=1, a_addr=0, a_pitch=1, b_addr=tb.bank_lines,
              b_pitch=1, dst_addr=2 * tb.bank_lines, dst_pitch=1, emit=1, a_signed=1)
    bad = [
        ("rows=0", dict(rows=0), ErrorCode.BAD_FIELD),
        ("k_tiles=0", dict(k_tiles=0), ErrorCode.BAD_FIELD),
        ("n_tiles=0", dict(n_tiles=0, acc_addr=0xFFFF), ErrorCode.BAD_FIELD),
        ("acc end", dict(acc_addr=acc - 1, n_tiles=1, rows=2), ErrorCode.ACC_RANGE),
        ("acc huge", dict(acc_addr=0xFFFF, rows=8191, n_tiles=255), ErrorCode.ACC_RANGE),
        ("acc before spad", dict(acc_addr=acc, a_addr=0xFFFF), ErrorCode.ACC_RANGE),
        ("A last line", dict(a_addr=lines - 1, a_pitch=1), ErrorCode.SPAD_RANGE),
        ("A pitch", dict(a_addr=0, a_pitch=4095, rows=2), ErrorCode.SPAD_RANGE),
        ("A k tiles", dict(a_addr=lines - 1, rows=1, k_tiles=lb // d + 1),
         ErrorCode.SPAD_RANGE),
        ("A addr huge", dict(a_addr=0xFFFF), ErrorCode.SPAD_RANGE),
        ("B rows", dict(b_addr=lines - d + 1, b_pitch=1), ErrorCode.SPAD_RANGE),
        ("B pitch", dict(b_pitch=4095, k_tiles=255), ErrorCode.SPAD_RANGE),
        ("B^T rows", dict(b_addr=lines - 2 * d + 1, n_tiles=2, transpose=1),
         ErrorCode.SPAD_RANGE),
        ("B cols", dict(b_addr=lines - d, b_pitch=1, n_tiles=lb // d + 1),
         ErrorCode.SPAD_RANGE),
        ("dst", dict(dst_addr=lines - 1, dst_pitch=1), ErrorCode.SPAD_RANGE),
        ("dst pitch", dict(dst_pitch=4095), ErrorCode.SPAD_RANGE),
        ("dst wide", dict(dst_addr=lines - 1, rows=1, n_tiles=tb.lb // (4 * d) + 1),
         ErrorCode.SPAD_RANGE),
        ("A before B", dict(a_addr=lines, b_addr=lines), ErrorCode.SPAD_RANGE),
    ]
    image = tb.mirror.copy()
    for name, change, code in bad:
        f = dict(ok, **change)
        res, _ = await tb.run(f, what=f"error {name}", check_image=False)
        assert res.error == code, f"{name}: the golden model says {res.error}"
    await tb.check_image(image, "after the rejected instructions")
    # At the limits: these run.
    fine = [
        ("acc end exact", dict(acc_addr=acc - 2, rows=2)),
        ("A last line exact", dict(a_addr=lines - 2, a_pitch=1, b_addr=tb.bank_lines)),
        ("B last line exact", dict(b_addr=lines - d, b_pitch=1)),
        ("dst last line exact", dict(dst_addr=lines - 2, dst_pitch=1)),
        ("dst out of range without emit", dict(dst_addr=0xFFFF, emit=0)),
    ]
    for name, change in fine:
        f = dict(ok, **change)
        assert tb.layout_ok(f), (name, f)
        res, _ = await tb.run(f, what=f"limit {name}")
        assert res.error == 0


@cocotb.test()
async def test_overwrite_control(dut):
    """lock_readers: the destination regions wait for that many last-use reads; release_a/b:
    the operands' regions (locked by the host) are released exactly once; C writes into a
    region still awaited are held (the engine stalls, then completes); strict mode drops them."""
    tb, rng = await setup(dut, "overwrite")
    d, bl, rl = tb.dim, tb.bank_lines, tb.region_lines
    dst_pitch = -(-2 * d * 4 // tb.lb)
    # Six rows, the first two at the end of one region, the rest in the next one.
    f = dict(rows=6, k_tiles=2, n_tiles=2, a_addr=0, a_pitch=1, b_addr=bl, b_pitch=1,
             dst_addr=2 * bl + rl - 2 * dst_pitch, dst_pitch=dst_pitch, emit=1, a_signed=1)

    async def host_write_waits(line: int, cycles: int) -> None:
        """A host write to `line` is held for `cycles` cycles; then the probe is withdrawn
        (the host port is one in-order queue: the releasing read must come from it too)."""
        waits0 = tb.counter("ow_wait")
        txn = tb.host_submit(HostTxn(True, line, 0x5A, 1))
        await tb.idle(cycles)
        assert txn.t_grant is None, f"host write to line {line} was not held"
        assert tb.host_cur is txn
        tb.host_cur = None
        await tb.idle(1)
        assert tb.counter("ow_wait") - waits0 >= cycles - 2

    async def host_write_goes(line: int) -> None:
        waits0 = tb.counter("ow_wait")
        txn = tb.host_submit(HostTxn(True, line, 0x5A, 1))
        await tb.host_drain()
        assert txn.t_grant is not None and tb.counter("ow_wait") == waits0, \
            f"host write to line {line} waited"
        tb.mirror[line, 0] = 0x5A

    for readers in (1, 2):
        g = dict(f, lock_readers=readers)
        res, log = await tb.run(g, what=f"lock {readers}")
        assert len(res.lock) == 2
        for region in sorted(res.lock):
            for _ in range(readers):
                await host_write_waits(region * rl + 1, 12)
                tb.host_submit(HostTxn(False, region * rl, last_use=True))
                await tb.host_drain()
            await host_write_goes(region * rl + 1)
        await tb.check_image(tb.mirror, f"after lock {readers}")

    # release_a / release_b on operands the host locked with one pending reader each.
    bad0 = tb.counter("bad_release")
    a_lines, b_lines, _ = tb.model.operand_lines(dict({k: 0 for k in FIELDS}, **f))
    regions = sorted({x // rl for x in a_lines | b_lines})
    for region in regions:
        tb.host_submit(HostTxn(True, region * rl, 0, 0, readers=1))
    await tb.host_drain()
    g = dict(f, release_a=1, release_b=1)
    res, _ = await tb.run(g, what="release")
    assert sorted(res.release_a | res.release_b) == regions
    assert tb.counter("bad_release") == bad0, "a release hit a region that was not awaited"
    waits0 = tb.counter("ow_wait")
    for region in regions:   # released: host writes go through at once
        tb.host_submit(HostTxn(True, region * rl, 0, 0))
    await tb.host_drain()
    assert tb.counter("ow_wait") == waits0, "an operand region is still awaited"

    # Without release_a the A region stays awaited.
    a_region = f["a_addr"] // rl
    tb.host_submit(HostTxn(True, a_region * rl, 0, 0, readers=1))
    await tb.host_drain()
    res, _ = await tb.run(dict(f, release_b=0), what="no release")
    await host_write_waits(a_region * rl, 10)
    tb.host_submit(HostTxn(False, a_region * rl, last_use=True))
    await tb.host_drain()
    await host_write_goes(a_region * rl)

    # The destination's first region awaits a reader: the engine's C writes are held, it
    # stalls and cannot finish until the host releases the region.
    region = f["dst_addr"] // rl
    tb.host_submit(HostTxn(True, region * rl, 0, 0, readers=1))
    await tb.host_drain()
    hold = 300
    res, log = await tb.run(f, what="held C writes", expect_hang=hold)
    assert log.stall_cycles > hold // 2, f"stall_o only {log.stall_cycles} of {hold} cycles"
    assert not any(a.port == PORT_C for a in log.accesses), "a C write passed the lock"
    tb.host_submit(HostTxn(False, region * rl, last_use=True))
    await tb.finish_run(res, log, dict({k: 0 for k in FIELDS}, **f), "held C writes", True)

    # Strict mode: the same writes are dropped as violations; the engine still completes.
    tb.host_submit(HostTxn(True, region * rl, 0, 0, readers=1))
    await tb.host_drain()
    tb.strict = 1
    viol0 = tb.counter("ow_violations")
    f2 = dict({k: 0 for k in FIELDS}, **f)
    res = tb.model.execute(f2, tb.mirror)
    tb.run_log = log = RunLog()
    tb.insn_word = encode("MATMUL", **f2)
    while not log.done:
        await tb.step()
        assert not log.err and tb.cycle < 10**7
    await tb.idle(3)
    tb.run_log = None
    tb.strict = 0
    dropped = [a for a in log.accesses if a.port == PORT_C and a.addr // rl == region]
    assert dropped and tb.counter("ow_violations") - viol0 == len(dropped)
    expected = res.spad.copy()
    expected[region * rl:(region + 1) * rl] = tb.mirror[region * rl:(region + 1) * rl]
    await tb.check_image(expected, "strict mode")

    # Two lines per operand row, the last row's second line alone in the next region: that
    # region is released too (checked against the golden region sets in check_accesses).
    aslots = tb.lb // d
    rows_e, kt_e = 3, aslots + 1
    k_rows = kt_e * d
    g = dict(rows=rows_e, k_tiles=kt_e, n_tiles=aslots + 1, a_pitch=2, b_pitch=2,
             a_addr=rl - 1 - 2 * (rows_e - 1), b_addr=3 * bl + rl - 1 - 2 * (k_rows - 1),
             dst_addr=bl, dst_pitch=-(-(aslots + 1) * d * 4 // tb.lb), emit=1, a_signed=1,
             release_a=1, release_b=1)
    assert tb.layout_ok(g), g
    res, _ = await tb.run(g, what="release at a region boundary")
    assert rl // rl in res.release_a and (3 * bl + rl) // rl in res.release_b


@cocotb.test()
async def test_throughput(dut):
    """rows = 4*Dim, k_tiles = 4, n_tiles = 2 with A, B and C in different banks: the engine
    must stream close to one A row per cycle (weights load behind the A stream)."""
    tb, rng = await setup(dut, "throughput")
    d, bl, lb = tb.dim, tb.bank_lines, tb.lb
    rows, kt, nt = 4 * d, 4, 2
    a_w = -(-kt * d // lb)
    d_w = -(-nt * d * 4 // lb)
    for transpose in (0, 1):
        b_w = -(-(kt if transpose else nt) * d // lb)
        f = dict(rows=rows, k_tiles=kt, n_tiles=nt, a_addr=0, a_pitch=a_w, b_addr=bl,
                 b_pitch=b_w, dst_addr=2 * bl, dst_pitch=d_w, emit=1, a_signed=1,
                 transpose=transpose)
        assert tb.layout_ok(f), f
        # The destination may span banks 2 and 3; B (bank 1) and A (bank 0) never collide.
        assert (rows - 1) * a_w < bl and (max(kt, nt) * d - 1) * b_w < bl
        res, log = await tb.run(f, what=f"throughput T={transpose}")
        a_reads = [a.cycle for a in log.accesses if a.port == PORT_A and not a.last_use]
        total = log.end - log.accept
        n_rows = rows * kt * nt
        # Steady state: after the first FIFO-full of rows waiting for the first weight tile.
        a_reads = a_reads[8:]
        span = a_reads[-1] - a_reads[0] + 1
        per_row = total / n_rows
        tb.log.info("throughput (%s, %d-byte lines, transpose=%d): %d A rows in %d cycles "
                    "(accept to done) = %.3f cycles/row; A stream %d rows in %d cycles "
                    "(%.3f); %d stall cycles",
                    tb.cfg.name, lb, transpose, n_rows, total, per_row, len(a_reads), span,
                    span / len(a_reads), log.stall_cycles)
        assert span / len(a_reads) <= 1.02, "A rows do not stream at one per cycle"
        bound = 1.25 if d >= 16 else 1.4
        assert per_row <= bound, f"{per_row:.3f} cycles per A row > {bound}"

    # For reference only (no bound): rows = Dim, fewer than the 2*Dim rows per weight tile the
    # matrix unit needs to hide a tile load, so the unit waits for weights.
    f = dict(rows=d, k_tiles=kt, n_tiles=nt, a_addr=0, a_pitch=a_w, b_addr=bl,
             b_pitch=-(-nt * d // lb), dst_addr=2 * bl, dst_pitch=d_w, emit=1, a_signed=1)
    res, log = await tb.run(f, what="short tiles")
    total = log.end - log.accept
    tb.log.info("short tiles (%s): rows=Dim=%d, %d tiles: %d A rows in %d cycles = %.3f "
                "cycles/row", tb.cfg.name, d, kt * nt, d * kt * nt, total,
                total / (d * kt * nt))


# ------------------------------------------------------------------------------------------
# pytest launcher
# ------------------------------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_matmul_engine(config):
    start = time.monotonic()
    run_cocotb(TOPLEVEL, test_module=__name__, config=config, extra_sources=TB_SOURCES)
    print(f"npu_matmul_engine {config}: {time.monotonic() - start:.1f} s")


@pytest.mark.sim
def test_matmul_engine_wide_lines():
    """`tiny` with lines twice as wide (8 lanes on the 4x4 array): eight int8 tiles and two
    int32 output tiles share a line, which neither named configuration exercises."""
    bits = 2 * load_config("tiny").line_bits
    start = time.monotonic()
    run_cocotb(TOPLEVEL, test_module=__name__, config="tiny", extra_params={"LineBits": bits},
               extra_env={WIDE_ENV: str(bits)}, extra_sources=TB_SOURCES)
    print(f"npu_matmul_engine tiny, LineBits={bits}: {time.monotonic() - start:.1f} s")

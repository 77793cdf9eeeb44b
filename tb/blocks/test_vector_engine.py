"""cocotb tests of the vector engine (rtl/engines/npu_vector_engine.sv, docs/vector_engine.md).

The environment, scoreboard and stimulus are in tb/blocks/vector_engine/ (env.py: agents on the
wrapper tb/sv/npu_vector_engine_tb.sv and the clocked loop; scoreboard.py: per-instruction
checks against tb/golden/vector_engine_model.py; sequences.py: random instructions and data).
The softmax chain is also checked against npu_model's instruction-level executor
(npu_model/executor.py), which shares no code with the block model. Stimulus comes from
seeded_rng() (seeded from cocotb's seed, logged).
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from hwdef import isa
from hwdef.isa import BMode, ElemType
from hwdef.params import RECIP_FRAC_BITS, SOFTMAX_EXP2_SHIFT, SatMode, VecOp
from hwdef.regs import ErrorCode
from npu_model import semantics as sem
from npu_model.executor import NpuModel, RunResult
from tb.agents.spad_port import spad_read, spad_write
from tb.blocks.vector_engine.env import TOPLEVEL, WRAPPER
from tb.blocks.vector_engine.env import VectorEngineEnv as TB
from tb.blocks.vector_engine.sequences import preload, random_insn, vector_fields, words_to_lines
from tb.golden import vector_engine_model as vem
from tb.harness.cocotb_utils import seeded_rng
from tb.harness.sim import run_cocotb


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


def executor_image(cfg, mem: np.ndarray, steps) -> np.ndarray:
    """The scratchpad after `steps` (VECTOR field dicts) on npu_model's instruction-level
    executor, started from `mem`."""
    model = NpuModel(cfg, np.zeros(cfg.line_bytes, dtype=np.uint8))
    model.spad = mem.copy()
    run = RunResult(retired=0)
    for f in steps:
        model.vector(f, 0, run)
    return model.spad


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
            ("EXP2", vector_fields(op=VecOp.EXP2, shift=SOFTMAX_EXP2_SHIFT, sat=SatMode.UINT8,
                                   a_addr=s_addr, a_pitch=s_pitch, dst_addr=p_addr, dst_pitch=1,
                                   dst_type=ElemType.UINT8, **unary)),
            ("RSUM", vector_fields(op=VecOp.RSUM, a_type=ElemType.UINT8, a_addr=p_addr,
                                   a_pitch=1, dst_addr=l_addr, dst_pitch=1, **unary)),
            ("RECIP", vector_fields(op=VecOp.RECIP, b_mode=BMode.SCALAR, a_addr=l_addr,
                                    a_pitch=1, dst_addr=r_addr, dst_pitch=1, rows=rows,
                                    row_len=lanes)),
            ("MULSHR-O", vector_fields(op=VecOp.MULSHR, b_mode=BMode.ROW, shift=RECIP_FRAC_BITS,
                                       sat=SatMode.INT8, a_addr=a_addr, a_pitch=nd,
                                       b_addr=r_addr, b_pitch=1, dst_addr=o_addr, dst_pitch=1,
                                       dst_type=ElemType.INT8, rows=rows, row_len=d)),
        ]
        before = tb.mem.copy()
        for name, f in steps:
            insn, _ = await tb.execute(f, f"softmax causal={causal} {name}")
            dut._log.info("softmax causal=%d %-8s %3d cycles for %d vectors", causal, name,
                          insn.t_end - insn.t_accept + 1, rows * sem.vectors_per_row(
                              f["row_len"], lanes))
        # Independent check of the weights, the output and every other byte against
        # npu_model's executor (numerics.py arithmetic, no code shared with the block model).
        want = executor_image(tb.cfg, before, [f for _, f in steps])
        length = [sem.row_length(common, i) for i in range(rows)]
        mask = np.arange(nvec * lanes)[None, :] < np.array(length)[:, None]
        P = want[p_addr:p_addr + rows, :nvec * lanes].astype(np.int64)
        O = want[o_addr:o_addr + rows, :d].view(np.int8).astype(np.int64)
        got_p = tb.mem[p_addr:p_addr + rows, :nvec * lanes].astype(np.int64)
        got_o = tb.mem[o_addr:o_addr + rows, :d].view(np.int8).astype(np.int64)
        assert np.array_equal(got_p, P), f"P causal={causal}: {got_p.tolist()} != {P.tolist()}"
        assert np.array_equal(got_o, O), f"O causal={causal}: {got_o.tolist()} != {O.tolist()}"
        assert P.max() == 255 or not mask.any(), "the row maximum's weight must be 255"
        assert np.array_equal(P[~mask], np.zeros_like(P[~mask])), "masked weights must be 0"
        assert np.array_equal(tb.mem, want), \
            f"softmax causal={causal}: the block model and the executor differ"
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
        # operand aliasing (docs/isa.md): a is lines 0..5, b 8..13, dst 16..21; info dst_addr
        ("dst over a", dict(dst_addr=5), ErrorCode.OPERAND_OVERLAP, 5),
        ("dst over b", dict(dst_addr=12), ErrorCode.OPERAND_OVERLAP, 12),
        ("in place, other type", dict(dst_addr=0, dst_type=ElemType.INT8),
         ErrorCode.OPERAND_OVERLAP, 0),
        ("in place, other pitch", dict(dst_addr=0, dst_pitch=3), ErrorCode.OPERAND_OVERLAP, 0),
        ("in place, rows sharing lines", dict(dst_addr=0, a_pitch=1, dst_pitch=1),
         ErrorCode.OPERAND_OVERLAP, 0),
        ("reduction in place", dict(op=VecOp.RMAX, dst_addr=0), ErrorCode.OPERAND_OVERLAP, 0),
        ("row b in the result", dict(b_mode=BMode.ROW, b_addr=17), ErrorCode.OPERAND_OVERLAP,
         16),
        ("row b in place", dict(b_mode=BMode.ROW, dst_addr=8), ErrorCode.OPERAND_OVERLAP, 8),
        ("range before aliasing", dict(a_addr=lines - 5, dst_addr=lines - 5),
         ErrorCode.SPAD_RANGE, lines - 5 + 4 + 1),
    ]
    for name, change, code, info in cases:
        f = dict(base, **change)
        want = sem.check(tb.cfg, "VECTOR", f)
        assert want == sem.Fault(code, info), (
            f"{name}: model says {want}, case table says {code}/{info}")
        await tb.execute(f, f"error case {name}")
    # Near misses that must pass: b ignored in SCALAR mode, a reduction's single dst line, an
    # 8-bit stream's quarter lines, the last line of the scratchpad.
    passes = [
        ("scalar b out of range", dict(b_mode=BMode.SCALAR, b_addr=0xFFFF, b_pitch=4095)),
        ("reduction at the end", dict(op=VecOp.RSUM, dst_addr=lines - 3, dst_pitch=1)),
        ("int8 a at the end", dict(a_type=ElemType.INT8, b_mode=BMode.SCALAR, a_addr=lines - 3,
                                   a_pitch=1)),
        ("last line", dict(rows=1, row_len=lanes, dst_addr=lines - 1)),
        ("in place on a", dict(dst_addr=0)),
        ("in place on b", dict(dst_addr=8)),
        ("in place on a and b", dict(dst_addr=0, b_addr=0)),
        ("in place, one row, pitch 0", dict(rows=1, a_pitch=0, dst_addr=0, dst_pitch=0)),
        ("int8 in place", dict(a_type=ElemType.INT8, dst_type=ElemType.INT8, sat=SatMode.INT8,
                               dst_addr=0)),
        ("dst right after a", dict(dst_addr=6, b_addr=16)),
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
        await tb.host_txns([spad_write(r * rl, 0, 0, readers=n) for r, n in counts.items()])
        bad_before = len(tb.bad_release)
        await tb.execute(f, what)
        assert len(tb.bad_release) == bad_before, f"{what}: released an unlocked region"
        # Every released region is at zero: one more release is reported as bad.
        probes = [spad_read(r * rl, last_use=True) for r in counts]
        await tb.host_txns(probes)
        await RisingEdge(dut.clk_i)
        assert len(tb.bad_release) == bad_before + len(probes), f"{what}: release counts"
        # Locked regions count exactly lock_readers.
        n = f["lock_readers"]
        for region in res.d_regions if n else []:
            before = len(tb.bad_release)
            await tb.host_txns([spad_read(region * rl, last_use=True) for _ in range(n + 1)])
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
    await tb.host_txns([spad_write(3 * rl + 5, 0, 0, readers=1)])
    res = vem.execute(tb.cfg, tb.mem, f)
    insn = tb.issue(f)
    for _ in range(60):
        await RisingEdge(dut.clk_i)
    assert insn.t_accept is not None and not insn.finished.is_set(), "the write did not wait"
    # The reads and the computation take a few cycles, then nothing moves.
    waited = insn.stall_cycles
    assert waited >= 60 - 15, f"stall_o counted {waited} cycles while the write was held"
    await tb.host_txns([spad_read(3 * rl, last_use=True)])
    await tb.wait(insn)
    assert insn.kind == "done"
    tb.scoreboard.check_accesses(insn, res, "held write")
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
                noise.append(spad_read(bank * tb.bank_lines +
                                       int(rng.integers(0, tb.bank_lines))))
        for txn in noise:
            tb.host.submit(txn)
        insn = await tb.wait(tb.issue(f))
        await tb.host.drained.wait()
        assert insn.kind == "done", insn.kind
        tb.scoreboard.check_accesses(insn, res, f"conflicts {k}")
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
    cpv = await measure(tb, vector_fields(op=VecOp.EXP2, shift=SOFTMAX_EXP2_SHIFT,
                                          sat=SatMode.UINT8, dst_type=ElemType.UINT8, **common),
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
        tb.scoreboard.check_accesses(insn, res, f"back-to-back {k}")
        if k:
            assert insn.t_accept == insns[k - 1].t_end + 1, "not taken the cycle after done"
    tb.mem = mem
    await tb.check_all("after back-to-back")


# ---- pytest launcher -----------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_npu_vector_engine(config):
    run_cocotb(TOPLEVEL, test_module=__name__, config=config, extra_sources=[WRAPPER])

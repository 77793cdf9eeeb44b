"""cocotb tests of the matrix engine (rtl/engines/npu_matmul_engine.sv) on a real scratchpad.

The environment, scoreboard and stimulus are in tb/blocks/matmul_engine/ (env.py: agents on the
wrapper tb/sv/npu_matmul_engine_tb.sv, one clock cycle per step(); scoreboard.py: per-MATMUL
checks against tb/golden/matmul_engine_model.py; sequences.py: placement and random
instructions). Stimulus comes from seeded_rng() (seeded from cocotb's seed, logged).
"""

from __future__ import annotations

import os
import time

import cocotb
import pytest

from hwdef import load_config
from hwdef.regs import ErrorCode
from tb.agents.spad_port import spad_read, spad_write
from tb.blocks.matmul_engine.env import INFLIGHT_ENV, TB_SOURCES, TOPLEVEL, WIDE_ENV
from tb.blocks.matmul_engine.env import MatmulEngineEnv as TB
from tb.blocks.matmul_engine.scoreboard import PORT_A, PORT_B, PORT_C
from tb.blocks.matmul_engine.sequences import layout_ok, meets, random_insn, reading_insn
from tb.harness.cocotb_utils import seeded_rng
from tb.harness.sim import run_cocotb

# NPU_MM_REPEAT=n runs n times the random rounds of the random and back-to-back tests (a soak
# of the engine's two-in-flight paths: rare placements need many rounds to come up).
REPEAT = int(os.environ.get("NPU_MM_REPEAT", "1"))
if REPEAT < 1:
    raise ValueError(f"NPU_MM_REPEAT={REPEAT}: at least 1 (0 would run no random round)")


async def setup(dut, name: str):
    tb = TB(dut)
    rng = seeded_rng(dut, name)
    await tb.reset()
    await tb.preload(rng)
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
        assert layout_ok(tb, f), f
        _, log = await tb.run(f, what=f"shape {idx}")
        tb.log.info("shape %d: %s -> %d cycles", idx, f, log.t_end - log.t_accept)


@cocotb.test()
async def test_random(dut):
    """Random instructions (shapes, placement incl. shared banks, pitches, transpose, signedness,
    emit, accumulate onto known rows, release flags on unlocked regions) while the host port
    reads random lines in the background to create bank conflicts."""
    tb, rng = await setup(dut, "random")
    count = (40 if tb.dim <= 4 else 14) * REPEAT
    bad0 = tb.counter("bad_release")
    expected_bad = 0
    for idx in range(count):
        f = random_insn(tb, rng, releases=True)
        # Background host reads of lines the instruction does not write.
        _, _, dst = tb.model.operand_lines(f)
        bg = [line for line in rng.integers(0, tb.lines, size=3 * f["rows"]).tolist()
              if line not in dst]
        bg_txns = [tb.host.submit(spad_read(line)) for line in bg]
        res, log = await tb.run(f, what=f"random {idx}", check_image=False)
        await tb.host.wait_idle()
        for txn in bg_txns:
            exp = tb.mirror_line(txn.addr)
            assert txn.rdata == exp, f"background read of line {txn.addr} wrong"
        await tb.check_image(tb.mirror, f"random {idx}")
        # Every release read hit a region whose count was 0: the scratchpad reports them.
        expected_bad += len(res.release_a) + len(res.release_b)
        tb.log.info("random %d: %s -> %d cycles, %d stall", idx, f, log.t_end - log.t_accept,
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
        assert layout_ok(tb, f), f
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
        # operand aliasing (docs/isa.md): info dst_addr; ranges first
        ("issue 11", dict(a_addr=0xB1, a_pitch=3, rows=4, n_tiles=2, dst_addr=0xAE,
                          dst_pitch=3, b_addr=0x10), ErrorCode.OPERAND_OVERLAP),
        ("C over A", dict(dst_addr=1), ErrorCode.OPERAND_OVERLAP),
        ("C over B", dict(dst_addr=tb.bank_lines - 1), ErrorCode.OPERAND_OVERLAP),
        ("C rows between A rows", dict(a_pitch=2, dst_addr=1, dst_pitch=2),
         ErrorCode.OPERAND_OVERLAP),
        ("C past the end over A", dict(a_addr=lines - 2, dst_addr=lines - 1),
         ErrorCode.SPAD_RANGE),
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
        ("C right after A", dict(dst_addr=2)),
        ("C right before B", dict(dst_addr=tb.bank_lines - 2)),
        ("C over A without emit", dict(dst_addr=0, emit=0)),
    ]
    for name, change in fine:
        f = dict(ok, **change)
        assert layout_ok(tb, f), (name, f)
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
        """A host write to `line` is held for `cycles` cycles; then one strict-mode cycle
        drops the probe (acknowledged, reported, memory and count unchanged). The host port is
        one in-order queue, so the releasing read must come from it too, and a request may not
        be withdrawn before its grant (docs/scratchpad.md; SpadReqHeld_A fires)."""
        waits0 = tb.counter("ow_wait")
        viol0 = tb.counter("ow_violations")
        txn = tb.host.submit(spad_write(line, 0x5A, 1))
        await tb.idle(cycles)
        assert txn.t_grant is None, f"host write to line {line} was not held"
        assert tb.host.cur[0] is txn
        tb.strict = 1
        await tb.host.wait_idle()
        tb.strict = 0
        await tb.idle(1)
        assert txn.t_grant is not None and tb.host.cur[0] is None
        assert tb.counter("ow_violations") - viol0 == 1, "the probe was not dropped as a violation"
        assert tb.counter("ow_wait") - waits0 >= cycles - 2

    async def host_write_goes(line: int) -> None:
        waits0 = tb.counter("ow_wait")
        txn = tb.host.submit(spad_write(line, 0x5A, 1))
        await tb.host.wait_idle()
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
                tb.host.submit(spad_read(region * rl, last_use=True))
                await tb.host.wait_idle()
            await host_write_goes(region * rl + 1)
        await tb.check_image(tb.mirror, f"after lock {readers}")

    # release_a / release_b on operands the host locked with one pending reader each.
    bad0 = tb.counter("bad_release")
    a_lines, b_lines, _ = tb.model.operand_lines(f)
    regions = sorted({x // rl for x in a_lines | b_lines})
    for region in regions:
        tb.host.submit(spad_write(region * rl, 0, 0, readers=1))
    await tb.host.wait_idle()
    g = dict(f, release_a=1, release_b=1)
    res, _ = await tb.run(g, what="release")
    assert sorted(res.release_a | res.release_b) == regions
    assert tb.counter("bad_release") == bad0, "a release hit a region that was not awaited"
    waits0 = tb.counter("ow_wait")
    for region in regions:   # released: host writes go through at once
        tb.host.submit(spad_write(region * rl, 0, 0))
    await tb.host.wait_idle()
    assert tb.counter("ow_wait") == waits0, "an operand region is still awaited"

    # Without release_a the A region stays awaited.
    a_region = f["a_addr"] // rl
    tb.host.submit(spad_write(a_region * rl, 0, 0, readers=1))
    await tb.host.wait_idle()
    res, _ = await tb.run(dict(f, release_b=0), what="no release")
    await host_write_waits(a_region * rl, 10)
    tb.host.submit(spad_read(a_region * rl, last_use=True))
    await tb.host.wait_idle()
    await host_write_goes(a_region * rl)

    # The destination's first region awaits a reader: the engine's C writes are held, it
    # stalls and cannot finish until the host releases the region.
    region = f["dst_addr"] // rl
    tb.host.submit(spad_write(region * rl, 0, 0, readers=1))
    await tb.host.wait_idle()
    hold = 300
    res, log = await tb.run(f, what="held C writes", expect_hang=hold)
    assert log.stall_cycles > hold // 2, f"stall_o only {log.stall_cycles} of {hold} cycles"
    assert not any(a.port == PORT_C for a in log.accesses), "a C write passed the lock"
    tb.host.submit(spad_read(region * rl, last_use=True))
    await tb.finish_run(res, log, tb.model.fields(f), "held C writes", True)

    # Strict mode: the same writes are dropped as violations; the engine still completes.
    tb.host.submit(spad_write(region * rl, 0, 0, readers=1))
    await tb.host.wait_idle()
    tb.strict = 1
    viol0 = tb.counter("ow_violations")
    f2 = tb.model.fields(f)
    res = tb.model.execute(f2, tb.mirror)
    log = tb.engine.offer("MATMUL", f2)
    while not log.finished.is_set():
        await tb.step()
        assert tb.cycle < 10**7
    assert log.kind == "done", f"strict mode: err {log.code}/{log.info}"
    await tb.idle(3)
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
    assert layout_ok(tb, g), g
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
        assert layout_ok(tb, f), f
        # The destination may span banks 2 and 3; B (bank 1) and A (bank 0) never collide.
        assert (rows - 1) * a_w < bl and (max(kt, nt) * d - 1) * b_w < bl
        res, log = await tb.run(f, what=f"throughput T={transpose}")
        a_reads = [a.cycle for a in log.accesses if a.port == PORT_A and not a.last_use]
        total = log.t_end - log.t_accept
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
    total = log.t_end - log.t_accept
    tb.log.info("short tiles (%s): rows=Dim=%d, %d tiles: %d A rows in %d cycles = %.3f "
                "cycles/row", tb.cfg.name, d, kt * nt, d * kt * nt, total,
                total / (d * kt * nt))


# ------------------------------------------------------------------------------------------
# Several in flight (hwdef matmul_inflight): streams offered without waiting for completions
# ------------------------------------------------------------------------------------------
def needs_overlap(tb) -> bool:
    """Whether the build holds more than one instruction (the overlap claims need it; the
    results must be the sequential model's with any matmul_inflight)."""
    if tb.engine.max_inflight < 2:
        tb.log.info("matmul_inflight = %d: no overlap to check", tb.engine.max_inflight)
    return tb.engine.max_inflight >= 2


def first_data_read(op, port: int) -> int | None:
    cycles = [a.cycle for a in op.accesses if a.port == port and not a.last_use]
    return min(cycles) if cycles else None


@cocotb.test()
async def test_back_to_back(dut):
    """Independent MATMULs offered back to back (in banks apart): the second is taken before
    the first is done and streams while the first drains, and the pair takes no more cycles
    than the same two run one at a time (both measured here), fewer where the first emits.
    Then random streams with whatever dependencies the placement gives (reads of earlier
    results, overwrites of earlier operands, shared accumulator rows, shared banks), each
    equal to the sequential model."""
    tb, rng = await setup(dut, "back_to_back")
    overlap = needs_overlap(tb)
    # The younger instructions release their operands (on regions nobody locked: each
    # release read is reported once by the scratchpad); a younger one's release reads must
    # wait until the older one retired (scoreboard).
    bad0 = tb.counter("bad_release")
    expected_bad = 0
    pairs = (6 if tb.dim <= 4 else 3) * REPEAT
    for idx in range(pairs):
        # The older one emits in every other pair (its done then waits for its C writes, so
        # the younger's rows stream during the drain), else it retires once its rows are in.
        for _ in range(1000):    # leaves at least half of the banks to the second one
            f1 = random_insn(tb, rng, emit=idx % 2 == 0)
            a1, b1, d1 = tb.model.operand_lines(f1)
            if len({line // tb.bank_lines for line in a1 | b1 | d1}) <= tb.banks // 2:
                break
        else:
            raise RuntimeError(f"pair {idx}: no first instruction within half of the banks")
        # Independent: no shared line, and A's and B's intervals clear of the first's
        # destination interval (else the read-after-write check holds the second back). The
        # cycle claims also need other banks than the first's: two instructions streaming
        # from one bank conflict, which one at a time they do not (the random streams below
        # share banks freely).
        banks = {line // tb.bank_lines for line in a1 | b1 | d1}
        apart = {line for line in range(tb.lines) if line // tb.bank_lines in banks}
        for _ in range(1000):
            f2 = random_insn(tb, rng, forbid=apart, releases=True)
            a2, b2, _ = tb.model.operand_lines(f2)
            if not (meets(a2, d1) or meets(b2, d1)):
                break
        else:
            raise RuntimeError(f"pair {idx}: could not place an independent instruction")
        solo = []
        for k, f in enumerate((f1, f2)):
            res, op = await tb.run(f, what=f"pair {idx}: #{k} alone")
            solo.append(op.t_end - op.t_accept)
            expected_bad += len(res.release_a) + len(res.release_b)
        (_, o1), (res, o2) = await tb.run_many([f1, f2], what=f"pair {idx} back to back")
        expected_bad += len(res.release_a) + len(res.release_b)
        together = o2.t_end - o1.t_accept
        tb.log.info("pair %d: alone %s = %d cycles, back to back %d (#1 taken %d cycles "
                    "before #0 done): %s then %s", idx, solo, sum(solo), together,
                    o1.t_end - o2.t_accept, f1, f2)
        if not overlap:
            continue
        assert o2.t_accept < o1.t_end, f"pair {idx}: #1 taken only after #0 was done"
        # Never slower than one at a time. Strictly faster where the older one emits (the
        # younger one's rows stream during its drain); without emit the older one retires at
        # its last row, and a younger one whose weight loads bound it (rows < 2·Dim) shares
        # the one weight-load path with it, so the gain can be nil.
        assert together <= sum(solo), \
            f"pair {idx}: back to back {together} cycles, one at a time {sum(solo)}"
        if f1["emit"]:
            assert together < sum(solo), \
                f"pair {idx}: back to back {together} cycles, one at a time {sum(solo)}"
            read = first_data_read(o2, PORT_A)
            assert read is not None and read < o1.t_end, \
                f"pair {idx}: #1's first A read at {read}, #0 done at {o1.t_end}"

    # Random streams, dependencies as they come (reads favour earlier destinations).
    streams = (4 if tb.dim <= 4 else 2) * REPEAT
    for idx in range(streams):
        fs: list[dict] = []
        for _ in range(int(rng.integers(3, 6))):
            dsts = set().union(*(tb.model.operand_lines(f)[2] for f in fs)) if fs else set()
            if dsts and rng.random() < 0.5:
                f = reading_insn(tb, rng, dsts, str(rng.choice(["a", "b"])), releases=True)
            else:
                f = random_insn(tb, rng, releases=True)
            fs.append(f)
        runs = await tb.run_many(fs, what=f"stream {idx}")
        expected_bad += sum(len(res.release_a) + len(res.release_b) for res, _ in runs)
        tb.log.info("stream %d: %d instructions in %d cycles", idx, len(fs),
                    runs[-1][1].t_end - runs[0][1].t_accept)
    assert tb.counter("bad_release") - bad0 == expected_bad


@cocotb.test()
async def test_back_to_back_raw(dut):
    """Read after write through the scratchpad: the second MATMUL reads, as A or as B, lines
    the first emits (the engine must wait for them); also the second overwriting the first's
    operands (write after read) and its destination (write after write). Every result equals
    the sequential model; the reads of written lines come after the writes (scoreboard)."""
    tb, rng = await setup(dut, "back_to_back_raw")
    rounds = (3 if tb.dim <= 4 else 2) * REPEAT
    for idx in range(rounds):
        for role in ("a", "b"):
            f1 = random_insn(tb, rng, emit=True)
            _, _, d1 = tb.model.operand_lines(f1)
            f2 = reading_insn(tb, rng, d1, role)
            (_, o1), (_, o2) = await tb.run_many([f1, f2], what=f"RAW {role} {idx}")
            read = first_data_read(o2, PORT_A if role == "a" else PORT_B)
            tb.log.info("RAW %s %d: #1 taken %d, #0 done %d, #1's first %s read %s", role, idx,
                        o2.t_accept, o1.t_end, role.upper(), read)
        # Write after read: the second emits onto the first's A or B lines.
        f1 = random_insn(tb, rng)
        a1, b1, _ = tb.model.operand_lines(f1)
        for _ in range(1000):
            f2 = tb.model.fields(random_insn(tb, rng, emit=True))
            target = sorted(a1 | b1)[int(rng.integers(len(a1 | b1)))]
            f2["dst_addr"] = target
            if layout_ok(tb, f2) and tb.model.operand_lines(f2)[2] & (a1 | b1):
                break
        else:
            raise RuntimeError("could not place a write after read")
        await tb.run_many([f1, f2], what=f"WAR {idx}")
        # Write after write: both emit onto the same first line (the second's rows win).
        f1 = random_insn(tb, rng, emit=True)
        for _ in range(1000):
            f2 = tb.model.fields(random_insn(tb, rng, emit=True))
            f2["dst_addr"] = f1["dst_addr"]
            if layout_ok(tb, f2):
                break
        else:
            raise RuntimeError("could not place a write after write")
        await tb.run_many([f1, f2], what=f"WAW {idx}")


def _illegal_variants(tb, f: dict) -> list[tuple[str, dict]]:
    """Ways to break a legal instruction, one check each (which error, and its info, is the
    golden model's to say)."""
    lines, acc = tb.lines, tb.acc_lines
    return [
        ("rows=0", dict(f, rows=0)),
        ("n_tiles=0", dict(f, n_tiles=0)),
        ("acc range", dict(f, acc_addr=acc - 1, rows=2)),
        ("A range", dict(f, a_addr=lines - 1, a_pitch=1, rows=max(f["rows"], 2))),
        ("B range", dict(f, b_addr=lines - 1)),
        ("dst range", dict(f, emit=1, dst_addr=lines - 1, dst_pitch=1,
                           rows=max(f["rows"], 2))),
        ("C over A", dict(f, emit=1, dst_addr=f["a_addr"], dst_pitch=max(f["dst_pitch"], 1))),
    ]


@cocotb.test()
async def test_back_to_back_error(dut):
    """An illegal MATMUL taken while a legal one runs: the legal one completes (done_o), and
    only then the illegal one's err_o, with the model's code and info; it touches nothing. A
    legal instruction after it runs normally (the check slot is free again)."""
    tb, rng = await setup(dut, "back_to_back_error")
    overlap = needs_overlap(tb)
    d = tb.dim
    for idx, (name, _) in enumerate(_illegal_variants(tb, random_insn(tb, rng))):
        # A long first instruction, so the error waits for it.
        f1 = random_insn(tb, rng, fixed=dict(rows=int(rng.integers(2 * d, 3 * d + 1)),
                                             k_tiles=2, n_tiles=2), emit=idx % 2 == 0)
        bad = dict(_illegal_variants(tb, tb.model.fields(random_insn(tb, rng))))[name]
        err = tb.model.check(bad)
        assert err[0], f"{name}: the model accepts {bad}"
        f3 = random_insn(tb, rng)
        runs = await tb.run_many([f1, bad, f3], what=f"error {name}")
        (_, o1), (res2, o2), (_, o3) = runs
        tb.log.info("error %s: code %d info %d; #1 taken %d, #0 done %d, #1 err %d", name,
                    res2.error, res2.info, o2.t_accept, o1.t_end, o2.t_end)
        if overlap:
            assert o2.t_accept < o1.t_end, f"error {name}: taken only after #0 was done"


@cocotb.test()
async def test_back_to_back_accumulate(dut):
    """Accumulate chains across instructions in flight together: the first writes accumulator
    rows without emitting (it retires once its rows are in the matrix unit, before their sums
    are), the next ones add onto them (the whole range, or one output tile of it) and the last
    emits; the emitted rows equal the sequential model's."""
    tb, rng = await setup(dut, "back_to_back_accumulate")
    overlap = needs_overlap(tb)
    rounds = (3 if tb.dim <= 4 else 2) * REPEAT
    for idx in range(rounds):
        f1 = random_insn(tb, rng, emit=False, max_n=3, fixed=dict(accumulate=0))
        chain = dict(rows=f1["rows"], n_tiles=f1["n_tiles"], acc_addr=f1["acc_addr"],
                     accumulate=1)
        f2 = random_insn(tb, rng, emit=True, fixed=chain)
        (_, o1), _ = await tb.run_many([f1, f2], what=f"chain of two {idx}")
        # Three: partial sums twice without emit, then emit.
        f1 = random_insn(tb, rng, emit=False, max_n=3)
        chain = dict(rows=f1["rows"], n_tiles=f1["n_tiles"], acc_addr=f1["acc_addr"],
                     accumulate=1)
        f2 = random_insn(tb, rng, emit=False, fixed=chain)
        f3 = random_insn(tb, rng, emit=True, fixed=chain)
        runs = await tb.run_many([f1, f2, f3], what=f"chain of three {idx}")
        if overlap:
            assert runs[1][1].t_accept < runs[0][1].t_end, f"chain {idx}: no overlap"
        # One output tile of a wider first instruction: a sub-range of its rows.
        f1 = random_insn(tb, rng, emit=False, fixed=dict(n_tiles=2, accumulate=0))
        tile = int(rng.integers(2))
        sub = dict(rows=f1["rows"], n_tiles=1, acc_addr=f1["acc_addr"] + tile * f1["rows"],
                   accumulate=1)
        f2 = random_insn(tb, rng, emit=True, fixed=sub)
        await tb.run_many([f1, f2], what=f"tile {tile} of {idx}")


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


@pytest.mark.sim
def test_matmul_engine_one_in_flight():
    """`tiny` with the one-at-a-time engine (hwdef matmul_inflight = 1, the engine's Inflight
    = 1): every result is still the sequential model's, completions and releases keep their
    order; the overlap claims, which need two in flight, are not made."""
    start = time.monotonic()
    run_cocotb(TOPLEVEL, test_module=__name__, config="tiny", extra_params={"Inflight": 1},
               extra_env={INFLIGHT_ENV: "1"}, extra_sources=TB_SOURCES)
    print(f"npu_matmul_engine tiny, Inflight=1: {time.monotonic() - start:.1f} s")

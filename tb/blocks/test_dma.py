"""cocotb tests of the DRAM side: npu_dma_load, npu_dma_store and npu_axi_master (docs/dma.md).

Environment (agents on tb/sv/npu_dma_tb.sv, DRAM back door, shadows, per-instruction checks
against tb/golden/dma_model.py) in tb/blocks/dma/env.py; instruction fields and random blocks in
tb/blocks/dma/sequences.py. Stimulus comes from seeded_rng() (seeded from cocotb's seed,
logged; rerun with SEED=...).
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, Event, ReadOnly, RisingEdge, with_timeout

from hwdef.regs import ErrorCode
from npu_model.semantics import ceil_div, row_bursts
from tb.blocks.dma.env import CLOCK_NS, TB_SOURCES, TOPLEVEL, setup
from tb.blocks.dma.env import DmaEnv as TB
from tb.blocks.dma.sequences import (
    DST_BASE,
    DST_SPAN,
    SRC_BASE,
    SRC_SPAN,
    load_fields,
    random_load,
    rint,
    store_fields,
    store_of,
)
from tb.golden.dma_model import dma_load
from tb.harness.cocotb_utils import hold_until_ready, seeded_rng
from tb.harness.sim import run_cocotb


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------
@cocotb.test()
async def test_backdoor(dut):
    """The DRAM model's back door: what is loaded is dumped back, words stay in place."""
    tb = TB(dut)
    rng = seeded_rng(dut, "backdoor")
    await tb.start(1)
    await tb.fill_dram(rng, SRC_BASE, 4096)
    await tb.fill_dram(rng, DST_BASE + 64, 128)
    await tb.check_dram(SRC_BASE - 256, SRC_BASE + 4096 + 256, "back door")
    await tb.check_dram(DST_BASE, DST_BASE + 256, "back door")


@cocotb.test()
async def test_roundtrip_corners(dut):
    """Hand-picked shapes: 1-byte rows at the last byte of a beat, a row inside one beat with an
    offset (flush of prev), a row ending exactly on a beat, rows crossing 4 KiB, stride 0,
    overlapping DRAM rows, pitch 0 with zero pad rows last, and one row of more than 256 beats
    spanning the whole scratchpad."""
    tb, rng = await setup(dut, "roundtrip_corners")
    lb, lines = tb.lb, tb.lines
    s = SRC_BASE
    cases = [
        ("1-byte rows at offset LB-1", load_fields(
            dram_addr=s + lb - 1, dram_stride=lb, rows=3, row_bytes=1, spad_addr=5,
            spad_pitch=1)),
        ("row inside one beat, padded", load_fields(
            dram_addr=s + 3, dram_stride=7, rows=2, row_bytes=lb // 2, spad_addr=9,
            spad_pitch=3, pad_bytes=lb + 5, pad_rows=3)),
        ("offset + row_bytes = 2 beats", load_fields(
            dram_addr=s + 5, dram_stride=2 * lb + 3, rows=3, row_bytes=2 * lb - 5,
            spad_addr=20, spad_pitch=2)),
        ("aligned whole lines", load_fields(
            dram_addr=s + 4 * lb, dram_stride=3 * lb, rows=4, row_bytes=2 * lb,
            spad_addr=30, spad_pitch=2, pad_bytes=3 * lb - 1, pad_rows=5)),
        ("rows crossing 4 KiB", load_fields(
            dram_addr=s + 3 * 4096 - 37, dram_stride=4096, rows=3, row_bytes=3 * lb + 11,
            spad_addr=40, spad_pitch=4, pad_bytes=4 * lb)),
        ("stride 0", load_fields(
            dram_addr=s + 77, dram_stride=0, rows=4, row_bytes=lb + 9, spad_addr=60,
            spad_pitch=2)),
        ("overlapping DRAM rows", load_fields(
            dram_addr=s + 1001, dram_stride=5, rows=6, row_bytes=3 * lb, spad_addr=70,
            spad_pitch=3)),
        ("pitch 0, zero rows last", load_fields(
            dram_addr=s + 13, dram_stride=lb, rows=2, row_bytes=lb + 3, spad_addr=90,
            spad_pitch=0, pad_rows=4, pad_bytes=2 * lb)),
        ("pitch < lines per row", load_fields(
            dram_addr=s + 29, dram_stride=4 * lb, rows=3, row_bytes=3 * lb + 1,
            spad_addr=100, spad_pitch=2, pad_bytes=4 * lb, pad_rows=4)),
        # lines * LB - 1 bytes at offset 7: more than 256 beats in tiny (257), many 4 KiB
        # pages in both configurations, the whole scratchpad.
        ("one row over the whole scratchpad", load_fields(
            dram_addr=s + 4096 - 2 * lb + 7, dram_stride=0, rows=1,
            row_bytes=min(lines * lb - 1, 0xFFFF), spad_addr=0, spad_pitch=0)),
    ]
    for what, lf in cases:
        assert tb.load_lines(lf)[1] <= lines, what
        big = lf["row_bytes"] > 1000
        sf = None
        if what.startswith("one row"):
            # Store it back whole at a different offset.
            sf = store_fields(dram_addr=DST_BASE + 4096 - 3, dram_stride=0, rows=1,
                              row_bytes=lf["row_bytes"], spad_addr=0)
            bursts = row_bursts(lf["dram_addr"], lf["row_bytes"], lb)
            assert len(bursts) >= 2 and (lb > 16 or sum(n for _, n in bursts) > 256)
        await tb.roundtrip(rng, lf, what, sf)
        if big:
            await tb.fill_spad(rng, 0, lines)
    tb.log.info("corner cases: %d", len(cases))


@cocotb.test()
async def test_roundtrip_random(dut):
    """Random ragged blocks (alignments, strides, pitches, padding) through DRAM -> scratchpad
    -> DRAM, with a little DRAM latency."""
    tb, rng = await setup(dut, "roundtrip_random")
    lb = tb.lb
    n = 300 if lb <= 16 else 150
    for i in range(n):
        if i % 10 == 0:   # a new DRAM timing every 10 blocks
            lat_min = rint(rng, 0, 8)
            tb.set_dram(lat_min, lat_min + rint(rng, 0, 30),
                        int(rng.choice([0, 0, lb, rint(rng, lb // 2, lb)])))
        lf = random_load(tb, rng, 0, tb.lines, max_row_bytes=8 * lb)
        await tb.roundtrip(rng, lf, f"random {i}")
    c = await tb.snap()
    tb.log.info("random round trips: %d, %d bytes read, %d written, load stall %d/%d cycles",
                n, c["npu_rd_bytes_o"], c["npu_wr_bytes_o"], c["load_stall_cycles_o"],
                c["load_busy_cycles_o"])


@cocotb.test()
async def test_latency_bandwidth(dut):
    """Loads and stores running concurrently under several DRAM latency ranges and bandwidths;
    several read bursts must be in flight, never more than MaxBursts of the load."""
    tb, rng = await setup(dut, "latency_bandwidth")
    lb, half = tb.lb, tb.lines // 2
    settings = [(0, 0, 0), (1, 5, 0), (10, 40, 0), (0, 0, lb // 2), (3, 20, lb // 4),
                (30, 30, 0), (0, 8, 3), (50, 120, lb), (0, 0, 1)]
    for _ in range(12):
        lat_min = rint(rng, 0, 60)
        settings.append((lat_min, lat_min + rint(rng, 0, 60),
                         int(rng.choice([0, lb, rint(rng, 1, lb)]))))
    # A block to store in the upper half of the scratchpad, written by a first load.
    for lat_min, lat_max, bpc in settings:
        tb.set_dram(lat_min, lat_max, bpc)
        small = bpc and bpc < lb // 2
        max_rb = 2 * lb if small else 6 * lb
        lf_b = random_load(tb, rng, half, tb.lines, max_row_bytes=max_rb,
                           max_rows=4 if small else 8)
        await tb.load(lf_b, "prefill")
        lf_a = random_load(tb, rng, 0, half, max_row_bytes=max_rb, max_rows=4 if small else 8)
        sf = store_of(tb, rng, lf_b)
        c0 = await tb.snap()
        what = f"lat {lat_min}..{lat_max} bpc {bpc}"
        t_load = cocotb.start_soon(tb.load(lf_a, what + " load"))
        t_store = cocotb.start_soon(tb.store(sf, what + " store"))
        exp_l = await t_load
        exp_s = await t_store
        c1 = await tb.snap()
        assert c1["npu_rd_bytes_o"] - c0["npu_rd_bytes_o"] == exp_l.bus_bytes, what
        assert c1["npu_wr_bytes_o"] - c0["npu_wr_bytes_o"] == exp_s.bus_bytes, what
        lo, hi = tb.load_lines(lf_a)
        await tb.check_spad(lo - 1, hi + 1, what)
        d_lo, d_hi = tb.dram_extent(sf)
        await tb.check_dram(d_lo - lb, d_hi + lb, what)
        # A long store: the scratchpad reads run ahead of slow W beats until the line FIFO is
        # full (its credit must count the read in flight).
        sf = store_fields(dram_addr=DST_BASE + 0x8000 + rint(rng, 0, 4 * lb), rows=2,
                          dram_stride=10 * lb, row_bytes=8 * lb + rint(rng, 1, lb),
                          spad_addr=half, spad_pitch=9)
        await tb.store(sf, what + " long store")
        d_lo, d_hi = tb.dram_extent(sf)
        await tb.check_dram(d_lo - lb, d_hi + lb, what + " long store")
        await tb.check_clean()
    # Several bursts in flight (the DRAM queue held more than one) but never more than the
    # load's limit (no other read client ran in this test).
    queued = dut.dram_max_rd_queued_o.value.to_unsigned()
    assert 2 <= queued <= tb.max_bursts, f"max read bursts queued {queued}"


@cocotb.test()
async def test_throughput(dut):
    """With a DRAM that answers at once at full bandwidth, both engines move one beat per
    cycle: long rows, unaligned multi-row blocks and padded rows take their event count plus a
    small fixed latency."""
    tb, rng = await setup(dut, "throughput")
    lb = tb.lb
    n = min(64, tb.lines // 4)
    cases = [   # (what, load fields, events the write side needs)
        ("aligned long row", load_fields(dram_addr=SRC_BASE, rows=1, row_bytes=n * lb,
                                         spad_addr=0), n),
        # offset 5, 4 lines of data in 5 beats per row, rows back to back
        ("unaligned rows", load_fields(dram_addr=SRC_BASE + 5, dram_stride=4 * lb + 7, rows=8,
                                       row_bytes=4 * lb, spad_addr=n, spad_pitch=4), 8 * 5),
        # 2 data lines + 1 pad line per row, 2 pad rows
        ("padded rows", load_fields(dram_addr=SRC_BASE + 4096, dram_stride=2 * lb, rows=6,
                                    row_bytes=2 * lb, spad_addr=2 * n, spad_pitch=3,
                                    pad_bytes=3 * lb, pad_rows=8), 8 * 3),
    ]
    for what, lf, events in cases:
        c0 = await tb.snap()
        await tb.load(lf, what)
        c1 = await tb.snap()
        busy = c1["load_busy_cycles_o"] - c0["load_busy_cycles_o"]
        tb.log.info("load %s: %d write events in %d busy cycles", what, events, busy)
        assert busy <= events + 12, f"load {what}: {busy} cycles for {events} events"
        sf = store_fields(dram_addr=DST_BASE + 3, dram_stride=lf["row_bytes"] + 9,
                          rows=lf["rows"], row_bytes=lf["row_bytes"],
                          spad_addr=lf["spad_addr"], spad_pitch=lf["spad_pitch"])
        beats = sum(n for _, n in sum((row_bursts(sf["dram_addr"] + r * sf["dram_stride"],
                                                  sf["row_bytes"], lb)
                                       for r in range(sf["rows"])), []))
        await tb.store(sf, what + " store")
        c2 = await tb.snap()
        busy = c2["store_busy_cycles_o"] - c1["store_busy_cycles_o"]
        tb.log.info("store %s: %d beats in %d busy cycles", what, beats, busy)
        assert busy <= beats + 12, f"store {what}: {busy} cycles for {beats} beats"
        await tb.check_dram(DST_BASE, DST_BASE + sf["rows"] * sf["dram_stride"] + lb, what)
    await tb.check_clean()


@cocotb.test()
async def test_shared_bandwidth(dut):
    """The DRAM model's bandwidth is one budget for reads and writes (half-duplex): a load of n
    beats alone takes n beats' worth of it; a load and a store of n beats each, running
    together, both take about twice that, their beats alternating. Exact on average also for
    a rate that does not divide the beat (3 B/cycle), the credit going into debt."""
    tb, rng = await setup(dut, "shared_bandwidth")
    lb = tb.lb
    n = min(32, tb.lines // 4)
    await tb.fill_dram(rng, SRC_BASE, 2 * n * lb)
    for bpc in (lb // 4, 3):
        tb.set_dram(0, 0, bpc)
        per = lb / bpc                                  # cycles per beat
        first = load_fields(dram_addr=SRC_BASE, rows=1, row_bytes=n * lb, spad_addr=0)
        c0 = await tb.snap()
        await tb.load(first, f"bpc {bpc} alone")
        c1 = await tb.snap()
        alone = c1["load_busy_cycles_o"] - c0["load_busy_cycles_o"]
        assert abs(alone - n * per) <= per + 12, f"bpc {bpc}: load alone {alone} cycles"
        second = load_fields(dram_addr=SRC_BASE + n * lb, rows=1, row_bytes=n * lb,
                             spad_addr=n)
        sf = store_fields(dram_addr=DST_BASE, rows=1, row_bytes=n * lb, spad_addr=0)
        t_load = cocotb.start_soon(tb.load(second, f"bpc {bpc} load with a store"))
        t_store = cocotb.start_soon(tb.store(sf, f"bpc {bpc} store with a load"))
        await t_load
        await t_store
        c2 = await tb.snap()
        both = (c2["load_busy_cycles_o"] - c1["load_busy_cycles_o"],
                c2["store_busy_cycles_o"] - c1["store_busy_cycles_o"])
        tb.log.info("bpc %d: %d beats alone in %d cycles; with a store of %d beats: load %d, "
                    "store %d cycles", bpc, n, alone, n, *both)
        assert all(1.8 * n * per <= b <= 2 * n * per + 2 * per + 20 for b in both), \
            f"bpc {bpc}: load and store together took {both} cycles ({n} beats each)"
        await tb.check_spad(0, 2 * n + 1, f"bpc {bpc}")
        await tb.check_dram(DST_BASE - lb, DST_BASE + (n + 1) * lb, f"bpc {bpc}")
    await tb.check_clean()


@cocotb.test()
async def test_errors(dut):
    """Every operand error is reported with its code and value before any access; SLVERR gives
    AXI_ERROR without hanging, writes nothing where the burst failed, and the engines work
    again afterwards."""
    tb, rng = await setup(dut, "errors")
    lb, lines = tb.lb, tb.lines
    good_l = load_fields(dram_addr=SRC_BASE + 3, dram_stride=100, rows=3, row_bytes=70,
                         spad_addr=4, spad_pitch=ceil_div(80, lb), pad_bytes=80, pad_rows=4)
    good_s = store_fields(dram_addr=DST_BASE + 5, dram_stride=90, rows=3, row_bytes=70,
                          spad_addr=4, spad_pitch=ceil_div(80, lb))
    loads = [
        ("rows 0", dict(good_l, rows=0)),
        ("row_bytes 0", dict(good_l, row_bytes=0)),
        ("pad_rows < rows", dict(good_l, pad_rows=2)),
        ("pad_bytes < row_bytes", dict(good_l, pad_bytes=69)),
        ("last line beyond", dict(good_l, spad_addr=lines - 1, spad_pitch=0, rows=1,
                                  pad_rows=1, pad_bytes=lb + 1)),
        ("pitch beyond", dict(good_l, spad_addr=0, spad_pitch=lines // 2, pad_rows=3)),
        ("spad_addr beyond", dict(good_l, spad_addr=lines, pad_rows=3)),
        ("huge pitch", dict(good_l, spad_pitch=0xFFF, pad_rows=0x1FFF)),
    ]
    stores = [
        ("rows 0", dict(good_s, rows=0)),
        ("row_bytes 0", dict(good_s, row_bytes=0)),
        ("last line beyond", dict(good_s, spad_addr=lines - 1, spad_pitch=0, rows=1,
                                  row_bytes=lb + 1)),
        ("pitch beyond", dict(good_s, spad_addr=2, spad_pitch=lines // 2)),
    ]
    # DRAM-range cases: (what, field changes given the block's extent, window base, size).
    dram_cases = [
        ("below window", lambda e: dict(dram_addr=SRC_BASE - 1), SRC_BASE, 0x10_0000),
        ("beyond window", lambda e: dict(dram_addr=SRC_BASE + 0x10_0000 - e + 9), SRC_BASE,
         0x10_0000),
        ("window size 0", lambda e: dict(dram_addr=SRC_BASE), SRC_BASE, 0),
        ("last byte just beyond", lambda e: dict(dram_addr=SRC_BASE + 0x1000 - e + 1),
         SRC_BASE, 0x1000),
        ("beyond 4 GiB", lambda e: dict(dram_addr=0xFFFF_FF00, dram_stride=0x100), 0xFFFF_0000,
         0xFFFF_FFFF),
        ("huge stride", lambda e: dict(dram_stride=0xFF_FFFF), 0, tb.mem_bytes),
    ]
    for what, changes, base, size in dram_cases:
        for cases, good in ((loads, good_l), (stores, good_s)):
            extent = (good["rows"] - 1) * good["dram_stride"] + good["row_bytes"]
            cases.append((what, dict(good, **changes(extent)), base, size))
    # The exact boundary is still inside the window.
    edge_l = dict(good_l, dram_addr=SRC_BASE + 0x1000 - 270)
    edge_s = dict(good_s, dram_addr=SRC_BASE + 0x1000 - 250)

    async def expect_no_access(eng: str, what: str, f: dict, base=0, size=None):
        size = tb.mem_bytes if size is None else size
        tb.set_window(base, size)
        c0 = await tb.snap()
        if eng == "load":
            exp = await tb.load(f, "error " + what)
        else:
            exp = await tb.store(f, "error " + what)
        assert exp.error not in (ErrorCode.NONE, ErrorCode.AXI_ERROR), (what, exp.error)
        await ClockCycles(dut.clk_i, 5)
        c1 = await tb.snap()
        for name in ("dram_rd_bursts_o", "dram_wr_bursts_o", "stat_reads_o", "stat_writes_o"):
            assert c1[name] == c0[name], f"{eng} {what}: {name} changed"
        tb.set_window(0, tb.mem_bytes)

    for case in loads:
        await expect_no_access("load", *case)
    for case in stores:
        await expect_no_access("store", *case)
    tb.set_window(SRC_BASE, 0x1000)
    assert (await tb.load(edge_l, "window edge load")).error == ErrorCode.NONE
    tb.set_window(DST_BASE + 0x1000 - 250 - 5, 250 + 5)
    edge_s["dram_addr"] = DST_BASE + 0x1000 - 250
    assert (await tb.store(edge_s, "window edge store")).error == ErrorCode.NONE
    tb.set_window(0, tb.mem_bytes)
    await tb.check_spad(0, lines, "after operand errors")
    await tb.check_dram(DST_BASE, DST_BASE + 4096, "after operand errors")

    # ---- SLVERR: the window reaches beyond the DRAM model's memory ---------------------------
    tb.set_window(0, 0xFFFF_FFFF)
    tb.set_dram(2, 10, 0)
    top = tb.mem_bytes
    await tb.fill_dram(rng, top - 0x4000, 0x4000)
    # Entirely beyond: nothing written.
    c0 = await tb.snap()
    f = dict(good_l, dram_addr=top + 1000)
    await tb.load(f, "SLVERR load")
    assert (await tb.snap())["stat_writes_o"] == c0["stat_writes_o"], "SLVERR load wrote"
    f = dict(good_s, dram_addr=top + 100)
    await tb.store(f, "SLVERR store")
    # Partial: rows 0-1 in range, row 2 crosses the end, row 3 beyond.
    stride = 4 * lb + 64
    f = load_fields(dram_addr=top - 2 * stride - 2 * lb + 5, dram_stride=stride, rows=4,
                    row_bytes=4 * lb, spad_addr=lines // 2, spad_pitch=5, pad_bytes=4 * lb + 3)
    before = tb.spad.copy()
    exp = await tb.load(f, "partial SLVERR load")
    assert exp.error == ErrorCode.AXI_ERROR and exp.failed_row == 2
    lo, _ = tb.load_lines(f)
    got = await tb.read_spad(lo, lo + 4 * 5)
    full = before.copy()   # every row applied (bytes beyond the memory read as zeros)
    dma_load(dict(f), tb.cfg, full, np.concatenate([tb.dram, np.zeros(1 << 16, np.uint8)]),
             0, 0xFFFF_FFFF, 1 << 32)
    for i in range(4 * 5):
        line = lo + i
        row, j = divmod(i, 5)
        ok = [before[line]]
        if row < 2:
            ok = [tb.spad[line]]
        elif row == 2:
            ok = [before[line], full[line]]
        assert any((got[i] == o).all() for o in ok), f"partial SLVERR load: line {line}"
    tb.spad[lo:lo + 20] = got   # keep the shadow exact for later checks
    # Rows 3.. lie beyond the memory; slow B responses keep AW at its limit of bursts in
    # flight while W could run ahead: after the error W must stop with the last issued burst.
    tb.set_dram(20, 40, 0)
    f = store_fields(dram_addr=top - 2 * stride - lb + 9, dram_stride=stride, rows=12,
                     row_bytes=3 * lb + 7, spad_addr=0, spad_pitch=4)
    exp = await tb.store(f, "partial SLVERR store")
    assert exp.error == ErrorCode.AXI_ERROR and exp.failed_row == 2
    await tb.check_dram(top - 0x4000, top, "after SLVERR stores")
    await tb.check_clean()

    # ---- the engines still work -------------------------------------------------------------
    tb.set_window(0, tb.mem_bytes)
    await tb.roundtrip(rng, dict(good_l), "after errors", dict(good_s))


@cocotb.test()
async def test_lock_release(dut):
    """lock_readers / release_src: the load locks exactly the regions it wrote, a second load
    into a locked region waits (overwrite control) until a store with release_src has read the
    old data and released it; with lock_readers = 2 two releases are needed."""
    tb, rng = await setup(dut, "lock_release")
    lb, rl = tb.lb, tb.rl
    assert await tb.locked_regions() == set()
    # Block A over regions 2 and 3 (rows of 3 lines, pitch 4: region 2 lines rl*2.., crossing
    # into region 3), locked for one reader.
    a = load_fields(dram_addr=SRC_BASE + 17, dram_stride=3 * lb + 40, rows=(rl + 4) // 4,
                    row_bytes=3 * lb - 6, spad_addr=2 * rl + 1, spad_pitch=4, lock_readers=1,
                    pad_bytes=3 * lb - 2)
    exp_a = await tb.load(a, "lock load")
    assert exp_a.regions == {2, 3}, exp_a.regions
    assert await tb.locked_regions() == exp_a.regions
    c0 = await tb.snap()

    # A second load into region 2 must wait.
    b = load_fields(dram_addr=SRC_BASE + 5000, dram_stride=lb, rows=2, row_bytes=lb,
                    spad_addr=2 * rl + 2, spad_pitch=1)
    spad_a = tb.spad.copy()
    exp_b = dma_load(b, tb.cfg, tb.spad, tb.dram, tb.base, tb.size, tb.mem_bytes)
    await tb.engines["load"].issue("DMA_LOAD", b)
    await ClockCycles(dut.clk_i, 300)
    assert tb.engines["load"].results.empty(), "a load into a locked region did not wait"
    c1 = await tb.snap()
    assert c1["stat_ow_wait_o"] - c0["stat_ow_wait_o"] >= 250
    assert c1["load_stall_cycles_o"] - c0["load_stall_cycles_o"] >= 250
    assert dut.load_busy_o.value == 1
    got = await tb.read_spad(2 * rl, 4 * rl)   # reads are never held: still block A
    assert (got == spad_a[2 * rl:4 * rl]).all(), "a held write changed the scratchpad"

    # The store reads A's old data, then releases both regions; the load then completes.
    s = store_fields(dram_addr=DST_BASE + 123, dram_stride=3 * lb + 1, rows=a["rows"],
                     row_bytes=a["pad_bytes"], spad_addr=a["spad_addr"], spad_pitch=4,
                     release_src=1)
    spad_b = tb.spad.copy()
    tb.spad[:] = spad_a
    exp_s = await tb.store(s, "release store")
    tb.spad[:] = spad_b
    assert exp_s.regions == {2, 3}
    got = await tb.result("load", 2000)
    assert got == (exp_b.error, exp_b.info)
    await tb.check_dram(*tb.dram_extent(s), "release store")
    await tb.check_spad(2 * rl - 1, 4 * rl + 1, "held load after release")
    assert await tb.locked_regions() == set()
    await tb.check_clean()

    # Two readers: one release is not enough.
    a2 = dict(a, lock_readers=2, dram_addr=SRC_BASE + 9000)
    await tb.load(a2, "lock 2")
    assert await tb.locked_regions() == {2, 3}
    s2 = dict(s, dram_addr=DST_BASE + 8000)
    await tb.store(s2, "first release")
    assert await tb.locked_regions() == {2, 3}
    s3 = dict(s, dram_addr=DST_BASE + 16000, row_bytes=lb)
    await tb.store(s3, "second release")
    assert await tb.locked_regions() == set()
    await tb.check_dram(DST_BASE, DST_BASE + 20000, "two releases")
    # A store without release_src and a load without lock leave the counts alone.
    await tb.roundtrip(rng, load_fields(dram_addr=SRC_BASE + 1, rows=2, row_bytes=lb + 1,
                                        dram_stride=lb + 1, spad_addr=2 * rl, spad_pitch=2),
                       "no lock")
    assert await tb.locked_regions() == set()
    await tb.check_clean()


@cocotb.test()
async def test_fetch_interleave(dut):
    """The fetch client (ID 0) and DMA-load (ID 1) read concurrently with bursts of both in
    flight: every fetch beat carries its DRAM data, in order, with RLAST on each burst's last
    beat; the DMA results stay exact; the read byte counter covers both clients."""
    tb, rng = await setup(dut, "fetch_interleave")
    lb = tb.lb
    tb.set_dram(2, 25, 0)
    fetch_area = SRC_BASE + SRC_SPAN // 2      # the DMA loads read the lower half
    bursts = []
    for _ in range(24):
        beats = rint(rng, 1, 8)
        addr = fetch_area + lb * rint(rng, 0, (SRC_SPAN // 2) // lb - 8)
        if addr // 4096 != (addr + beats * lb - 1) // 4096:
            addr -= beats * lb
        bursts.append((addr, beats))
    expected = [(a + i * lb, i == n - 1) for a, n in bursts for i in range(n)]
    received: list[tuple[int, int, int]] = []
    ids: list[int] = []
    done = Event()

    async def fetch_ar():
        for addr, beats in bursts:
            await ClockCycles(dut.clk_i, rint(rng, 0, 6))
            dut.fetch_ar_valid_i.value = 1
            dut.fetch_ar_addr_i.value = addr
            dut.fetch_ar_len_i.value = beats - 1
            await hold_until_ready(dut.clk_i, dut.fetch_ar_valid_i, dut.fetch_ar_ready_o)

    async def fetch_r():
        while len(received) < len(expected):
            await RisingEdge(dut.clk_i)
            dut.fetch_r_ready_i.value = int(rng.random() < 0.7)
            await ReadOnly()
            if dut.rvalid.value == 1 and dut.rready.value == 1:
                ids.append(dut.rid.value.to_unsigned())
            if dut.fetch_r_valid_o.value == 1 and dut.fetch_r_ready_i.value == 1:
                received.append((dut.fetch_r_data_o.value.to_unsigned(),
                                 int(dut.fetch_r_last_o.value),
                                 dut.fetch_r_resp_o.value.to_unsigned()))
        await RisingEdge(dut.clk_i)
        dut.fetch_r_ready_i.value = 1
        done.set()

    c0 = await tb.snap()
    tb.fetching = True
    cocotb.start_soon(fetch_ar())
    cocotb.start_soon(fetch_r())
    load_bytes = 0
    for i in range(6):
        lf = random_load(tb, rng, 0, tb.lines // 2, max_row_bytes=4 * lb,
                            src=(SRC_BASE, SRC_SPAN // 2))
        sf = store_of(tb, rng, random_load(tb, rng, tb.lines // 2, tb.lines, max_row_bytes=2 * lb))
        t_store = cocotb.start_soon(tb.store(sf, f"store {i}", extra_cycles=5000))
        exp = await tb.load(lf, f"load {i} with fetch", extra_cycles=5000)
        await t_store
        load_bytes += exp.bus_bytes
        if i % 2:
            lo, hi = tb.load_lines(lf)
            await tb.check_spad(lo, hi, f"load {i} with fetch")
    await with_timeout(done.wait(), 200000 * CLOCK_NS, "ns")
    tb.fetching = False
    assert len(received) == len(expected)
    for k, ((data, last, resp), (addr, exp_last)) in enumerate(zip(received, expected)):
        exp_data = int.from_bytes(tb.dram[addr:addr + lb].tobytes(), "little")
        assert resp == 0, f"fetch beat {k}: RRESP {resp}"
        assert data == exp_data, f"fetch beat {k} (0x{addr:x}): wrong data"
        assert last == int(exp_last), f"fetch beat {k}: RLAST {last}"
    c1 = await tb.snap()
    assert c1["npu_rd_bytes_o"] - c0["npu_rd_bytes_o"] == load_bytes + len(expected) * lb
    switches = sum(1 for x, y in zip(ids, ids[1:]) if x != y)
    assert set(ids[:len(ids)]) >= {0, 1} and switches >= 4, (set(ids), switches)
    assert dut.dram_max_rd_queued_o.value.to_unsigned() >= 3
    await tb.check_dram(DST_BASE, DST_BASE + DST_SPAN, "stores beside fetch")
    await tb.check_clean()
    tb.log.info("fetch beats %d, R-channel ID switches %d", len(received), switches)


# ------------------------------------------------------------------------------------------
# pytest launcher
# ------------------------------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_dma(config):
    run_cocotb(TOPLEVEL, test_module=__name__, config=config, extra_sources=TB_SOURCES)


"""cocotb bench of the DRAM side: npu_dma_load, npu_dma_store and npu_axi_master (docs/dma.md).

Toplevel: tb/sv/npu_dma_tb.sv (simulation only): both engines on ports 0 (DMA-in writes) and 1
(DMA-out reads) of a 3-port npu_scratchpad, the AXI master, and the AXI slave memory
tb/sv/npu_dram_model.sv (latency range, bandwidth, several outstanding bursts, SLVERR beyond its
size, protocol checks). Scratchpad port 2 belongs to the bench (preload, readback, overwrite
control probes); the AXI master's fetch client (ID 0) is driven by the bench too.

DRAM contents move in and out through the model's back door ($readmemh / $writememh files,
tb/harness/dram.py), so no Python runs per cycle except while the bench drives scratchpad port 2
or the fetch client. The bench keeps a shadow of the whole DRAM and scratchpad; the independent
NumPy model tb/golden/dma_model.py applies every instruction to the shadows and gives the error
(code, info), the regions locked/released and the bus bytes. After every instruction the bench
compares every byte of a window around the destination (so bytes outside it are checked
unchanged), the byte counters (AXI master == DRAM model == golden model), and the wrapper's
stability checker (requests held until accepted) and the DRAM model's protocol checker
(full-width INCR bursts, no 4 KiB crossing, WLAST placement) must both be silent.

Stimulus comes from seeded_rng() (seeded from cocotb's seed, logged; rerun with SEED=...).
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.queue import Queue
from cocotb.triggers import (ClockCycles, Event, FallingEdge, First, ReadOnly, RisingEdge,
                             with_timeout)

from hwdef.isa import encode
from hwdef.regs import ErrorCode
from npu_model.semantics import ceil_div, row_bursts
from tb.golden.dma_model import dma_load, dma_store
from tb.harness.cocotb_utils import built_params, npu_config, start_clock_and_reset
from tb.harness.cocotb_utils import seeded_rng
from tb.harness.dram import DramBackdoor
from tb.harness.sim import run_cocotb
from tools.rtl_sources import REPO

TOPLEVEL = "npu_dma_tb"
TB_SOURCES = [REPO / "tb" / "sv" / "npu_dram_model.sv", REPO / "tb" / "sv" / "npu_dma_tb.sv"]
MEM_BYTES = 16 * 1024 * 1024     # npu_dram_model / npu_dma_tb default MemBytes
READER_BITS = 2
MAX_BURSTS = 4                   # RTL default of both engines
SRC_BASE, SRC_SPAN = 0x0010_0000, 0x2_0000   # DRAM areas the bench fills with random bytes
DST_BASE, DST_SPAN = 0x0020_0000, 0x2_0000
CLOCK_NS = 10

COUNTERS = ("npu_rd_bytes_o", "npu_wr_bytes_o", "dram_rd_bytes_o", "dram_wr_bytes_o",
            "dram_rd_bursts_o", "dram_wr_bursts_o", "dram_protocol_errors_o",
            "protocol_violations_o", "stat_reads_o", "stat_writes_o", "stat_ow_wait_o",
            "stat_ow_violations_o", "stat_bad_release_o", "load_busy_cycles_o",
            "load_stall_cycles_o", "store_busy_cycles_o", "store_stall_cycles_o")


def load_fields(**kw) -> dict:
    f = dict(dram_addr=0, dram_stride=0, rows=1, row_bytes=1, spad_addr=0, spad_pitch=0,
             pad_rows=None, pad_bytes=None, lock_readers=0)
    f.update(kw)
    if f["pad_rows"] is None:
        f["pad_rows"] = f["rows"]
    if f["pad_bytes"] is None:
        f["pad_bytes"] = f["row_bytes"]
    return f


def store_fields(**kw) -> dict:
    f = dict(dram_addr=0, dram_stride=0, rows=1, row_bytes=1, spad_addr=0, spad_pitch=0,
             release_src=0)
    f.update(kw)
    return f


def rint(rng, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (inclusive)."""
    return int(rng.integers(lo, hi + 1))


class TB:
    def __init__(self, dut) -> None:
        self.dut = dut
        cfg = npu_config()
        self.cfg = cfg
        self.lb = cfg.line_bytes
        self.lines = cfg.spad_lines
        self.rl = cfg.spad_region_lines
        self.regions = cfg.spad_regions
        self.log = dut._log

        params = built_params()
        assert params == cfg.sv_params(TOPLEVEL), (params, cfg.sv_params(TOPLEVEL))
        widths = {
            "load_insn_i": 256, "store_insn_i": 256, "load_err_code_o": 8,
            "load_err_info_o": 32, "tb_req_addr_i": cfg.spad_addr_bits,
            "tb_req_wdata_i": cfg.line_bits, "tb_req_wstrb_i": self.lb,
            "tb_req_readers_i": READER_BITS, "tb_rsp_rdata_o": cfg.line_bits,
            "fetch_r_data_o": cfg.line_bits, "fetch_ar_addr_i": 32, "fetch_ar_len_i": 8,
        }
        for name, width in widths.items():
            assert len(getattr(dut, name)) == width, (name, len(getattr(dut, name)), width)

        self.dram = np.zeros(MEM_BYTES, dtype=np.uint8)   # shadow of the DRAM model
        self.spad = np.zeros((self.lines, self.lb), dtype=np.uint8)
        self.base, self.size = 0, MEM_BYTES
        self.backdoor = DramBackdoor(dut, dut.clk_i, self.lb, MEM_BYTES)
        self.results = {"load": Queue(), "store": Queue()}
        self.pending: dict[str, list[int]] = {"load": [], "store": []}
        self.fetching = False   # the fetch client has reads in flight
        self.lat = (0, 0)
        self.bpc = 0

    # ---- set-up ---------------------------------------------------------------------------
    async def start(self, seed: int) -> None:
        dut = self.dut
        inputs = {
            "load_insn_valid_i": 0, "load_insn_i": 0, "store_insn_valid_i": 0,
            "store_insn_i": 0, "dram_base_i": 0, "dram_size_i": 0, "strict_i": 0,
            "tb_req_valid_i": 0, "tb_req_write_i": 0, "tb_req_addr_i": 0,
            "tb_req_wdata_i": 0, "tb_req_wstrb_i": 0, "tb_req_readers_i": 0,
            "tb_req_last_use_i": 0, "stat_clear_i": 0, "fetch_ar_valid_i": 0,
            "fetch_ar_addr_i": 0, "fetch_ar_len_i": 0, "fetch_r_ready_i": 1,
            "dram_lat_min_i": 0, "dram_lat_max_i": 0, "dram_bytes_per_cycle_i": 0,
            "dram_seed_i": seed & 0xFFFFFFFF or 1, "dram_load_req_i": 0,
            "dram_dump_req_i": 0, "dram_dump_first_i": 0, "dram_dump_last_i": 0,
        }
        for name, value in inputs.items():
            getattr(dut, name).value = value
        await start_clock_and_reset(dut)
        self.set_window(0, MEM_BYTES)
        cocotb.start_soon(self._monitor("load"))
        cocotb.start_soon(self._monitor("store"))

    def set_window(self, base: int, size: int) -> None:
        self.base, self.size = base, size
        self.dut.dram_base_i.value = base
        self.dut.dram_size_i.value = size

    def set_dram(self, lat_min: int, lat_max: int, bpc: int) -> None:
        self.lat, self.bpc = (lat_min, lat_max), bpc
        self.dut.dram_lat_min_i.value = lat_min
        self.dut.dram_lat_max_i.value = lat_max
        self.dut.dram_bytes_per_cycle_i.value = bpc

    async def snap(self) -> dict[str, int]:
        """All counters, settled (read at a falling edge; returns in a writable phase)."""
        await FallingEdge(self.dut.clk_i)
        return {n: getattr(self.dut, n).value.to_unsigned() for n in COUNTERS}

    async def check_clean(self) -> None:
        c = await self.snap()
        assert c["protocol_violations_o"] == 0, "a request changed before it was accepted"
        assert c["dram_protocol_errors_o"] == 0, "the DRAM model saw an AXI protocol error"
        assert c["npu_rd_bytes_o"] == c["dram_rd_bytes_o"], c
        assert c["npu_wr_bytes_o"] == c["dram_wr_bytes_o"], c
        assert c["stat_bad_release_o"] == 0, "a release of a region nobody locked"
        assert c["load_stall_cycles_o"] <= c["load_busy_cycles_o"]
        assert c["store_stall_cycles_o"] <= c["store_busy_cycles_o"]

    # ---- DRAM ------------------------------------------------------------------------------
    async def fill_dram(self, rng, addr: int, nbytes: int) -> None:
        data = rng.integers(0, 256, nbytes, dtype=np.uint8)
        self.dram[addr:addr + nbytes] = data
        await self.backdoor.load(addr, data)

    async def check_dram(self, lo: int, hi: int, what: str) -> None:
        """Every byte of [lo, hi) (widened to whole words) equals the shadow."""
        lo = max(0, lo - lo % self.lb)
        hi = min(MEM_BYTES, ceil_div(hi, self.lb) * self.lb)
        got = await self.backdoor.dump(lo, hi - lo)
        exp = self.dram[lo:hi]
        bad = np.flatnonzero(got != exp)
        assert bad.size == 0, (
            f"{what}: DRAM differs at {bad.size} bytes, first 0x{lo + bad[0]:x}: "
            f"got 0x{got[bad[0]]:02x} expected 0x{exp[bad[0]]:02x}")

    # ---- scratchpad port 2 ---------------------------------------------------------------------
    async def spad_port(self, reqs: list[tuple]) -> list[int]:
        """Run (write, addr, data, strb, readers, last_use) requests on port 2 in order, each
        held until granted; return the read data in order."""
        dut = self.dut
        out: list[int] = []
        idx = 0
        expect_rsp = False
        while idx < len(reqs) or expect_rsp:
            await RisingEdge(dut.clk_i)
            if idx < len(reqs):
                write, addr, data, strb, readers, last_use = reqs[idx]
                dut.tb_req_valid_i.value = 1
                dut.tb_req_write_i.value = int(write)
                dut.tb_req_addr_i.value = addr
                dut.tb_req_wdata_i.value = data
                dut.tb_req_wstrb_i.value = strb
                dut.tb_req_readers_i.value = readers
                dut.tb_req_last_use_i.value = int(last_use)
            else:
                dut.tb_req_valid_i.value = 0
            await ReadOnly()
            if expect_rsp:
                assert dut.tb_rsp_valid_o.value == 1, "port 2: read response missing"
                out.append(dut.tb_rsp_rdata_o.value.to_unsigned())
            expect_rsp = False
            if idx < len(reqs) and dut.tb_req_ready_o.value == 1:
                expect_rsp = not reqs[idx][0]
                idx += 1
        await RisingEdge(dut.clk_i)
        dut.tb_req_valid_i.value = 0
        return out

    async def fill_spad(self, rng, lo: int, hi: int) -> None:
        data = rng.integers(0, 256, (hi - lo, self.lb), dtype=np.uint8)
        self.spad[lo:hi] = data
        full = (1 << self.lb) - 1
        await self.spad_port([(True, lo + i, int.from_bytes(data[i].tobytes(), "little"), full,
                               0, False) for i in range(hi - lo)])

    async def read_spad(self, lo: int, hi: int) -> np.ndarray:
        words = await self.spad_port([(False, a, 0, 0, 0, False) for a in range(lo, hi)])
        return np.frombuffer(b"".join(w.to_bytes(self.lb, "little") for w in words),
                             dtype=np.uint8).reshape(hi - lo, self.lb)

    async def check_spad(self, lo: int, hi: int, what: str) -> None:
        lo, hi = max(0, lo), min(self.lines, hi)
        got = await self.read_spad(lo, hi)
        bad = np.argwhere(got != self.spad[lo:hi])
        assert bad.size == 0, (
            f"{what}: scratchpad differs at {len(bad)} bytes, first line {lo + bad[0][0]} "
            f"byte {bad[0][1]}: got 0x{got[tuple(bad[0])]:02x} expected "
            f"0x{self.spad[lo + bad[0][0], bad[0][1]]:02x}")

    async def locked_regions(self) -> set[int]:
        """Regions with a non-zero pending-read count: in strict mode a zero-strobe write to a
        locked region is dropped and counted as a violation (and changes nothing otherwise)."""
        self.dut.strict_i.value = 1
        locked = set()
        for region in range(self.regions):
            before = self.dut.stat_ow_violations_o.value.to_unsigned()
            await self.spad_port([(True, region * self.rl, 0, 0, 0, False)])
            await FallingEdge(self.dut.clk_i)
            if self.dut.stat_ow_violations_o.value.to_unsigned() != before:
                locked.add(region)
        self.dut.strict_i.value = 0
        return locked

    # ---- instructions ------------------------------------------------------------------------
    async def _monitor(self, eng: str) -> None:
        done = getattr(self.dut, f"{eng}_done_o")
        err = getattr(self.dut, f"{eng}_err_o")
        code = getattr(self.dut, f"{eng}_err_code_o")
        info = getattr(self.dut, f"{eng}_err_info_o")
        while True:
            await First(RisingEdge(done), RisingEdge(err))
            await ReadOnly()
            # Completion means every burst is finished on the bus: the DRAM model holds no
            # write burst of the store (B accepted); a load's reads are all answered unless
            # the bench's fetch client is reading too.
            pending = getattr(self.dut, "dram_wr_pending_o" if eng == "store"
                              else "dram_rd_pending_o").value.to_unsigned()
            self.pending[eng].append(pending)
            if done.value == 1:
                self.results[eng].put_nowait((ErrorCode.NONE, 0))
            if err.value == 1:
                self.results[eng].put_nowait((ErrorCode(code.value.to_unsigned()),
                                              info.value.to_unsigned()))

    async def issue(self, eng: str, word: int) -> None:
        dut = self.dut
        valid = getattr(dut, f"{eng}_insn_valid_i")
        ready = getattr(dut, f"{eng}_insn_ready_o")
        await RisingEdge(dut.clk_i)
        getattr(dut, f"{eng}_insn_i").value = word
        valid.value = 1
        while True:
            await ReadOnly()
            if ready.value == 1:
                break
            await RisingEdge(dut.clk_i)
        await RisingEdge(dut.clk_i)
        valid.value = 0

    def timeout_cycles(self, bursts: list[tuple[int, int]], lines: int) -> int:
        beats = sum(n for _, n in bursts)
        per_beat = ceil_div(self.lb, self.bpc) if self.bpc else 1
        return 4000 + 4 * (beats * per_beat + lines) + (self.lat[1] + 8) * (len(bursts) + 1)

    async def result(self, eng: str, cycles: int):
        got = await with_timeout(self.results[eng].get(), cycles * CLOCK_NS, "ns")
        await FallingEdge(self.dut.clk_i)   # leave the ReadOnly phase of the done cycle
        pending = self.pending[eng][-1]
        assert pending == 0 or (eng == "load" and self.fetching), \
            f"{eng} completed with {pending} bursts still pending in DRAM"
        return got

    async def load(self, f: dict, what: str = "load", extra_cycles: int = 0):
        """Run one DMA_LOAD, check its result against the model (which updates the shadow)."""
        assert self.results["load"].empty(), "unexpected load completion"
        exp = dma_load(f, self.cfg, self.spad, self.dram, self.base, self.size, MEM_BYTES)
        await self.issue("load", encode("DMA_LOAD", **f))
        cycles = self.timeout_cycles(exp.bursts, f["pad_rows"] * ceil_div(f["pad_bytes"] or 1,
                                                                          self.lb))
        got = await self.result("load", cycles + extra_cycles)
        assert got == (exp.error, exp.info), f"{what}: {f}: got {got}, expected " \
                                             f"{(exp.error, exp.info)}"
        return exp

    async def store(self, f: dict, what: str = "store", extra_cycles: int = 0):
        assert self.results["store"].empty(), "unexpected store completion"
        exp = dma_store(f, self.cfg, self.spad, self.dram, self.base, self.size, MEM_BYTES)
        await self.issue("store", encode("DMA_STORE", **f))
        cycles = self.timeout_cycles(exp.bursts, f["rows"] * ceil_div(f["row_bytes"] or 1,
                                                                      self.lb))
        got = await self.result("store", cycles + extra_cycles)
        assert got == (exp.error, exp.info), f"{what}: {f}: got {got}, expected " \
                                             f"{(exp.error, exp.info)}"
        return exp

    # ---- stimulus ------------------------------------------------------------------------------
    def random_load(self, rng, spad_lo: int, spad_hi: int, max_row_bytes: int | None = None,
                    max_rows: int = 8, src=(SRC_BASE, SRC_SPAN)) -> dict:
        """A random ragged 2-D block inside scratchpad lines [spad_lo, spad_hi)."""
        lb = self.lb
        max_row_bytes = max_row_bytes or 6 * lb
        for _ in range(1000):
            row_bytes = int(rng.choice([rint(rng, 1, lb), rint(rng, 1, max_row_bytes),
                                        lb * rint(rng, 1, max(1, max_row_bytes // lb)),
                                        rint(rng, 1, max_row_bytes)]))
            pad_bytes = row_bytes + int(rng.choice([0, 0, rint(rng, 1, 2 * lb)]))
            rows = rint(rng, 1, max_rows)
            pad_rows = rows + int(rng.choice([0, 0, rint(rng, 1, 3)]))
            nlines = ceil_div(pad_bytes, lb)
            pitch = int(rng.choice([nlines, nlines, nlines + rint(rng, 1, 2),
                                    rint(rng, 0, nlines)]))
            span = (pad_rows - 1) * pitch + nlines
            if span > spad_hi - spad_lo:
                continue
            stride = int(rng.choice([row_bytes, row_bytes + rint(rng, 1, 3 * lb),
                                     rint(rng, 0, row_bytes), rint(rng, 0, 5000)]))
            extent = (rows - 1) * stride + row_bytes
            if extent > src[1]:
                continue
            return load_fields(dram_addr=src[0] + rint(rng, 0, src[1] - extent),
                               dram_stride=stride, rows=rows, row_bytes=row_bytes,
                               spad_addr=rint(rng, spad_lo, spad_hi - span), spad_pitch=pitch,
                               pad_rows=pad_rows, pad_bytes=pad_bytes)
        raise AssertionError("no random block fits")

    def store_of(self, rng, lf: dict, dst=(DST_BASE, DST_SPAN)) -> dict:
        """A random store of (part of) the block a load wrote."""
        rows = int(rng.choice([lf["pad_rows"], rint(rng, 1, lf["pad_rows"])]))
        row_bytes = int(rng.choice([lf["pad_bytes"], rint(rng, 1, lf["pad_bytes"])]))
        for _ in range(1000):
            stride = int(rng.choice([row_bytes, row_bytes + rint(rng, 1, 2 * self.lb),
                                     rint(rng, 0, row_bytes)]))
            extent = (rows - 1) * stride + row_bytes
            if extent <= dst[1]:
                return store_fields(dram_addr=dst[0] + rint(rng, 0, dst[1] - extent),
                                    dram_stride=stride, rows=rows, row_bytes=row_bytes,
                                    spad_addr=lf["spad_addr"], spad_pitch=lf["spad_pitch"])
        raise AssertionError("no store fits")

    def load_lines(self, f: dict) -> tuple[int, int]:
        return f["spad_addr"], (f["spad_addr"] + (f["pad_rows"] - 1) * f["spad_pitch"]
                                + ceil_div(f["pad_bytes"], self.lb))

    @staticmethod
    def dram_extent(f: dict) -> tuple[int, int]:
        return f["dram_addr"], f["dram_addr"] + (f["rows"] - 1) * f["dram_stride"] + f["row_bytes"]

    async def roundtrip(self, rng, lf: dict, what: str, sf: dict | None = None) -> None:
        """Load a block, check the scratchpad, store it elsewhere, check DRAM and counters."""
        c0 = await self.snap()
        exp = await self.load(lf, what)
        c1 = await self.snap()
        assert c1["npu_rd_bytes_o"] - c0["npu_rd_bytes_o"] == exp.bus_bytes, (what, lf)
        assert c1["dram_rd_bursts_o"] - c0["dram_rd_bursts_o"] == len(exp.bursts), (what, lf)
        lo, hi = self.load_lines(lf)
        await self.check_spad(lo - 2, hi + 2, what)
        sf = sf or self.store_of(rng, lf)
        exp_s = await self.store(sf, what + " store")
        c2 = await self.snap()
        assert c2["npu_wr_bytes_o"] - c1["npu_wr_bytes_o"] == exp_s.bus_bytes, (what, sf)
        assert c2["dram_wr_bursts_o"] - c1["dram_wr_bursts_o"] == len(exp_s.bursts), (what, sf)
        d_lo, d_hi = self.dram_extent(sf)
        await self.check_dram(d_lo - 2 * self.lb, d_hi + 2 * self.lb, what)
        await self.check_clean()


async def setup(dut, name: str):
    tb = TB(dut)
    rng = seeded_rng(dut, name)
    await tb.start(int(rng.integers(1, 1 << 32)))
    await tb.fill_dram(rng, SRC_BASE, SRC_SPAN)
    await tb.fill_dram(rng, DST_BASE, DST_SPAN)
    await tb.fill_spad(rng, 0, tb.lines)
    return tb, rng


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
        lf = tb.random_load(rng, 0, tb.lines, max_row_bytes=8 * lb)
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
        lf_b = tb.random_load(rng, half, tb.lines, max_row_bytes=max_rb, max_rows=4 if small else 8)
        await tb.load(lf_b, "prefill")
        lf_a = tb.random_load(rng, 0, half, max_row_bytes=max_rb, max_rows=4 if small else 8)
        sf = tb.store_of(rng, lf_b)
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
    assert 2 <= queued <= MAX_BURSTS, f"max read bursts queued {queued}"


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
        ("huge stride", lambda e: dict(dram_stride=0xFF_FFFF), 0, MEM_BYTES),
    ]
    for what, changes, base, size in dram_cases:
        for cases, good in ((loads, good_l), (stores, good_s)):
            extent = (good["rows"] - 1) * good["dram_stride"] + good["row_bytes"]
            cases.append((what, dict(good, **changes(extent)), base, size))
    # The exact boundary is still inside the window.
    edge_l = dict(good_l, dram_addr=SRC_BASE + 0x1000 - 270)
    edge_s = dict(good_s, dram_addr=SRC_BASE + 0x1000 - 250)

    async def expect_no_access(eng: str, what: str, f: dict, base=0, size=MEM_BYTES):
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
        tb.set_window(0, MEM_BYTES)

    for case in loads:
        await expect_no_access("load", *case)
    for case in stores:
        await expect_no_access("store", *case)
    tb.set_window(SRC_BASE, 0x1000)
    assert (await tb.load(edge_l, "window edge load")).error == ErrorCode.NONE
    tb.set_window(DST_BASE + 0x1000 - 250 - 5, 250 + 5)
    edge_s["dram_addr"] = DST_BASE + 0x1000 - 250
    assert (await tb.store(edge_s, "window edge store")).error == ErrorCode.NONE
    tb.set_window(0, MEM_BYTES)
    await tb.check_spad(0, lines, "after operand errors")
    await tb.check_dram(DST_BASE, DST_BASE + 4096, "after operand errors")

    # ---- SLVERR: the window reaches beyond the DRAM model's memory ---------------------------
    tb.set_window(0, 0xFFFF_FFFF)
    tb.set_dram(2, 10, 0)
    top = MEM_BYTES
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
    tb.set_window(0, MEM_BYTES)
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
    exp_b = dma_load(b, tb.cfg, tb.spad, tb.dram, tb.base, tb.size, MEM_BYTES)
    await tb.issue("load", encode("DMA_LOAD", **b))
    await ClockCycles(dut.clk_i, 300)
    assert tb.results["load"].empty(), "a load into a locked region did not wait"
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
            while True:
                await ReadOnly()
                if dut.fetch_ar_ready_o.value == 1:
                    break
                await RisingEdge(dut.clk_i)
            await RisingEdge(dut.clk_i)
            dut.fetch_ar_valid_i.value = 0

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
        lf = tb.random_load(rng, 0, tb.lines // 2, max_row_bytes=4 * lb,
                            src=(SRC_BASE, SRC_SPAN // 2))
        sf = tb.store_of(rng, tb.random_load(rng, tb.lines // 2, tb.lines, max_row_bytes=2 * lb))
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

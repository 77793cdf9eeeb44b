"""Environment of the DMA bench (tests: tb/blocks/test_dma.py): npu_dma_load, npu_dma_store
and npu_axi_master (docs/dma.md).

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

import functools

import numpy as np
from cocotb.triggers import FallingEdge

from npu_model import semantics as sem
from npu_model.semantics import ceil_div
from tb.agents.engine_port import EngineHostPort
from tb.agents.env import BlockEnv
from tb.agents.spad_port import SpadPortDriver, spad_write
from tb.blocks.dma.sequences import DST_BASE, DST_SPAN, SRC_BASE, SRC_SPAN, store_of
from tb.golden.dma_model import dma_load, dma_store
from tb.harness.cocotb_utils import check_build, seeded_rng, start_clock_and_reset
from tb.harness.dram import DramBackdoor
from tools.rtl_sources import REPO

TOPLEVEL = "npu_dma_tb"
TB_SOURCES = [REPO / "tb" / "sv" / "npu_dram_model.sv", REPO / "tb" / "sv" / "npu_dma_tb.sv"]
CLOCK_NS = 10

COUNTERS = ("npu_rd_bytes_o", "npu_wr_bytes_o", "dram_rd_bytes_o", "dram_wr_bytes_o",
            "dram_rd_bursts_o", "dram_wr_bursts_o", "dram_protocol_errors_o",
            "protocol_violations_o", "stat_reads_o", "stat_writes_o", "stat_ow_wait_o",
            "stat_ow_violations_o", "stat_bad_release_o", "load_busy_cycles_o",
            "load_stall_cycles_o", "store_busy_cycles_o", "store_stall_cycles_o")


class DmaEnv(BlockEnv):
    def __init__(self, dut) -> None:
        super().__init__(dut)
        cfg = self.cfg
        self.rl = self.region_lines
        self.mem_bytes = cfg.dram_bytes          # the DRAM model's size (hwdef, MemBytes)
        self.max_bursts = cfg.dma_max_bursts     # read bursts in flight per engine

        check_build(dut, TOPLEVEL, {
            "load_insn_i": 256, "store_insn_i": 256, "load_err_code_o": 8,
            "load_err_info_o": 32, "tb_req_addr_i": cfg.spad_addr_bits,
            "tb_req_wdata_i": cfg.line_bits, "tb_req_wstrb_i": self.lb,
            "tb_req_readers_i": cfg.spad_reader_bits, "tb_rsp_rdata_o": cfg.line_bits,
            "fetch_r_data_o": cfg.line_bits, "fetch_ar_addr_i": 32, "fetch_ar_len_i": 8,
        })

        self.dram = np.zeros(self.mem_bytes, dtype=np.uint8)   # shadow of the DRAM model
        self.spad = np.zeros((self.lines, self.lb), dtype=np.uint8)
        self.base, self.size = 0, self.mem_bytes
        self.backdoor = DramBackdoor(dut, dut.clk_i, self.lb, self.mem_bytes)
        self.engines = {"load": EngineHostPort(dut, "load_"),
                        "store": EngineHostPort(dut, "store_")}
        self.spad_port = SpadPortDriver(dut, "tb_")   # scratchpad port 2, driven when needed
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
            "dram_dump_req_i": 0, "dram_clear_req_i": 0, "dram_dump_first_i": 0,
            "dram_dump_last_i": 0,
        }
        for name, value in inputs.items():
            getattr(dut, name).value = value
        await start_clock_and_reset(dut)
        self.set_window(0, self.mem_bytes)
        for eng, port in self.engines.items():
            port.watch(functools.partial(self._completed, eng))

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
        hi = min(self.mem_bytes, ceil_div(hi, self.lb) * self.lb)
        got = await self.backdoor.dump(lo, hi - lo)
        exp = self.dram[lo:hi]
        bad = np.flatnonzero(got != exp)
        assert bad.size == 0, (
            f"{what}: DRAM differs at {bad.size} bytes, first 0x{lo + bad[0]:x}: "
            f"got 0x{got[bad[0]]:02x} expected 0x{exp[bad[0]]:02x}")

    # ---- scratchpad port 2 ---------------------------------------------------------------------
    async def fill_spad(self, rng, lo: int, hi: int) -> None:
        data = rng.integers(0, 256, (hi - lo, self.lb), dtype=np.uint8)
        self.spad[lo:hi] = data
        await self.spad_port.write_lines(lo, data)

    async def read_spad(self, lo: int, hi: int) -> np.ndarray:
        return await self.spad_port.read_lines(range(lo, hi))

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
            await self.spad_port.transact([spad_write(region * self.rl, 0, 0)])
            await FallingEdge(self.dut.clk_i)
            if self.dut.stat_ow_violations_o.value.to_unsigned() != before:
                locked.add(region)
        self.dut.strict_i.value = 0
        return locked

    # ---- instructions ------------------------------------------------------------------------
    def _completed(self, eng: str) -> None:
        """At a completion (ReadOnly): every burst is finished on the bus: the DRAM model
        holds no write burst of the store (B accepted); a load's reads are all answered unless
        the bench's fetch client is reading too."""
        pending = getattr(self.dut, "dram_wr_pending_o" if eng == "store"
                          else "dram_rd_pending_o").value.to_unsigned()
        self.pending[eng].append(pending)

    def timeout_cycles(self, bursts: list[tuple[int, int]], lines: int) -> int:
        beats = sum(n for _, n in bursts)
        per_beat = ceil_div(self.lb, self.bpc) if self.bpc else 1
        return 4000 + 4 * (beats * per_beat + lines) + (self.lat[1] + 8) * (len(bursts) + 1)

    async def result(self, eng: str, cycles: int):
        got = await self.engines[eng].result(cycles)
        await FallingEdge(self.dut.clk_i)   # leave the ReadOnly phase of the done cycle
        pending = self.pending[eng][-1]
        assert pending == 0 or (eng == "load" and self.fetching), \
            f"{eng} completed with {pending} bursts still pending in DRAM"
        return got

    async def _run(self, eng: str, f: dict, what: str, extra_cycles: int, rows: int,
                   row_bytes: int):
        """Run one instruction, check its result against the model (which updates the
        shadows)."""
        mnemonic, model = {"load": ("DMA_LOAD", dma_load), "store": ("DMA_STORE", dma_store)}[eng]
        assert self.engines[eng].results.empty(), f"unexpected {eng} completion"
        exp = model(f, self.cfg, self.spad, self.dram, self.base, self.size, self.mem_bytes)
        await self.engines[eng].issue(mnemonic, f)
        cycles = self.timeout_cycles(exp.bursts, rows * ceil_div(row_bytes or 1, self.lb))
        got = await self.result(eng, cycles + extra_cycles)
        assert got == (exp.error, exp.info), f"{what}: {f}: got {got}, expected " \
                                             f"{(exp.error, exp.info)}"
        return exp

    async def load(self, f: dict, what: str = "load", extra_cycles: int = 0):
        return await self._run("load", f, what, extra_cycles, f["pad_rows"], f["pad_bytes"])

    async def store(self, f: dict, what: str = "store", extra_cycles: int = 0):
        return await self._run("store", f, what, extra_cycles, f["rows"], f["row_bytes"])

    # ---- stimulus ------------------------------------------------------------------------------
    def load_lines(self, f: dict) -> tuple[int, int]:
        """First and one past the last scratchpad line a DMA_LOAD writes."""
        span = sem.access(self.cfg, "DMA_LOAD", f).write
        return span.addr, span.last + 1

    def dram_extent(self, f: dict) -> tuple[int, int]:
        """First and one past the last DRAM byte of a DMA_LOAD / DMA_STORE."""
        acc = sem.access(self.cfg, "DMA_STORE" if "release_src" in f else "DMA_LOAD", f)
        rows = acc.dram_write or acc.dram_read
        return rows.addr, rows.end

    async def roundtrip(self, rng, lf: dict, what: str, sf: dict | None = None) -> None:
        """Load a block, check the scratchpad, store it elsewhere, check DRAM and counters."""
        c0 = await self.snap()
        exp = await self.load(lf, what)
        c1 = await self.snap()
        assert c1["npu_rd_bytes_o"] - c0["npu_rd_bytes_o"] == exp.bus_bytes, (what, lf)
        assert c1["dram_rd_bursts_o"] - c0["dram_rd_bursts_o"] == len(exp.bursts), (what, lf)
        lo, hi = self.load_lines(lf)
        await self.check_spad(lo - 2, hi + 2, what)
        sf = sf or store_of(self, rng, lf)
        exp_s = await self.store(sf, what + " store")
        c2 = await self.snap()
        assert c2["npu_wr_bytes_o"] - c1["npu_wr_bytes_o"] == exp_s.bus_bytes, (what, sf)
        assert c2["dram_wr_bursts_o"] - c1["dram_wr_bursts_o"] == len(exp_s.bursts), (what, sf)
        d_lo, d_hi = self.dram_extent(sf)
        await self.check_dram(d_lo - 2 * self.lb, d_hi + 2 * self.lb, what)
        await self.check_clean()


async def setup(dut, name: str):
    tb = DmaEnv(dut)
    rng = seeded_rng(dut, name)
    await tb.start(int(rng.integers(1, 1 << 32)))
    await tb.fill_dram(rng, SRC_BASE, SRC_SPAN)
    await tb.fill_dram(rng, DST_BASE, DST_SPAN)
    await tb.fill_spad(rng, 0, tb.lines)
    return tb, rng

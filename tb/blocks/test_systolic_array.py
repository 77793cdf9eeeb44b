"""Small cocotb bench of npu_systolic_array: latency, skew/de-skew, per-row buffer select,
transposed weight writes and the global advance enable.

The bench mirrors the array as a fixed pipeline of 2*Dim advance steps: a row entered on an
advancing edge must appear on out_c_o exactly 2*Dim advancing edges later, equal to
a @ W[sel] with the weights the row was issued with. A buffer is only rewritten while no row
still inside the PE grid uses it (the owner's rule), and the bench keeps issuing rows on the
other buffer meanwhile.
"""

from __future__ import annotations

from collections import deque

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from tb.harness.cocotb_utils import (
    CLOCK_PERIOD_NS,
    built_params,
    npu_config,
    pack,
    seeded_rng,
    unpack,
)
from tb.harness.sim import run_cocotb

TOPLEVEL = "npu_systolic_array"


def rand_vals(rng, shape, signed):
    lo, hi = (-128, 127) if signed else (0, 255)
    vals = rng.integers(lo, hi + 1, size=shape)
    ends = np.array([lo, hi, 0])
    pick = rng.random(size=shape) < 0.2
    vals[pick] = rng.choice(ends, size=int(pick.sum()))
    return vals.astype(np.int64)


@cocotb.test()
async def test_array_stream(dut):
    cfg = npu_config()
    dim = cfg.array_dim
    assert built_params() == cfg.sv_params(TOPLEVEL)
    assert len(dut.in_a_i) == dim * 8 and len(dut.out_c_o) == dim * 32
    latency = 2 * dim
    rng = seeded_rng(dut, "test_array_stream")
    cocotb.start_soon(Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start())
    for sig in (dut.advance_i, dut.in_a_i, dut.in_signed_i, dut.in_sel_i, dut.w_we_i,
                dut.w_buf_i, dut.w_transpose_i, dut.w_idx_i, dut.w_data_i):
        sig.value = 0
    await ClockCycles(dut.clk_i, 2)

    weights = [np.zeros((dim, dim), dtype=np.int64), np.zeros((dim, dim), dtype=np.int64)]
    loaded = [False, False]
    loading = None  # [buffer, next row, transpose, tile]
    pipe = deque([None] * latency)  # entry s-1: the row at stage s (expected C or None)
    driven = None  # (advance, row entry) driven for the coming edge
    checked = 0
    cycles = 1500 if dim <= 4 else 700
    for cycle in range(cycles):
        await RisingEdge(dut.clk_i)
        if driven is not None and driven[0]:
            pipe.appendleft(driven[1])
            pipe.pop()
        # Weight writes: start a load into a buffer no row in the grid uses (stages 1..L-1).
        in_grid = {e[1] for e in list(pipe)[:latency - 1] if e is not None}
        if loading is None:
            for b in (0, 1):
                if (not loaded[b] or rng.random() < 0.05) and b not in in_grid:
                    loading = [b, 0, bool(rng.integers(2)), rand_vals(rng, (dim, dim), True)]
                    loaded[b] = False
                    break
        if loading is not None and rng.random() < 0.8:
            b, r, tr, tile = loading
            dut.w_we_i.value = 1
            dut.w_buf_i.value = b
            dut.w_transpose_i.value = int(tr)
            dut.w_idx_i.value = r
            dut.w_data_i.value = pack(tile[r], 8)
            if tr:
                weights[b][:, r] = tile[r]
            else:
                weights[b][r, :] = tile[r]
            loading[1] += 1
            if loading[1] == dim:
                loaded[b] = True
                loading = None
        else:
            dut.w_we_i.value = 0
        # Input row on a loaded buffer that is not being rewritten.
        usable = [b for b in (0, 1) if loaded[b]]
        advance = rng.random() < 0.75
        entry = None
        if usable and rng.random() < 0.8:
            sel = int(rng.choice(usable))
            signed = bool(rng.integers(2))
            a = rand_vals(rng, dim, signed)
            dut.in_a_i.value = pack(a, 8)
            dut.in_signed_i.value = int(signed)
            dut.in_sel_i.value = sel
            entry = (tuple(int(v) for v in a @ weights[sel]), sel)
        else:
            dut.in_a_i.value = int(rng.integers(1 << 30)) & ((1 << (8 * dim)) - 1)
        dut.advance_i.value = int(advance)
        driven = (advance, entry)
        await ReadOnly()
        out = pipe[latency - 1]
        if out is not None:
            got = tuple(int(v) for v in unpack(dut.out_c_o.value.to_unsigned(), dim, 32))
            assert got == out[0], f"cycle {cycle}: got {got}, want {out[0]}"
            checked += 1
    dut._log.info("checked %d output rows in %d cycles", checked, cycles)
    assert checked > cycles // 3


@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_systolic_array(config):
    run_cocotb(TOPLEVEL, test_module=__name__, config=config)

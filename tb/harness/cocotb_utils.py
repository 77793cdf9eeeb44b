"""Helpers used inside cocotb tests (they run in the simulator's embedded Python)."""

from __future__ import annotations

import json
import os
import zlib

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hwdef import HwConfig, load_config

CLOCK_PERIOD_NS = 10


def npu_config() -> HwConfig:
    """The hardware configuration this simulation was built for (set by tb.harness.sim)."""
    return load_config(os.environ.get("NPU_CONFIG", "default"))


def built_params() -> dict[str, int]:
    """The exact Verilator parameter overrides of this build."""
    return json.loads(os.environ.get("NPU_PARAMS", "{}"))


def check_build(dut, toplevel: str, widths: dict[str, int],
                expected: dict[str, int] | None = None) -> dict[str, int]:
    """The build's parameter overrides are the configuration's for *toplevel* (or *expected*)
    and each named signal has its width; returns the parameters."""
    params = built_params()
    expected = npu_config().sv_params(toplevel) if expected is None else expected
    assert params == expected, (params, expected)
    for name, width in widths.items():
        assert len(getattr(dut, name)) == width, (name, len(getattr(dut, name)), width)
    return params


async def hold_until_ready(clk, valid, ready) -> None:
    """*valid* was just raised after a rising edge: keep it until a cycle in which *ready* is
    high (sampled in ReadOnly), then lower it after that edge."""
    while True:
        await ReadOnly()
        if ready.value == 1:
            break
        await RisingEdge(clk)
    await RisingEdge(clk)
    valid.value = 0


def seeded_rng(dut, name: str) -> np.random.Generator:
    """A NumPy generator derived from cocotb's random seed and the test name.

    cocotb prints its seed at start-up; rerun with SEED=<seed> to reproduce a failure."""
    seed = (int(cocotb.RANDOM_SEED) ^ zlib.crc32(name.encode())) & 0xFFFFFFFF
    dut._log.info("test %s: numpy seed %d (cocotb RANDOM_SEED=%d)", name, seed,
                  cocotb.RANDOM_SEED)
    return np.random.default_rng(seed)


async def start_clock_and_reset(dut, clk: str = "clk_i", rst_n: str = "rst_ni",
                                cycles: int = 3) -> None:
    cocotb.start_soon(Clock(getattr(dut, clk), CLOCK_PERIOD_NS, unit="ns").start())
    getattr(dut, rst_n).value = 0
    await ClockCycles(getattr(dut, clk), cycles)
    getattr(dut, rst_n).value = 1
    await RisingEdge(getattr(dut, clk))


def pack(values, bits: int) -> int:
    """Pack a sequence of integers (element 0 in the least significant bits) into one int."""
    mask = (1 << bits) - 1
    word = 0
    for index, value in enumerate(values):
        word |= (int(value) & mask) << (index * bits)
    return word


def unpack(word: int, count: int, bits: int, signed: bool = True) -> np.ndarray:
    """Inverse of `pack`: split an integer into *count* fields of *bits* bits."""
    mask = (1 << bits) - 1
    out = np.empty(count, dtype=np.int64)
    for index in range(count):
        field = (int(word) >> (index * bits)) & mask
        if signed and field >> (bits - 1):
            field -= 1 << bits
        out[index] = field
    return out

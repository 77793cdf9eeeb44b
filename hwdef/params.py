"""NPU hardware parameters and numerics constants, defined once.

Two kinds of facts live here:

* Per-configuration sizes (array dimension, vector lanes, scratchpad geometry...), read from
  ``configs.toml`` and validated. `HwConfig` derives every dependent width and capacity.
* Configuration-independent constants of the numerics contract (docs/numerics.md): data and
  accumulator widths, the fixed-point formats of exp2 and reciprocal, the exp2 segment table,
  and the vector ALU's operation encoding.

The SystemVerilog package ``rtl/pkg/npu_pkg.sv`` is generated from this module by
``hwdef.gen_sv``; the test benches pass `HwConfig.sv_params` to Verilator as parameter
overrides. Nothing in rtl/ or tb/ restates these numbers by hand.
"""

from __future__ import annotations

import enum
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

CONFIG_FILE = Path(__file__).with_name("configs.toml")

# ---------------------------------------------------------------------------------------------
# Numerics contract (configuration independent). See docs/numerics.md for the meaning of each.
# ---------------------------------------------------------------------------------------------
DATA_BITS = 8  # Q, K, V, P and O elements
ACC_BITS = 32  # S, accumulators, every vector lane
EXP2_FRAC_BITS = 10  # exp2 argument: signed int32 with this many fractional bits
EXP2_SEGMENT_BITS = 4  # 2**4 = 16 linear pieces approximate 2**f on f in [0, 1)
EXP2_OUT_FRAC_BITS = 15  # exp2 result before the op's extra shift: 1.0 == 2**15
RECIP_FRAC_BITS = 30  # reciprocal result: round(2**30 / x)
SHIFT_BITS = 6  # width of the rounding right-shift amount of MULSHR / EXP2 (0..63)
# Softmax step 5: P = sat_u8(EXP2(t) with this shift), so exp2(0) = 2**(15 - 7) = 256 saturates
# to 255 and every weight is an 8-bit fraction of the row maximum's.
SOFTMAX_EXP2_SHIFT = 7

# AXI4 protocol limits the DMA engines split their bursts at (docs/dma.md).
AXI_MAX_BURST_BEATS = 256
AXI_BOUNDARY_BYTES = 4096  # a burst never crosses a 4 KiB boundary
# The widest AXI4 data bus. A beat carries one scratchpad line (vector_lanes x 32 bits), so it
# bounds the lanes at 32; npu_axi_master refuses wider lines at elaboration (a drift test).
AXI_MAX_DATA_BITS = 1024

# The NPU clock the DRAM bandwidth (bytes per cycle) and the energy figures are stated at.
CLOCK_HZ = 1_000_000_000

# DRAM models a run can use (HwConfig.dram_model): the configuration's DRAM, or the model
# without a bandwidth limit (a beat per cycle in each direction) for comparison.
DRAM_MODES = ("config", "unlimited")


class VecOp(enum.IntEnum):
    """Operations of the vector ALU array (4-bit encoding, shared with the RTL)."""

    COPY = 0  # y = a
    ADD = 1  # y = sat32(a + b)
    SUB = 2  # y = sat32(a - b)
    MAX = 3  # y = max(a, b)
    MULSHR = 4  # y = sat32(round_half_up(a * b / 2**shift))
    EXP2 = 5  # y = round(2**(a / 2**EXP2_FRAC_BITS) * 2**(EXP2_OUT_FRAC_BITS - shift)), a <= 0
    RECIP = 6  # y = round_half_up(2**RECIP_FRAC_BITS / a), a > 0
    RMAX = 7  # row reduction: max over the enabled lanes of every vector of a row
    RSUM = 8  # row reduction: saturating sum over the enabled lanes of every vector of a row

    @property
    def is_reduction(self) -> bool:
        return self in (VecOp.RMAX, VecOp.RSUM)


VEC_OP_BITS = 4


class SatMode(enum.IntEnum):
    """Saturating narrowing applied to every vector result (2-bit encoding)."""

    NONE = 0  # keep the int32 result
    INT8 = 1  # clamp to [-128, 127]
    UINT8 = 2  # clamp to [0, 255]


SAT_MODE_BITS = 2


class VecFlag(enum.IntEnum):
    """Bit positions of the per-vector status flags the vector ALU array reports."""

    OVERFLOW = 0  # an int32 result saturated (ADD, SUB, MULSHR, RSUM)
    EXP2_DOMAIN = 1  # EXP2 saw a positive argument (treated as 0)
    RECIP_DOMAIN = 2  # RECIP saw a non-positive argument (result is INT32_MAX)
    NARROWED = 3  # the int8/uint8 narrowing clamped a value (informational)


VEC_FLAG_BITS = 4


def exp2_segment_table() -> tuple[list[int], list[int]]:
    """Knots of the piecewise-linear 2**f, f in [0, 1): (base[i], slope[i]) for i < 16.

    base[i] = round(2**15 * 2**(i/16)); slope[i] = base[i+1] - base[i], with base[16] = 2**16.
    This is the definition in docs/numerics.md; the golden model re-derives it on its own.
    """
    segments = 1 << EXP2_SEGMENT_BITS
    one = 1 << EXP2_OUT_FRAC_BITS
    knots = [round(one * 2.0 ** (i / segments)) for i in range(segments)] + [2 * one]
    base = knots[:segments]
    slope = [knots[i + 1] - knots[i] for i in range(segments)]
    return base, slope


class ConfigError(ValueError):
    """A hardware configuration is inconsistent or unknown."""


def _is_pow2(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def _clog2(value: int) -> int:
    return max(1, math.ceil(math.log2(value)))


@dataclass(frozen=True)
class HwConfig:
    """One named hardware configuration with its derived widths and capacities."""

    name: str
    description: str
    array_dim: int
    vector_lanes: int
    spad_banks: int
    spad_bank_lines: int
    spad_region_lines: int
    spad_ports: int
    acc_lines: int
    # Microarchitecture constants (configs.toml documents each one).
    queue_depth: int
    matmul_inflight: int
    dma_max_bursts: int
    dma_store_fifo_depth: int
    spad_reader_bits: int
    axi_id_bits: int
    axi_id_fetch: int
    axi_id_load: int
    axi_id_store: int
    fetch_burst_beats: int
    fetch_max_bursts: int
    dram_bytes: int
    dram_bytes_per_cycle: int
    dram_latency: int
    dram_unlimited_latency: int
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems = []
        for name in ("array_dim", "vector_lanes", "spad_banks", "spad_bank_lines",
                     "spad_region_lines", "acc_lines"):
            if not _is_pow2(getattr(self, name)):
                problems.append(f"{name}={getattr(self, name)} must be a power of two")
        if self.array_dim < 2:
            problems.append("array_dim must be at least 2")
        if self.vector_lanes < self.array_dim or self.vector_lanes % self.array_dim:
            problems.append(
                f"vector_lanes={self.vector_lanes} must be a multiple of array_dim="
                f"{self.array_dim}: an accumulator row (array_dim x int32) must fit in one "
                "scratchpad line (vector_lanes x int32)")
        if self.spad_region_lines > self.spad_bank_lines:
            problems.append("spad_region_lines must not exceed spad_bank_lines "
                            "(a region never spans two banks)")
        if not 2 <= self.spad_ports <= 8:
            problems.append(f"spad_ports={self.spad_ports} must be between 2 and 8")
        problems += self._microarchitecture_problems()
        if self.extra:
            problems.append(f"unknown keys {sorted(self.extra)}")
        if problems:
            raise ConfigError(f"configuration '{self.name}': " + "; ".join(problems))

    def _microarchitecture_problems(self) -> list[str]:
        """Checks of the microarchitecture constants; every message names its key."""
        from hwdef.isa import INSTRUCTIONS  # isa does not import params: no cycle
        lock_bits = max(f.bits for cls in INSTRUCTIONS for f, _ in cls.layout()
                        if f.name == "lock_readers")
        problems = []
        for name, low in (("queue_depth", 2), ("dma_store_fifo_depth", 4),
                          ("fetch_burst_beats", 2)):
            value = getattr(self, name)
            if not (_is_pow2(value) and value >= low):
                problems.append(f"{name}={value} must be a power of two >= {low} (FIFO "
                                "pointers wrap, DMA-out needs 3 slots for full rate, bursts "
                                "divide 4 KiB)")
        for name, low, high in (("matmul_inflight", 1, 2), ("dma_max_bursts", 1, 15),
                                ("fetch_max_bursts", 1, 15),
                                ("axi_id_bits", 1, 8), ("dram_latency", 1, 0xFFFF),
                                ("dram_unlimited_latency", 1, 0xFFFF),
                                ("dram_bytes_per_cycle", 1, 0xFFFF)):
            value = getattr(self, name)
            if not low <= value <= high:
                problems.append(f"{name}={value} must be between {low} and {high}")
        if not lock_bits <= self.spad_reader_bits <= 8:
            problems.append(f"spad_reader_bits={self.spad_reader_bits} must be between "
                            f"{lock_bits} (the ISA's lock_readers field) and 8")
        ids = {name: getattr(self, name) for name in ("axi_id_fetch", "axi_id_load",
                                                       "axi_id_store")}
        for name, value in ids.items():
            if not 0 <= value < 1 << max(self.axi_id_bits, 0):
                problems.append(f"{name}={value} does not fit axi_id_bits={self.axi_id_bits}")
        if ids["axi_id_fetch"] == ids["axi_id_load"]:
            problems.append("axi_id_fetch and axi_id_load must differ (R beats are routed by ID)")
        if self.line_bits > AXI_MAX_DATA_BITS:
            problems.append(f"vector_lanes={self.vector_lanes} makes {self.line_bits}-bit lines, "
                            f"wider than the AXI4 data bus (at most {AXI_MAX_DATA_BITS} bits), "
                            "which carries one line per beat")
        if self.fetch_burst_beats * self.line_bytes > 4096:
            problems.append(f"fetch_burst_beats={self.fetch_burst_beats} x {self.line_bytes} B "
                            "must not exceed a 4 KiB page")
        if not (_is_pow2(self.dram_bytes) and self.dram_bytes >= 4096):
            problems.append(f"dram_bytes={self.dram_bytes} must be a power of two >= 4096")
        return problems

    # --- derived sizes ---------------------------------------------------------------------
    @property
    def line_bits(self) -> int:
        """A scratchpad line holds one vector: vector_lanes x int32."""
        return self.vector_lanes * ACC_BITS

    @property
    def line_bytes(self) -> int:
        return self.line_bits // 8

    @property
    def spad_lines(self) -> int:
        return self.spad_banks * self.spad_bank_lines

    @property
    def spad_bytes(self) -> int:
        return self.spad_lines * self.line_bytes

    @property
    def spad_addr_bits(self) -> int:
        return _clog2(self.spad_lines)

    @property
    def spad_regions(self) -> int:
        return self.spad_lines // self.spad_region_lines

    @property
    def acc_bytes(self) -> int:
        return self.acc_lines * self.array_dim * ACC_BITS // 8

    @property
    def acc_addr_bits(self) -> int:
        return _clog2(self.acc_lines)

    @property
    def dram_gbytes_per_s(self) -> float:
        """The DRAM bandwidth at the stated clock (CLOCK_HZ), GB/s."""
        return self.dram_bytes_per_cycle * CLOCK_HZ / 1e9

    @property
    def dram_bytes_per_mac(self) -> float:
        """DRAM bytes per multiply-accumulate the array can do per cycle (docs/energy.md)."""
        return self.dram_bytes_per_cycle / self.array_dim ** 2

    def dram_model(self, mode: str = "config") -> tuple[int, int]:
        """(bytes per cycle, latency) of the simulation DRAM in *mode* (DRAM_MODES): the
        configuration's, or "unlimited" (0 bytes per cycle: a beat per cycle in each
        direction, dram_unlimited_latency)."""
        if mode == "config":
            return self.dram_bytes_per_cycle, self.dram_latency
        if mode == "unlimited":
            return 0, self.dram_unlimited_latency
        raise ConfigError(f"DRAM model {mode!r}: use one of {', '.join(DRAM_MODES)}")

    def summary(self) -> str:
        return (f"{self.name}: {self.array_dim}x{self.array_dim} int8 array, "
                f"{self.vector_lanes} lanes, scratchpad {self.spad_bytes // 1024} KiB "
                f"({self.spad_banks} banks x {self.spad_bank_lines} lines x {self.line_bytes} B), "
                f"accumulators {self.acc_bytes / 1024:g} KiB, DRAM "
                f"{self.dram_bytes_per_cycle} B/cycle ({self.dram_gbytes_per_s:g} GB/s), "
                f"latency {self.dram_latency} cycles")

    # --- what the RTL sees -----------------------------------------------------------------
    def sv_params(self, block: str) -> dict[str, int]:
        """Verilator parameter overrides (-G) of one RTL block for this configuration."""
        # Parameter sets shared by several blocks; each block's entry adds what it alone takes.
        geometry = {"Banks": self.spad_banks, "BankLines": self.spad_bank_lines,
                    "RegionLines": self.spad_region_lines, "LineBits": self.line_bits,
                    "ReaderBits": self.spad_reader_bits}
        dma = dict(geometry, MaxBursts=self.dma_max_bursts, IdBits=self.axi_id_bits)
        dma_store = dict(dma, FifoDepth=self.dma_store_fifo_depth)
        ids = {"IdBits": self.axi_id_bits, "IdFetch": self.axi_id_fetch,
               "IdLoad": self.axi_id_load, "IdStore": self.axi_id_store}
        # The NPU top level and the simulation wrappers around it take the same parameters.
        top = dict(ids, Dim=self.array_dim, AccLines=self.acc_lines, Lanes=self.vector_lanes,
                   Banks=self.spad_banks, BankLines=self.spad_bank_lines,
                   RegionLines=self.spad_region_lines, ReaderBits=self.spad_reader_bits,
                   QueueDepth=self.queue_depth, MatmulInflight=self.matmul_inflight,
                   DmaMaxBursts=self.dma_max_bursts,
                   DmaStoreFifoDepth=self.dma_store_fifo_depth,
                   FetchBurstBeats=self.fetch_burst_beats, FetchMaxBursts=self.fetch_max_bursts)
        engine = {"SpadLines": self.spad_lines, "LineBits": self.line_bits,
                  "RegionLines": self.spad_region_lines, "ReaderBits": self.spad_reader_bits}
        matmul = {"Dim": self.array_dim, "AccLines": self.acc_lines}
        vector = {"Lanes": self.vector_lanes}
        table = {
            "npu_top": top,
            # Simulation-only wrappers (tb/sv/) add the DRAM model's size where they have one.
            "npu_tb_top": dict(top, MemBytes=self.dram_bytes),
            "npu_axi_ext_tb": top,
            "npu_matrix_unit": matmul,
            "npu_systolic_array": {"Dim": self.array_dim},
            "npu_vector_unit": vector,
            "npu_matmul_engine": dict(matmul, Inflight=self.matmul_inflight, **engine),
            # Bench wrappers (tb/sv/): an engine plus a 4-port scratchpad.
            "npu_matmul_engine_tb": dict(matmul, Inflight=self.matmul_inflight, **geometry),
            "npu_vector_engine": dict(vector, **engine),
            "npu_vector_engine_tb": dict(vector, **geometry),
            "npu_dma_load": dma,
            "npu_dma_store": dma_store,
            "npu_axi_master": dict(ids, LineBits=self.line_bits),
            # Bench wrapper (tb/sv/): both DMA engines, the AXI master, a 3-port scratchpad and
            # the DRAM model.
            "npu_dma_tb": dict(dma_store, MemBytes=self.dram_bytes),
            "npu_scratchpad": dict(geometry, Ports=self.spad_ports),
        }
        if block not in table:
            raise KeyError(f"no parameter mapping for RTL block '{block}'")
        return table[block]

    def sv_package_constants(self) -> dict[str, int]:
        """Constants of the generated SystemVerilog package (CamelCase, lowRISC style)."""
        return {
            "ArrayDim": self.array_dim,
            "VectorLanes": self.vector_lanes,
            "LineBits": self.line_bits,
            "SpadBanks": self.spad_banks,
            "SpadBankLines": self.spad_bank_lines,
            "SpadRegionLines": self.spad_region_lines,
            "SpadPorts": self.spad_ports,
            "SpadAddrBits": self.spad_addr_bits,
            "AccLines": self.acc_lines,
            "AccAddrBits": self.acc_addr_bits,
            "SpadReaderBits": self.spad_reader_bits,
            "QueueDepth": self.queue_depth,
            "MatmulInflight": self.matmul_inflight,
            "DmaMaxBursts": self.dma_max_bursts,
            "DmaStoreFifoDepth": self.dma_store_fifo_depth,
            "AxiIdBits": self.axi_id_bits,
            "AxiIdFetch": self.axi_id_fetch,
            "AxiIdLoad": self.axi_id_load,
            "AxiIdStore": self.axi_id_store,
            "FetchBurstBeats": self.fetch_burst_beats,
            "FetchMaxBursts": self.fetch_max_bursts,
            "DramBytes": self.dram_bytes,
            "DramBytesPerCycle": self.dram_bytes_per_cycle,
            "DramLatency": self.dram_latency,
            "DramUnlimitedLatency": self.dram_unlimited_latency,
        }


DEFAULTS_TABLE = "defaults"    # keys every configuration inherits unless it sets its own


@cache
def _raw_configs() -> dict[str, dict]:
    with CONFIG_FILE.open("rb") as handle:
        tables = tomllib.load(handle)
    shared = tables.pop(DEFAULTS_TABLE, {})
    return {name: {**shared, **values} for name, values in tables.items()}


def config_names() -> list[str]:
    return list(_raw_configs())


DERIVED_SEPARATOR = "+"   # BASE+key=value[+key=value...]: a configuration derived from BASE


def derived_name(base: str, **overrides: int) -> str:
    """The name of *base* with *overrides* (load_config builds it): e.g.
    derived_name("default", spad_bank_lines=256) == "default+spad_bank_lines=256"."""
    return DERIVED_SEPARATOR.join([base, *(f"{k}={v}" for k, v in overrides.items())])


def scratchpad_geometry(base: HwConfig, vector_lanes: int, spad_bytes: int) -> dict[str, int]:
    """The keys that give *spad_bytes* of scratchpad with *vector_lanes* lanes (a line is
    lanes x ACC_BITS) and *base*'s bank count: spad_bank_lines, and spad_region_lines where
    a bank would be smaller than base's overwrite regions (design-space sweeps)."""
    lines = spad_bytes // (base.spad_banks * vector_lanes * ACC_BITS // 8)
    out = {"spad_bank_lines": lines}
    if lines < base.spad_region_lines:
        out["spad_region_lines"] = lines
    return out


def load_config(name: str = "default") -> HwConfig:
    """A configuration of configs.toml by *name*, or one derived from it: *name* =
    "BASE+key=value[+key=value...]" takes BASE's values with those keys replaced (what-if
    studies and design-space sweeps; the name is the configuration's name everywhere,
    Verilator builds included) and is checked like any other."""
    raw = _raw_configs()
    base, *overrides = name.split(DERIVED_SEPARATOR)
    if base not in raw:
        raise ConfigError(f"unknown configuration '{base}'; known: {', '.join(raw)}"
                          + (f" (in '{name}')" if overrides else ""))
    values = dict(raw[base])
    known = {f for f in HwConfig.__dataclass_fields__ if f not in ("name", "extra")}
    changed: list[str] = []
    for item in overrides:
        key, equals, text = item.partition("=")
        if not equals or key not in known - {"description"}:
            raise ConfigError(
                f"configuration '{name}': '{item}' is not KEY=VALUE with KEY one of "
                f"{', '.join(sorted(known - {'description'}))}")
        # one spelling per value (no leading zeros, at most 12 digits): one name, one build
        if not (text.isascii() and text.isdigit() and len(text) <= 12
                and (text == "0" or not text.startswith("0"))):
            raise ConfigError(f"configuration '{name}': {key}={text[:20]!r} must be a decimal "
                              "integer of at most 12 digits without leading zeros")
        if any(c.startswith(f"{key}=") for c in changed):
            raise ConfigError(f"configuration '{name}': {key} is given twice")
        values[key] = int(text)
        changed.append(f"{key}={int(text)}")
    if changed:
        values["description"] = (f"{values.get('description', base)}; derived: "
                                 f"{', '.join(changed)}")
    missing = sorted(known - set(values) - {"description"})
    if missing:
        raise ConfigError(f"configuration '{name}': missing keys {missing}")
    for key, value in values.items():
        if key in known and key != "description" and (
                not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"configuration '{name}': {key}={value!r} must be an integer")
    extra = {k: v for k, v in values.items() if k not in known}
    kwargs = {k: v for k, v in values.items() if k in known}
    kwargs.setdefault("description", "")
    return HwConfig(name=name, extra=extra, **kwargs)

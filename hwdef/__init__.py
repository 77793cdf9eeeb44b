"""Hardware definition: the one place where the NPU's parameters and numerics constants live.

Everything else (the SystemVerilog package under rtl/pkg, the Verilator parameter overrides of
the test benches, the golden models' shapes, later the scheduler and the ISA) is generated from
or checked against this package.
"""

from hwdef.params import (
    ACC_BITS,
    CLOCK_HZ,
    DATA_BITS,
    DRAM_MODES,
    EXP2_FRAC_BITS,
    EXP2_OUT_FRAC_BITS,
    EXP2_SEGMENT_BITS,
    RECIP_FRAC_BITS,
    ConfigError,
    HwConfig,
    SatMode,
    VecFlag,
    VecOp,
    config_names,
    derived_name,
    load_config,
    scratchpad_geometry,
)

__all__ = [
    "ACC_BITS",
    "CLOCK_HZ",
    "DATA_BITS",
    "DRAM_MODES",
    "EXP2_FRAC_BITS",
    "EXP2_OUT_FRAC_BITS",
    "EXP2_SEGMENT_BITS",
    "RECIP_FRAC_BITS",
    "HwConfig",
    "VecOp",
    "SatMode",
    "VecFlag",
    "ConfigError",
    "config_names",
    "derived_name",
    "load_config",
    "scratchpad_geometry",
]

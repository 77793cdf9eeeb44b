"""Base of a block bench's environment: the DUT, the configuration of the build and its sizes."""

from __future__ import annotations

from tb.harness.cocotb_utils import npu_config


class BlockEnv:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.log = dut._log
        self.cfg = cfg = npu_config()
        self.dim = cfg.array_dim
        self.lanes = cfg.vector_lanes
        self.lb = cfg.line_bytes
        self.lines = cfg.spad_lines
        self.banks = cfg.spad_banks
        self.bank_lines = cfg.spad_bank_lines
        self.region_lines = cfg.spad_region_lines
        self.regions = cfg.spad_regions
        self.acc_lines = cfg.acc_lines

"""The RTL source list, in compile order (packages first)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Verilator builds, run directories and the search cache. NPU_SIM_BUILD moves them, e.g. to a
# node's local disk when bench workers on a farm do not share the repository's filesystem
# (bench/tasks.py).
SIM_BUILD = Path(os.environ.get("NPU_SIM_BUILD") or REPO / "sim_build").resolve()
RTL_DIR = REPO / "rtl"
# `include files (the port-bundle typedef macros); every tool adds it to its search path.
RTL_INCLUDE_DIR = RTL_DIR / "include"

# Synthesizable blocks that have their own test bench, lint run and synthesis report.
BLOCKS = ("npu_systolic_array", "npu_matrix_unit", "npu_vector_unit", "npu_scratchpad",
          "npu_matmul_engine", "npu_vector_engine",
          "npu_dma_load", "npu_dma_store", "npu_axi_master", "npu_top")


def rtl_sources() -> list[Path]:
    """Every synthesizable source under rtl/: packages, then modules, in a stable order."""
    packages = sorted(RTL_DIR.glob("pkg/*.sv"))
    modules = sorted(p for p in RTL_DIR.rglob("*.sv") if p.parent.name != "pkg")
    return packages + modules

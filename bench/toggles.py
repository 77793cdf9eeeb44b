"""Toggle counts per module from Verilator's toggle coverage (coverage.dat).

Each coverage point is one bit of one signal in one instance, with the number of 0->1 and 1->0
changes the simulation saw. Points are summed per top-level block of the NPU (the instance
under `u_npu`: matrix engine, vector engine, scratchpad, DMA-in, DMA-out, fetch, dispatch,
control registers, AXI master; signals of npu_top itself count as "top"). The bench's DRAM
model and wrapper are outside `u_npu` and are not counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

_POINT = re.compile(r"^C '(.*)' (\d+)$")

# Instance names in rtl/top/npu_top.sv -> component names of the energy breakdown.
COMPONENTS = {
    "u_matmul_engine": "matrix",
    "u_vector_engine": "vector",
    "u_scratchpad": "scratchpad",
    "u_dma_load": "dma_in",
    "u_dma_store": "dma_out",
    "u_axi_master": "axi",
    "u_fetch": "fetch",
    "u_dispatch": "dispatch",
    "u_ctrl_regs": "ctrl",
    # Factored out of npu_top: its counters stay in the "top" share of the energy breakdown.
    "u_perf_counters": "top",
}


def _fields(key: str) -> dict[str, str]:
    out = {}
    for part in key.split("\x01"):
        if "\x02" in part:
            name, value = part.split("\x02", 1)
            out[name] = value
    return out


def read_toggles(path: str | Path, scope: str = "u_npu") -> Counter:
    """Toggle counts per component of the NPU (see COMPONENTS) in one coverage.dat."""
    totals: Counter = Counter()
    for line in Path(path).read_text(errors="replace").splitlines():
        match = _POINT.match(line)
        if not match:
            continue
        fields = _fields(match.group(1))
        if "toggle" not in fields.get("page", ""):
            continue
        hier = fields.get("h", "").split(".")
        if scope not in hier:
            continue
        below = hier[hier.index(scope) + 1:]
        component = COMPONENTS.get(below[0], below[0]) if below else "top"
        totals[component] += int(match.group(2))
    return totals


def subtract(run: Counter, baseline: Mapping[str, int]) -> dict[str, int]:
    """Run minus the reset-only baseline, per component (never negative)."""
    return {name: max(0, run[name] - baseline.get(name, 0)) for name in sorted(run)}

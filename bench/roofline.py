"""Lower bound on the cycles of one attention workload on one configuration.

    bound = max(matrix work / matrix throughput,
                vector work / vector throughput,
                DRAM bytes / DRAM bandwidth)

* matrix work: the multiply-accumulates of Q·Kᵀ and P·V over the visible scores only
  (2 x scores x d); throughput Dim² MACs per cycle.
* vector work: the five passes of the numerics contract over every visible score (row max,
  subtract, scale, exp2, row sum) plus the d-wide output scaling per row; throughput one
  vector of Lanes elements per cycle.
* DRAM bytes: Q, K, V read once and O written once; bandwidth the configuration's DRAM
  (`dram_bytes_per_cycle`, one channel for reads and writes, hwdef/configs.toml), or with
  dram="unlimited" one AXI beat (a scratchpad line) per cycle, as the unlimited DRAM model
  reads (it also writes a beat per cycle at the same time, which the bound leaves out).

Recomputation, padding, instruction overheads and dependencies are not in the bound: the gap
is what a schedule leaves on the table. `macs` and `dram_bytes` are the work behind the matrix
and DRAM terms, so that a run's issued MACs and moved bytes can be set against them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hwdef import HwConfig
from hwdef.quant import causal_offset
from scheduler import Workload

VECTOR_PASSES = 5


@dataclass(frozen=True)
class Roofline:
    matrix_cycles: float
    vector_cycles: float
    dram_cycles: float
    macs: int           # multiply-accumulates of Q·Kᵀ and P·V over the visible scores
    dram_bytes: int     # Q, K, V read once, O written once

    @property
    def bound(self) -> float:
        return max(self.matrix_cycles, self.vector_cycles, self.dram_cycles)

    @property
    def limit(self) -> str:
        return max(("matrix", self.matrix_cycles), ("vector", self.vector_cycles),
                   ("dram", self.dram_cycles), key=lambda kv: kv[1])[0]

    def to_dict(self) -> dict:
        return dict(asdict(self), bound=self.bound, limit=self.limit)


def visible_scores(wl: Workload) -> int:
    """Query-key pairs that are not masked, per head (bottom-right causal mask)."""
    if not wl.causal:
        return wl.seq_q * wl.seq_kv
    rows = np.arange(wl.seq_q)
    return int(np.clip(rows + 1 + causal_offset(wl.seq_q, wl.seq_kv), 0, wl.seq_kv).sum())


def dram_bandwidth(cfg: HwConfig, dram: str = "config") -> int:
    """Bytes per cycle of the DRAM term: the configuration's DRAM, or a line per cycle for the
    unlimited model (hwdef DRAM_MODES)."""
    bytes_per_cycle, _ = cfg.dram_model(dram)
    return bytes_per_cycle or cfg.line_bytes


def roofline(wl: Workload, cfg: HwConfig, dram: str = "config") -> Roofline:
    heads, d = wl.heads_total, wl.head_dim
    scores = visible_scores(wl) * heads
    matrix = 2 * scores * d / cfg.array_dim ** 2
    vector = (VECTOR_PASSES * scores + heads * wl.seq_q * d) / cfg.vector_lanes
    dram_bytes = heads * (2 * wl.seq_q * d + 2 * wl.seq_kv * d)
    return Roofline(matrix, vector, dram_bytes / dram_bandwidth(cfg, dram), 2 * scores * d,
                    dram_bytes)

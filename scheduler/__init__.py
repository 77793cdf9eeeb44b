"""Attention scheduler: workload -> tiled schedule -> NPU program.

    from scheduler import Workload, build_schedule
    sched = build_schedule(Workload(seq_q=300, seq_kv=300, head_dim=64, heads=2),
                           load_config("default"), strategy="mas")
    sched.words            # the program (256-bit words, HALT last)
    sched.memory_map()     # where Q, K, V, O (and the program) live in DRAM
    sched.prediction       # the cost model's cycles

Strategies (scheduler/strategies/, one module each): "layerwise" (unfused, S and P through
DRAM), "flat" (row-block fusion, matrix and vector units take turns), "mas" (MAS-Attention:
the two units run concurrently on neighbouring items, buffers released at their last use).
See docs/scheduler.md.
"""

from __future__ import annotations

from scheduler.schedule import Schedule, build_schedule
from scheduler.strategies import STRATEGIES
from scheduler.tiling import Tiling
from scheduler.workload import ScheduleError, Workload

__all__ = ["STRATEGIES", "Schedule", "ScheduleError", "Tiling",
           "Workload", "build_schedule"]

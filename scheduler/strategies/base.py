"""What a strategy is: the choices that make one dataflow differ from another.

A strategy says how many S and P buffers it needs, whether it keeps K, V and scores on chip
between passes or whole score rows (FLAT), whether every buffer is locked and released
(overwrite control, run with CTRL.STRICT), which queues must never run at the same time,
whether S and P go through DRAM, and in which order the instruction templates
(scheduler/emit.py) run over the plan's items.
"""

from __future__ import annotations

from typing import ClassVar

from hwdef import HwConfig, isa
from scheduler.emit import AttentionEmitter
from scheduler.layout import Buffers, place_spad
from scheduler.tiling import Geometry, Tiling
from scheduler.workload import ScheduleError, Workload


class Strategy:
    name: ClassVar[str]
    rank: ClassVar[int]                  # order in listings and tables
    summary: ClassVar[str]
    score_buffers: ClassVar[int] = 1     # S and P buffers (2: Q·Kᵀ of the next item overlaps)
    # The tiling chooses the S buffers (Tiling.score_buffers: 2 to 16; P keeps two).
    tiled_score_buffers: ClassVar[bool] = False
    overwrite_control: ClassVar[bool] = False
    keep_on_chip: ClassVar[bool] = True  # K, V and max-pass scores stay between passes
    serialize: ClassVar[tuple[isa.Queue, ...]] = ()
    dram_intermediates: ClassVar[bool] = False   # S, P and 1/l through DRAM
    full_rows: ClassVar[bool] = False    # S and P hold a block's rows against all keys (FLAT)

    lean_layout: ClassVar[bool] = False  # fewer per-row scalar lines, one O (place_spad)

    @classmethod
    def recip_over_sum(cls, wl: Workload, tiling: Tiling) -> bool:
        """May r = 1/l overwrite l (lean layout)? Yes when every block's O = A·r comes before
        the next block's first row sum in program order, as in every strategy that finishes
        a block before it starts the softmax of the next."""
        return cls.lean_layout

    @classmethod
    def score_slots(cls, tiling: Tiling) -> int:
        """S buffers of this strategy with *tiling* (raises ScheduleError if the tiling asks
        for a count the strategy does not choose by tiling)."""
        if cls.tiled_score_buffers:
            return tiling.score_buffers
        if tiling.score_buffers != 2:
            raise ScheduleError(f"tiling {tiling.describe()}: the S buffer count is for "
                                f"pipelined strategies (mas); {cls.name} has "
                                f"{cls.score_buffers}")
        return cls.score_buffers

    @classmethod
    def place_spad(cls, cfg: HwConfig, geo: Geometry, wl: Workload, tiling: Tiling) -> Buffers:
        """This strategy's scratchpad layout of *wl* (raises ScheduleError if it does not fit)."""
        return place_spad(cfg, geo, tiling, cls.score_slots(tiling), cls.lean_layout,
                          cls.recip_over_sum(wl, tiling))

    @classmethod
    def emit(cls, em: AttentionEmitter) -> None:
        """Emit the whole program (sequential order) over `em.plan`."""
        raise NotImplementedError

"""One attention program: a strategy and a tiling turned into instructions.

    prog = AttentionProgram(workload, cfg, tiling, "mas")
    prog.program           # firmware_gen.Program (words with notes, loaded at prog.prog_base)
    prog.insns             # the instructions with fields, queue and semaphores (cost model)

Composition, one idea per module: the geometry of the tiling (scheduler/tiling.py), where
tensors and buffers live (scheduler/layout.py), the dataflow plan (scheduler/plan.py), the
instruction templates of the numerics steps (scheduler/emit.py), the order a strategy runs
them in (scheduler/strategies/), and the semaphores that make the sequential order concurrent
(scheduler/sync.py). Raises ScheduleError when the tiling does not fit.
"""

from __future__ import annotations

from functools import cached_property

from firmware_gen.program import Program
from hwdef import HwConfig, isa
from scheduler import strategies
from scheduler.emit import AttentionEmitter
from scheduler.layout import DRAM_ALIGN, Buffers, Tensor, place_dram, place_spad
from scheduler.plan import Plan, plan
from scheduler.sync import Insn, SyncEmitter
from scheduler.tiling import Geometry, Tiling, ceil_div
from scheduler.workload import ScheduleError, Workload


def dram_hint(strategy: type[strategies.Strategy]) -> str:
    return (" (layerwise keeps S and P in DRAM: flat or mas need far less)"
            if strategy.dram_intermediates else "")


class AttentionProgram:
    def __init__(self, wl: Workload, cfg: HwConfig, tiling: Tiling, strategy: str,
                 dram_base: int = 0, dram_limit: int | None = None):
        self.strategy = strategies.get(strategy)
        self.wl, self.cfg, self.tiling = wl, cfg, tiling
        self.geometry = Geometry.of(wl, cfg, tiling)
        self.tensors: dict[str, Tensor] = place_dram(wl, cfg, self.strategy.dram_intermediates,
                                                     dram_base)
        tensors_end = self.tensors["program"].addr
        if dram_limit is not None and tensors_end > dram_limit:
            raise ScheduleError(
                f"{wl.describe()} with {strategy} needs {tensors_end} bytes of DRAM for its "
                f"tensors before the program, the DRAM has {dram_limit}; fewer heads or "
                f"shorter sequences would fit" + dram_hint(self.strategy))
        self.buffers: Buffers = place_spad(cfg, self.geometry, tiling,
                                           self.strategy.score_buffers)
        self.plan: Plan = plan(wl, tiling.block_rows, tiling.chunk_keys,
                               self.strategy.score_buffers, self.strategy.keep_on_chip)
        sync = SyncEmitter(cfg, self.strategy.serialize)
        self.strategy.emit(AttentionEmitter(wl, cfg, self.geometry, self.buffers, self.tensors,
                                            self.plan, self.strategy.overwrite_control, sync))
        self._sync = sync
        self.insns: list[Insn] = sync.insns
        self.prog_base = tensors_end
        code = (len(self.insns) + 1) * isa.INSN_BYTES     # HALT last
        self.tensors["program"] = Tensor(self.prog_base, (1, 1, code), "insn", code)
        self.dram_bytes = self.prog_base + ceil_div(code, DRAM_ALIGN) * DRAM_ALIGN

    @cached_property
    def program(self) -> Program:
        """The finished program (made on first use: the tiling search only needs `insns`)."""
        return self._sync.program(self.prog_base)

    @property
    def strict(self) -> bool:
        """Run with CTRL.STRICT: the strategy locks and releases its buffers."""
        return self.strategy.overwrite_control

    @property
    def words(self) -> list[int]:
        """The program: every instruction with its semaphores, then HALT."""
        return self.program.words

    def listing(self, addresses: bool = True) -> str:
        """One instruction per line with the scheduler's note as a comment (assembler input;
        with addresses, each instruction's DRAM address leads the comment)."""
        return self.program.listing(addresses)

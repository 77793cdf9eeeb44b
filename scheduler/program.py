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

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property

from firmware_gen.program import Program
from hwdef import HwConfig, isa
from scheduler import strategies
from scheduler.emit import AttentionEmitter
from scheduler.layout import DRAM_ALIGN, Buffers, Tensor, place_dram
from scheduler.plan import Plan, min_instructions, plan, plan_full_rows
from scheduler.sync import Insn, ProgramFull, SyncEmitter
from scheduler.tiling import Geometry, Tiling, ceil_div
from scheduler.workload import ScheduleError, Workload


def dram_hint(strategy: type[strategies.Strategy]) -> str:
    return (" (layerwise keeps S and P in DRAM: the fused strategies need far less)"
            if strategy.dram_intermediates else "")


def check_dram(wl: Workload, cfg: HwConfig, strategy: str, dram_bytes: int | None = None,
               tiling: Tiling | None = None) -> None:
    """The DRAM rule, checked before anything is built: the tensors (Q, K, V, O for every
    head, plus S, P and 1/l where the strategy keeps them in DRAM) and, once the tiling is
    known, the smallest program it can have (`plan.min_instructions`) must fit in
    *dram_bytes* (default: the configuration's DRAM). Raises ScheduleError with the number
    of heads, or the sequence length, that could fit."""
    strat = strategies.get(strategy)
    dram = cfg.dram_bytes if dram_bytes is None else dram_bytes

    def needed(w: Workload) -> tuple[int, int]:
        tensors = place_dram(w, cfg, strat.dram_intermediates)["program"].addr
        code = (0 if tiling is None else isa.INSN_BYTES * min_instructions(
            w, tiling.block_rows, tiling.chunk_keys,
            Geometry.of(w, cfg, tiling, True).bv if strat.full_rows else 0))
        return tensors, code

    tensors, code = needed(wl)
    if tensors + code <= dram:
        return

    def largest(low: int, high: int, fits) -> int:
        """The largest n in [low, high] with fits(n) (monotone), low - 1 if none."""
        while low <= high:
            mid = (low + high) // 2
            low, high = (mid + 1, high) if fits(mid) else (low, mid - 1)
        return high

    one_head = replace(wl, heads=1, batch=1)
    heads = largest(1, wl.heads_total - 1, lambda h: sum(needed(replace(one_head, heads=h)))
                    <= dram)
    if heads >= 1:
        could = f"at most {heads} of its {wl.heads_total} heads (batch x heads) could fit"
    else:
        longest = max(wl.seq_q, wl.seq_kv)
        seq = largest(1, longest - 1, lambda n: sum(needed(replace(
            one_head, seq_q=min(wl.seq_q, n), seq_kv=min(wl.seq_kv, n)))) <= dram)
        could = (f"one head could fit with sequences of at most {seq}" if seq >= 1
                 else "not even one row of one head fits")
    program = ("" if tiling is None else
               f" and its program at least {code} bytes ({code // isa.INSN_BYTES} instructions "
               f"with tiling {tiling.describe()})")
    raise ScheduleError(
        f"{wl.describe()} with {strategy} does not fit in {dram} bytes of DRAM "
        f"('{cfg.name}'): its tensors take {tensors} bytes{program}; {could}"
        + dram_hint(strat))


class AttentionProgram:
    def __init__(self, wl: Workload, cfg: HwConfig, tiling: Tiling, strategy: str,
                 dram_base: int = 0, dram_limit: int | None = None, dependencies: bool = True,
                 encode: bool = True, observe: Callable[[Insn], object] | None = None):
        """*dependencies*=False: instructions and fields only, no semaphores (the tiling
        search's lower bound, cost.LowerBound); *encode*=False: no words (the search's
        predictions); neither has a `program`. *observe* sees each instruction as it is
        emitted (sync.SyncEmitter)."""
        self.strategy = strategies.get(strategy)
        self.wl, self.cfg, self.tiling = wl, cfg, tiling
        self.geometry = Geometry.of(wl, cfg, tiling, self.strategy.full_rows)
        self.tensors: dict[str, Tensor] = place_dram(wl, cfg, self.strategy.dram_intermediates,
                                                     dram_base)
        tensors_end = self.tensors["program"].addr
        max_insns = None
        if dram_limit is not None:
            check_dram(wl, cfg, strategy, dram_limit - dram_base, tiling)
            # the bound above is not exact: emission stops once the program cannot fit
            max_insns = (dram_limit - tensors_end) // isa.INSN_BYTES - 1     # HALT last
        self.plan: Plan = (
            plan_full_rows(wl, tiling.block_rows, tiling.chunk_keys, self.geometry.bv,
                           tiling.value_buffers)
            if self.strategy.full_rows else
            plan(wl, tiling.block_rows, tiling.chunk_keys, self.strategy.score_slots(tiling),
                 self.strategy.keep_on_chip))
        self.buffers: Buffers = self.strategy.place_spad(cfg, self.geometry, wl, tiling)
        sync = SyncEmitter(cfg, self.strategy.serialize, max_insns, dependencies, encode,
                          observe)
        try:
            self.strategy.emit(AttentionEmitter(wl, cfg, self.geometry, self.buffers,
                                                self.tensors, self.plan,
                                                self.strategy.overwrite_control, sync))
        except ProgramFull:
            raise ScheduleError(
                f"{wl.describe()} with {strategy} does not fit in {dram_limit} bytes of "
                f"DRAM ('{cfg.name}'): its tensors take {tensors_end - dram_base} bytes and "
                f"its program (tiling {tiling.describe()}) more than the "
                f"{max_insns} instructions left after them; fewer heads or shorter sequences "
                "would fit" + dram_hint(self.strategy)) from None
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

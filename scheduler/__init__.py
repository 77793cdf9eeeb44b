"""Attention scheduler: workload -> tiled schedule -> NPU program.

    from scheduler import Workload, build_schedule
    sched = build_schedule(Workload(seq_q=300, seq_kv=300, head_dim=64, heads=2),
                           load_config("default"), strategy="mas")
    sched.words            # the program (256-bit words, HALT last)
    sched.memory_map()     # where Q, K, V, O (and the program) live in DRAM
    sched.prediction       # the cost model's cycles

Strategies: "layerwise" (unfused, S and P through DRAM), "flat" (row-block fusion, matrix and
vector units take turns), "mas" (MAS-Attention: the two units run concurrently on neighbouring
items, buffers released at their last use). See docs/scheduler.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef import HwConfig, isa
from scheduler.cost import Prediction, predict
from scheduler.program import STRATEGIES, AttentionProgram, Tiling
from scheduler.search import Candidate, search
from scheduler.workload import ScheduleError, Workload

DEFAULT_DRAM_BYTES = 16 * 1024 * 1024     # the bench's DRAM model (tb/sv/npu_dram_model.sv)

__all__ = ["STRATEGIES", "Schedule", "ScheduleError", "Tiling", "Workload", "build_schedule"]


@dataclass
class Schedule:
    workload: Workload
    cfg: HwConfig
    strategy: str
    tiling: Tiling
    program: AttentionProgram
    prediction: Prediction
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def words(self) -> list[int]:
        return self.program.words

    @property
    def prog_base(self) -> int:
        return self.program.prog_base

    @property
    def dram_bytes(self) -> int:
        return self.program.dram_bytes

    @property
    def strict(self) -> bool:
        """Run with CTRL.STRICT: the schedule locks and releases its buffers (mas), so any
        write into a buffer still awaited is an error instead of a wait."""
        return self.program.ow

    def tensor(self, name: str):
        return self.program.layout.tensors[name]

    def memory_map(self) -> dict:
        wl, t = self.workload, self.program.layout.tensors
        return {
            "config": self.cfg.name,
            "strategy": self.strategy,
            "workload": wl.to_dict(),
            "tiling": self.tiling.to_dict(),
            "layout": "shape = [batch*heads, rows, cols]; row r of head h at addr + (h*rows + r)*row_stride",
            "prog_base": self.prog_base,
            "dram_bytes": self.dram_bytes,
            "instructions": len(self.words),
            "tensors": {name: tensor.to_dict() for name, tensor in t.items()},
            "scratchpad": self.program.layout.spad,
            "constants": {"score_multiplier": wl.score.multiplier,
                          "score_shift": wl.score.shift,
                          "output_multiplier": wl.output.multiplier,
                          "output_shift": wl.output.shift},
            "predicted_cycles": self.prediction.cycles,
        }

    def image(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The DRAM contents (from address 0) for inputs of shape [batch*heads, rows, d]."""
        wl = self.workload
        dram = np.zeros(self.dram_bytes, dtype=np.uint8)
        for name, x, rows in (("q", q, wl.seq_q), ("k", k, wl.seq_kv), ("v", v, wl.seq_kv)):
            want = (wl.heads_total, rows, wl.head_dim)
            x = np.asarray(x)
            if x.shape != want or x.dtype != np.int8:
                raise ValueError(f"{name}: expected int8 of shape {want}, got {x.dtype} "
                                 f"{x.shape}")
            addr = self.tensor(name).addr
            dram[addr:addr + x.size] = x.reshape(-1).view(np.uint8)
        code = np.frombuffer(isa.to_bytes(self.words), dtype=np.uint8)
        dram[self.prog_base:self.prog_base + code.size] = code
        return dram

    def output_region(self) -> tuple[int, int]:
        o = self.tensor("o")
        return o.addr, o.nbytes

    def read_output(self, o_bytes: np.ndarray) -> np.ndarray:
        wl = self.workload
        return np.asarray(o_bytes, dtype=np.uint8).view(np.int8).reshape(
            wl.heads_total, wl.seq_q, wl.head_dim)

    def listing(self) -> str:
        return self.program.listing()

    def summary(self) -> str:
        p = self.prediction
        return (f"{self.strategy} on '{self.cfg.name}': {self.workload.describe()}, tiling "
                f"{self.tiling.describe()}, {len(self.words)} instructions, predicted "
                f"{p.cycles} cycles (matrix {p.busy.get('MATRIX', 0)}, vector "
                f"{p.busy.get('VECTOR', 0)}, overlap {p.overlap})")


def build_schedule(wl: Workload, cfg: HwConfig, strategy: str, tiling: Tiling | None = None,
                   dram_bytes: int = DEFAULT_DRAM_BYTES) -> Schedule:
    """Search the tiling (unless given), build the program and predict its cycles."""
    if strategy not in STRATEGIES:
        raise ScheduleError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    wl.validate(cfg)
    candidates: list[Candidate] = []
    if tiling is None:
        tiling, candidates = search(wl, cfg, strategy)
    program = AttentionProgram(wl, cfg, tiling, strategy, dram_limit=dram_bytes)
    if program.dram_bytes > dram_bytes:
        raise ScheduleError(
            f"{wl.describe()} with {strategy} needs {program.dram_bytes} bytes of DRAM "
            f"(tensors and program), the DRAM has {dram_bytes}; fewer heads or shorter "
            f"sequences would fit" + (" (layerwise keeps S and P in DRAM: flat or mas need "
                                      "far less)" if strategy == "layerwise" else ""))
    return Schedule(wl, cfg, strategy, tiling, program, predict(cfg, program.em.insns),
                    candidates)

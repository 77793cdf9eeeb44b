"""A schedule: the program of one workload, strategy and tiling, with its prediction.

`build_schedule` searches the tiling (unless given), builds the program and predicts its
cycles. `Schedule` is what the rest of the toolchain uses: the words and where to load them,
the DRAM image for given inputs, where the output is, the instructions with their notes and
queues, the work they issue (npu_model.semantics), the memory map and a listing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firmware_gen.program import Program
from hwdef import HwConfig, isa
from hwdef.fingerprint import fingerprint
from npu_model import semantics
from scheduler import search_cache
from scheduler.cost import CostParams, Prediction, predict
from scheduler.layout import Tensor
from scheduler.program import AttentionProgram, check_dram, dram_hint
from scheduler.search import Candidate, search
from scheduler.strategies import get as get_strategy
from scheduler.sync import Insn
from scheduler.tiling import Tiling
from scheduler.workload import ScheduleError, Workload

# The memory map (memory_map.json) is also the manifest of a program bundle (scheduler/bundle.py):
# this names its format, and a reader refuses any other.
BUNDLE_FORMAT = "mas-npu-attention/1"

# Each input's and the output's quantization scale (real value = scale * integer).
SCALES = {"q": lambda wl: wl.s_q, "k": lambda wl: wl.s_k, "v": lambda wl: wl.s_v,
          "o": lambda wl: wl.s_o if wl.s_o is not None else wl.s_v}


def run_timeout(predicted_cycles: int) -> int:
    """A run's time limit: four times the prediction plus a margin (a hang, not a slow
    schedule, is what it catches)."""
    return 4 * predicted_cycles + 200_000


def attention_image(wl: Workload, tensors: dict[str, Tensor], words: list[int], prog_base: int,
                    dram_bytes: int, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The DRAM contents (from address 0) of an attention program: int8 Q, K, V of shape
    [batch*heads, rows, d] at their tensors' addresses, the program at *prog_base*."""
    dram = np.zeros(dram_bytes, dtype=np.uint8)
    for name, x, rows in (("q", q, wl.seq_q), ("k", k, wl.seq_kv), ("v", v, wl.seq_kv)):
        want = (wl.heads_total, rows, wl.head_dim)
        x = np.asarray(x)
        if x.shape != want or x.dtype != np.int8:
            raise ValueError(f"{name}: expected int8 of shape {want}, got {x.dtype} "
                             f"{x.shape}")
        addr = tensors[name].addr
        dram[addr:addr + x.size] = x.reshape(-1).view(np.uint8)
    code = np.frombuffer(isa.to_bytes(words), dtype=np.uint8)
    dram[prog_base:prog_base + code.size] = code
    return dram


def read_attention_output(wl: Workload, o_bytes: np.ndarray) -> np.ndarray:
    """O as int8 [batch*heads, seq_q, d] from its DRAM bytes."""
    return np.asarray(o_bytes, dtype=np.uint8).view(np.int8).reshape(
        wl.heads_total, wl.seq_q, wl.head_dim)


@dataclass
class Schedule:
    workload: Workload
    cfg: HwConfig
    strategy: str
    tiling: Tiling
    built: AttentionProgram        # how the program was made: geometry, layout, plan
    prediction: Prediction         # cycles with the DRAM below
    candidates: list[Candidate] = field(default_factory=list)
    dram: str = "config"           # the DRAM model the prediction is for (hwdef.DRAM_MODES)

    @property
    def program(self) -> Program:
        """The program (firmware_gen.Program: words with notes, loaded at prog_base)."""
        return self.built.program

    @property
    def words(self) -> list[int]:
        return self.built.words

    @property
    def instructions(self) -> list[Insn]:
        """Every instruction before the final HALT: mnemonic, fields, queue, note, semaphores."""
        return self.built.insns

    @property
    def work(self) -> semantics.Work:
        """MACs, vectors and DRAM bytes the program issues (npu_model.semantics.work)."""
        totals = [semantics.work(self.cfg, i.mnemonic, i.fields) for i in self.instructions]
        return semantics.Work(*(sum(getattr(w, name) for w in totals)
                                for name in semantics.Work.__dataclass_fields__))

    @property
    def queue_notes(self) -> dict[str, list[str]]:
        """The notes of each queue's instructions, in queue order (trace labels)."""
        notes: dict[str, list[str]] = {}
        for insn in self.instructions:
            notes.setdefault(insn.queue.name, []).append(insn.note)
        return notes

    @property
    def timeout_cycles(self) -> int:
        return run_timeout(self.prediction.cycles)

    @property
    def prog_base(self) -> int:
        return self.built.prog_base

    @property
    def dram_bytes(self) -> int:
        return self.built.dram_bytes

    @property
    def strict(self) -> bool:
        """Run with CTRL.STRICT: the schedule locks and releases its buffers (mas), so any
        write into a buffer still awaited is an error instead of a wait."""
        return self.built.strict

    def tensor(self, name: str) -> Tensor:
        return self.built.tensors[name]

    def memory_map(self) -> dict:
        wl = self.workload
        return {
            "bundle_format": BUNDLE_FORMAT,
            "config": self.cfg.name,
            "hwdef": fingerprint(self.cfg),
            "strategy": self.strategy,
            "workload": wl.to_dict(),
            "tiling": self.tiling.to_dict(),
            "layout": "shape = [batch*heads, rows, cols]; row r of head h at "
                      "addr + (h*rows + r)*row_stride",
            "prog_base": self.prog_base,
            "dram_bytes": self.dram_bytes,
            "instructions": len(self.words),
            "tensors": {name: dict(t.to_dict(), **({"scale": SCALES[name](wl)}
                                                   if name in SCALES else {}))
                        for name, t in self.built.tensors.items()},
            "scratchpad": self.built.buffers.spad,
            "constants": {"score_multiplier": wl.score.multiplier,
                          "score_shift": wl.score.shift,
                          "output_multiplier": wl.output.multiplier,
                          "output_shift": wl.output.shift},
            "strict": self.strict,
            "dram": self.dram,
            "predicted_cycles": self.prediction.cycles,
        }

    def image(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The DRAM contents (from address 0) for inputs of shape [batch*heads, rows, d]."""
        return attention_image(self.workload, self.built.tensors, self.words, self.prog_base,
                               self.dram_bytes, q, k, v)

    def output_region(self) -> tuple[int, int]:
        o = self.tensor("o")
        return o.addr, o.nbytes

    def read_output(self, o_bytes: np.ndarray) -> np.ndarray:
        return read_attention_output(self.workload, o_bytes)

    def listing(self, addresses: bool = True) -> str:
        return self.built.listing(addresses)

    def summary(self) -> str:
        p = self.prediction
        return (f"{self.strategy} on '{self.cfg.name}': {self.workload.describe()}, tiling "
                f"{self.tiling.describe()}, {len(self.words)} instructions, predicted "
                f"{p.cycles} cycles (matrix {p.busy.get('MATRIX', 0)}, vector "
                f"{p.busy.get('VECTOR', 0)}, overlap {p.overlap})")


def build_schedule(wl: Workload, cfg: HwConfig, strategy: str, tiling: Tiling | None = None,
                   dram_bytes: int | None = None, dram: str = "config") -> Schedule:
    """Search the tiling (unless given), build the program and predict its cycles on *dram*
    (hwdef.DRAM_MODES: the configuration's DRAM, or "unlimited"; the program is the same).
    *dram_bytes*: the DRAM it must fit (default: the configuration's DRAM model)."""
    cfg.dram_model(dram)                          # an unknown mode fails before any search
    if dram_bytes is None:
        dram_bytes = cfg.dram_bytes
    get_strategy(strategy)
    wl.validate(cfg)
    check_dram(wl, cfg, strategy, dram_bytes)     # the tensors, before any search
    candidates: list[Candidate] = []
    key = None
    if tiling is None:
        key = search_cache.key(wl, cfg, strategy, dram_bytes)
        answer = search_cache.load(key)
        if answer is None:
            answer = search(wl, cfg, strategy, dram_bytes)
            search_cache.store(key, *answer)
        tiling, candidates = answer
    try:
        program = AttentionProgram(wl, cfg, tiling, strategy, dram_limit=dram_bytes)
    except ScheduleError:
        if key is None or search_cache.load(key) is None:
            raise
        search_cache.drop(key)      # a cached pick that no longer builds: search again
        return build_schedule(wl, cfg, strategy, None, dram_bytes, dram)
    if program.dram_bytes > dram_bytes:
        raise ScheduleError(
            f"{wl.describe()} with {strategy} needs {program.dram_bytes} bytes of DRAM "
            f"(tensors and program), the DRAM has {dram_bytes}; fewer heads or shorter "
            f"sequences would fit" + dram_hint(program.strategy))
    return Schedule(wl, cfg, strategy, tiling, program,
                    predict(cfg, program.insns, CostParams(dram=dram)), candidates, dram)

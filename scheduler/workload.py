"""An attention workload: shapes, mask and quantization scales of softmax(Q·Kᵀ·s)·V."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from hwdef import HwConfig
from hwdef.quant import OutputScale, ScoreScale, output_scale, score_scale

MAX_SEQ = 4096
MIN_HEAD_DIM, MAX_HEAD_DIM = 16, 128


class ScheduleError(ValueError):
    """The workload cannot run on this configuration; the message says why and what would fit."""


@dataclass(frozen=True)
class Workload:
    seq_q: int
    seq_kv: int
    head_dim: int
    heads: int = 1
    batch: int = 1
    causal: bool = False
    s_q: float = 1.0 / 32
    s_k: float = 1.0 / 32
    s_v: float = 1.0 / 32
    s_o: float | None = None     # output scale; None: the same as s_v

    @property
    def heads_total(self) -> int:
        return self.batch * self.heads

    @property
    def score(self) -> ScoreScale:
        return score_scale(self.s_q, self.s_k, self.head_dim)

    @property
    def output(self) -> OutputScale:
        return output_scale(self.s_v, self.s_o if self.s_o is not None else self.s_v)

    def validate(self, cfg: HwConfig) -> None:
        for name in ("seq_q", "seq_kv"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_SEQ:
                raise ScheduleError(f"{name} = {value}: sequence lengths must be 1..{MAX_SEQ}")
        if not MIN_HEAD_DIM <= self.head_dim <= MAX_HEAD_DIM:
            raise ScheduleError(f"head_dim = {self.head_dim}: supported head dimensions are "
                                f"{MIN_HEAD_DIM}..{MAX_HEAD_DIM}")
        if self.heads < 1 or self.batch < 1:
            raise ScheduleError(f"batch = {self.batch}, heads = {self.heads}: both must be >= 1")
        for name in ("s_q", "s_k", "s_v", "s_o"):
            value = getattr(self, name)
            if value is None and name == "s_o":
                continue    # the same as s_v
            if not 0 < value < math.inf:
                raise ScheduleError(f"{name} = {value}: quantization scales must be positive "
                                    f"and finite")
        try:
            self.score, self.output  # noqa: B018  (raise on unrepresentable scales)
        except ValueError as exc:
            raise ScheduleError(f"quantization scales: {exc}") from None

    def describe(self) -> str:
        mask = ", causal" if self.causal else ""
        return (f"{self.batch}x{self.heads} heads, Nq={self.seq_q}, Nk={self.seq_kv}, "
                f"d={self.head_dim}{mask}")

    def to_dict(self) -> dict:
        return asdict(self)

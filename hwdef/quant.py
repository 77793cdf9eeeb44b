"""Host-side quantization recipe of attention: real scales -> the integer constants a program
carries (docs/numerics.md, "The score multiplier M" and "The output scale").

Both the compiler (scheduler/) and the golden model (npu_model/attention.py) take these integer
constants as inputs; deriving them is not part of the arithmetic the hardware is checked on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwdef.params import EXP2_FRAC_BITS, SHIFT_BITS

LOG2E = 1.0 / math.log(2.0)


@dataclass(frozen=True)
class ScoreScale:
    """The exp2 argument is rshr((S - rowmax) * multiplier, shift) (docs/numerics.md)."""

    multiplier: int
    shift: int


MULTIPLIER_LIMIT = 1 << 30     # the multiplier is an int32 VECTOR scalar, kept positive
MAX_SHIFT = (1 << SHIFT_BITS) - 1    # the VECTOR instruction's shift field
# The largest s_v / s_o: with l >= 255, r <= 2^22 and r' = r·R / 2^RS stays below 2^30
# (docs/numerics.md, "The output scale").
MAX_OUTPUT_RATIO = 256


def score_scale(s_q: float, s_k: float, head_dim: int) -> ScoreScale:
    if not (0 < s_q < math.inf and 0 < s_k < math.inf and head_dim > 0):
        raise ValueError(f"s_q = {s_q}, s_k = {s_k}, head_dim = {head_dim}: scales must be "
                         "positive and finite, head_dim positive")
    alpha = s_q * s_k * LOG2E / math.sqrt(head_dim) * (1 << EXP2_FRAC_BITS)
    if alpha == 0:
        raise ValueError(f"score scale s_q·s_k·log2(e)/sqrt(d) (s_q = {s_q}, s_k = {s_k}) "
                         "underflows to 0: too small to represent")
    if not alpha < MULTIPLIER_LIMIT:     # also inf; below the limit alpha * 2**63 is finite
        raise ValueError(f"score scale {alpha} is too large (needs a multiplier >= 2^30): "
                         "s_q·s_k·log2(e)/sqrt(d) must be below "
                         f"{MULTIPLIER_LIMIT / (1 << EXP2_FRAC_BITS):g}")
    for shift in range(MAX_SHIFT, -1, -1):
        multiplier = round(alpha * (1 << shift))
        if multiplier < MULTIPLIER_LIMIT:
            if multiplier == 0:
                raise ValueError(f"score scale {alpha} is too small to represent")
            return ScoreScale(multiplier, shift)
    raise ValueError(f"score scale {alpha} is too large (needs a multiplier >= 2^30)")


@dataclass(frozen=True)
class OutputScale:
    """O's scale relative to V's: r' = rshr(recip(l) * multiplier, shift) (docs/numerics.md)."""

    multiplier: int = 1
    shift: int = 0

    @property
    def is_identity(self) -> bool:
        return self == OutputScale()


def output_scale(s_v: float, s_o: float) -> OutputScale:
    """Fixed-point s_v / s_o with 16 significant bits (identity when s_o == s_v)."""
    if not (0 < s_v < math.inf and 0 < s_o < math.inf):
        raise ValueError(f"s_v = {s_v}, s_o = {s_o}: scales must be positive and finite")
    ratio = s_v / s_o
    # 16 significant bits need a shift of 15 - floor(log2(ratio)), at most the VECTOR
    # instruction's 63: ratios below 2^-48 cannot be represented
    if not 2.0 ** (15 - MAX_SHIFT) <= ratio <= MAX_OUTPUT_RATIO:
        raise ValueError(f"s_v / s_o = {ratio} is outside [2^{15 - MAX_SHIFT}, "
                         f"{MAX_OUTPUT_RATIO}]")
    if ratio == 1.0:
        return OutputScale()
    shift = max(0, 15 - math.floor(math.log2(ratio)))
    return OutputScale(round(ratio * (1 << shift)), shift)


def causal_offset(seq_q: int, seq_kv: int) -> int:
    """Causal masks are aligned bottom-right: query i sees keys j <= i + causal_offset, as in
    decoding with a cache of seq_kv - seq_q earlier keys (docs/numerics.md)."""
    return seq_kv - seq_q

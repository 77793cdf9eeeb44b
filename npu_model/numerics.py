"""Bit-exact NumPy model of the NPU's integer arithmetic (docs/numerics.md).

This module is the golden reference for the vector ALU array and, later, for the attention
pipeline. It re-derives every constant from the formulas in docs/numerics.md instead of importing
them from the RTL generator, so a wrong generated table is caught, not copied. Only the format
widths (the contract's parameters) come from hwdef.

All functions take and return int64 NumPy arrays holding int32 values; element-wise functions
broadcast like NumPy.
"""

from __future__ import annotations

import numpy as np

from hwdef import params

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
INT8_MIN, INT8_MAX = -128, 127
UINT8_MAX = 255

EXP2_FRAC = params.EXP2_FRAC_BITS
EXP2_SEG_BITS = params.EXP2_SEGMENT_BITS
EXP2_ONE = 1 << params.EXP2_OUT_FRAC_BITS
RECIP_FRAC = params.RECIP_FRAC_BITS


def _as_i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def sat32(x) -> np.ndarray:
    """Clamp to the int32 range (inputs must fit in int64)."""
    return np.clip(_as_i64(x), INT32_MIN, INT32_MAX)


def overflowed32(x) -> np.ndarray:
    x = _as_i64(x)
    return (x < INT32_MIN) | (x > INT32_MAX)


def round_shift_right(x, shift: int) -> np.ndarray:
    """floor((x + 2**(shift-1)) / 2**shift): round half up; shift 0 is the identity.

    Python integers are used when the addend could overflow int64 (|x| close to 2**63)."""
    if not (isinstance(x, np.ndarray) and x.dtype == object):
        x = _as_i64(x)
    return x if shift == 0 else (x + (1 << (shift - 1))) >> shift


# ---- element-wise operations -------------------------------------------------------------
def vadd(a, b):
    return sat32(_as_i64(a) + _as_i64(b))


def vsub(a, b):
    return sat32(_as_i64(a) - _as_i64(b))


def vmax(a, b):
    return np.maximum(_as_i64(a), _as_i64(b))


def mulshr_exact(a, b, shift: int) -> np.ndarray:
    """Unsaturated round-half-up (a * b) / 2**shift with an exact (Python int) product."""
    a, b = np.broadcast_arrays(_as_i64(a), _as_i64(b))
    product = a.astype(object) * b.astype(object)
    return round_shift_right(product, shift)


def vmulshr(a, b, shift: int) -> np.ndarray:
    """sat32(round_half_up(a * b / 2**shift)); the product is exact (64 bits + rounding)."""
    a_, b_ = np.broadcast_arrays(_as_i64(a), _as_i64(b))
    # Fast path: the product and rounding addend fit comfortably in int64.
    if a_.size == 0 or (np.abs(a_).max(initial=0) < (1 << 31) and
                         np.abs(b_).max(initial=0) < (1 << 30)):
        return sat32(round_shift_right(a_ * b_, shift))
    exact = mulshr_exact(a_, b_, shift)
    return np.clip(exact, INT32_MIN, INT32_MAX).astype(np.int64)


def exp2_tables() -> tuple[np.ndarray, np.ndarray]:
    """(base, slope) of the piecewise-linear 2**f, derived from the formula in numerics.md."""
    segments = 1 << EXP2_SEG_BITS
    knots = np.array([round(EXP2_ONE * 2.0 ** (i / segments)) for i in range(segments)]
                     + [2 * EXP2_ONE], dtype=np.int64)
    return knots[:-1], np.diff(knots)


_EXP2_BASE, _EXP2_SLOPE = exp2_tables()


def vexp2(a, shift: int = 0) -> np.ndarray:
    """round(2**(a / 2**EXP2_FRAC) * 2**(15 - shift)) for a <= 0, in integer steps.

    Positive a is treated as 0 (and flagged by `exp2_domain_error`)."""
    t = np.minimum(_as_i64(a), 0)
    whole = t >> EXP2_FRAC  # floor(t / 2**F) <= 0
    frac = t & ((1 << EXP2_FRAC) - 1)  # in [0, 2**F)
    rem_bits = EXP2_FRAC - EXP2_SEG_BITS
    segment = frac >> rem_bits
    rem = frac & ((1 << rem_bits) - 1)
    mantissa = _EXP2_BASE[segment] + ((_EXP2_SLOPE[segment] * rem + (1 << (rem_bits - 1)))
                                      >> rem_bits)
    total_shift = -whole + shift  # >= 0
    capped = np.minimum(total_shift, 40)  # mantissa < 2**16: any shift >= 17 gives 0
    rounding = np.where(capped > 0, np.left_shift(1, np.maximum(capped - 1, 0)), 0)
    return (mantissa + rounding) >> capped


def exp2_domain_error(a) -> np.ndarray:
    return _as_i64(a) > 0


def vrecip(a) -> np.ndarray:
    """round_half_up(2**RECIP_FRAC / a) for a > 0; INT32_MAX for a <= 0 (flagged)."""
    a = _as_i64(a)
    safe = np.where(a > 0, a, 1)
    quotient = (1 << (RECIP_FRAC + 1)) // safe  # floor(2**(F+1) / a)
    result = (quotient + 1) >> 1
    return np.where(a > 0, result, INT32_MAX)


def recip_domain_error(a) -> np.ndarray:
    return _as_i64(a) <= 0


def narrow(x, mode: params.SatMode) -> np.ndarray:
    x = _as_i64(x)
    if mode == params.SatMode.INT8:
        return np.clip(x, INT8_MIN, INT8_MAX)
    if mode == params.SatMode.UINT8:
        return np.clip(x, 0, UINT8_MAX)
    return x


# ---- row reductions ------------------------------------------------------------------------
def row_max(values, mask=None) -> int:
    """Max over the enabled elements of a row (INT32_MIN when none is enabled)."""
    values = _as_i64(values)
    if mask is not None:
        values = values[np.asarray(mask, dtype=bool)]
    return int(values.max()) if values.size else INT32_MIN


def row_sum_vectors(vectors, masks=None) -> tuple[int, bool]:
    """Saturating row sum as the hardware computes it: per vector an exact lane sum, then a
    saturating int32 accumulation across the vectors of the row."""
    total, overflow = 0, False
    for index, vector in enumerate(vectors):
        vector = _as_i64(vector)
        if masks is not None:
            vector = np.where(np.asarray(masks[index], dtype=bool), vector, 0)
        total += int(vector.sum())
        if total > INT32_MAX or total < INT32_MIN:
            overflow = True
            total = max(INT32_MIN, min(INT32_MAX, total))
    return total, overflow

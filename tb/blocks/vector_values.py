"""int32 operand values for the vector benches (tb/blocks/test_vector_unit.py and the vector
engine's sequences): a mix of full-range values, small values, values of random magnitude and
corners, and per-op values mostly in the op's useful range."""

from __future__ import annotations

import numpy as np

from hwdef.params import VecOp
from npu_model import numerics as nm

INT32_MIN, INT32_MAX = nm.INT32_MIN, nm.INT32_MAX
ELEMENTWISE = [VecOp.COPY, VecOp.ADD, VecOp.SUB, VecOp.MAX, VecOp.MULSHR, VecOp.EXP2,
               VecOp.RECIP]
# Interesting int32 values: extremes, narrowing boundaries, small numbers.
CORNERS = np.array([INT32_MIN, INT32_MIN + 1, -(1 << 30), -65536, -1025, -1024, -1023, -256,
                    -129, -128, -127, -2, -1, 0, 1, 2, 126, 127, 128, 254, 255, 256, 1023, 1024,
                    65535, 1 << 30, INT32_MAX - 1, INT32_MAX], dtype=np.int64)


def rand_int32(rng, n: int) -> np.ndarray:
    """A mix of full-range values, small values, values of random magnitude and corners."""
    kind = rng.integers(0, 4, n)
    full = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True)
    small = rng.integers(-300, 300, n, endpoint=True)
    bits = rng.integers(0, 32, n)
    magnitude = rng.integers(0, 1 << 31, n) >> (31 - bits)
    scaled = np.where(rng.random(n) < 0.5, -magnitude, magnitude)
    corner = rng.choice(CORNERS, n)
    return np.select([kind == 0, kind == 1, kind == 2], [full, small, scaled], corner)


def rand_operand_a(rng, op: VecOp, n: int, exp2_range: int = 40 * 1024,
                   odd: float = 0.15) -> np.ndarray:
    """Operand a for `op`: EXP2 mostly in [-exp2_range, 0], RECIP log-uniform positive, a
    fraction `odd` of any int32 (domain errors, extremes); other ops any int32."""
    if op == VecOp.EXP2:
        values = -rng.integers(0, exp2_range, n)
    elif op == VecOp.RECIP:
        bits = rng.integers(0, 31, n)
        values = np.maximum(rng.integers(0, 1 << 31, n) >> (31 - bits), 1)
    else:
        return rand_int32(rng, n)
    return np.where(rng.random(n) < odd, rand_int32(rng, n), values)

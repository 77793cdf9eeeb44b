"""Accuracy of the integer exp2 and reciprocal (npu_model/numerics.py) against float64.

Pure NumPy, no simulator. The figures are printed (`pytest -s` shows them) and repeated in the
assertion messages; docs/numerics.md states the bounds:

* exp2: relative error <= 0.5% wherever the ideal result is >= 256 LSB (also reported for
  >= 128 LSB, the bound numerics.md quotes), and the max absolute error in LSB over the whole
  range of arguments and shifts;
* recip: error <= 1 LSB of the 2^-30 format (by construction it is below 0.5 LSB).
"""

from __future__ import annotations

import numpy as np

from hwdef.params import EXP2_FRAC_BITS, EXP2_OUT_FRAC_BITS, RECIP_FRAC_BITS
from npu_model import numerics as nm

EXP2_REL_BOUND = 0.005
RECIP_LSB_BOUND = 1.0


def exp2_errors(max_shift: int = 20) -> dict[str, float]:
    """Every argument down to where every result is 0 (-32 in exp2 units), shifts 0..max_shift."""
    a = np.arange(-32 << EXP2_FRAC_BITS, 1, dtype=np.int64)
    worst = {"rel_256": 0.0, "rel_128": 0.0, "abs_lsb": 0.0}
    for shift in range(max_shift + 1):
        got = nm.vexp2(a, shift).astype(np.float64)
        ideal = np.exp2(a / float(1 << EXP2_FRAC_BITS) + (EXP2_OUT_FRAC_BITS - shift))
        err = np.abs(got - ideal)
        worst["abs_lsb"] = max(worst["abs_lsb"], float(err.max()))
        for key, floor in (("rel_256", 256.0), ("rel_128", 128.0)):
            sel = ideal >= floor
            if sel.any():
                worst[key] = max(worst[key], float((err[sel] / ideal[sel]).max()))
    return worst


def recip_errors(rng: np.random.Generator) -> float:
    """Max |recip(a) - 2^30 / a| in LSB: every a < 2^20, 10^6 log-uniform a, and the edges."""
    small = np.arange(1, 1 << 20, dtype=np.int64)
    bits = rng.uniform(20, 31, 1_000_000)
    large = np.clip(np.exp2(bits).astype(np.int64), 1, nm.INT32_MAX)
    edges = np.array([nm.INT32_MAX, nm.INT32_MAX - 1, 1 << 30, (1 << 30) - 1, (1 << 30) + 1,
                      (1 << 20) + 1, 3, 5, 7], dtype=np.int64)
    a = np.concatenate([small, large, edges])
    got = nm.vrecip(a).astype(np.float64)
    ideal = float(1 << RECIP_FRAC_BITS) / a.astype(np.float64)
    return float(np.abs(got - ideal).max())


def test_exp2_accuracy():
    worst = exp2_errors()
    report = (f"exp2: max relative error {worst['rel_256']:.3e} where ideal >= 256 LSB "
              f"({worst['rel_128']:.3e} where >= 128 LSB); max abs error "
              f"{worst['abs_lsb']:.3f} LSB over args [-32, 0] x shifts 0..20")
    print(report)
    assert worst["rel_256"] <= EXP2_REL_BOUND, report
    assert worst["rel_128"] <= EXP2_REL_BOUND, report


def test_exp2_special_arguments():
    # exp2(0) is exactly 1.0 in every output format; positive arguments are clamped to 0.
    for shift in range(16):
        assert int(nm.vexp2(0, shift)) == 1 << (EXP2_OUT_FRAC_BITS - shift)
        assert int(nm.vexp2(12345, shift)) == int(nm.vexp2(0, shift))
    assert int(nm.vexp2(nm.INT32_MIN, 0)) == 0
    # exp2(-k) for whole k halves exactly.
    for k in range(16):
        assert int(nm.vexp2(-k << EXP2_FRAC_BITS, 0)) == 1 << (EXP2_OUT_FRAC_BITS - k)


def test_recip_accuracy():
    err = recip_errors(np.random.default_rng(2024))
    report = (f"recip: max error {err:.12f} LSB of 2^-{RECIP_FRAC_BITS} against float64 "
              f"(round half up bound: 0.5 LSB)")
    print(report)
    assert err <= RECIP_LSB_BOUND, report
    assert err <= 0.5, report


def test_recip_special_arguments():
    assert int(nm.vrecip(1)) == 1 << RECIP_FRAC_BITS
    assert int(nm.vrecip(2)) == 1 << (RECIP_FRAC_BITS - 1)
    assert int(nm.vrecip(nm.INT32_MAX)) == 1  # 2^30 / (2^31 - 1) = 0.50000000023 -> 1
    for bad in (0, -1, nm.INT32_MIN):
        assert int(nm.vrecip(bad)) == nm.INT32_MAX
        assert bool(nm.recip_domain_error(bad))

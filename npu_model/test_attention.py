"""Accuracy of the integer attention contract (docs/numerics.md) against float64.

Pure NumPy: the golden model that every NPU schedule must match bit for bit is itself checked
for accuracy here. Figures are printed (`pytest -s`) and carried in the assertion messages.
"""

from __future__ import annotations

import numpy as np
import pytest

from npu_model.attention import (
    accuracy,
    attention_float,
    attention_int,
    fit_output_scale,
    key_mask,
    output_scale,
    quantize,
    score_scale,
)


def _case(n_q: int, n_k: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    q, s_q = quantize(rng.standard_normal((n_q, d)))
    k, s_k = quantize(rng.standard_normal((n_k, d)))
    v, s_v = quantize(rng.standard_normal((n_k, d)))
    return q, k, v, s_q, s_k, s_v


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n, d", [(1, 64), (17, 16), (100, 64), (255, 128), (512, 64),
                                  (1024, 64), (4096, 64)])
def test_integer_attention_tracks_float64(n, d, causal):
    q, k, v, s_q, s_k, s_v = _case(n, n, d, seed=n * 131 + d + causal)
    ref = attention_float(q, k, v, s_q, s_k, s_v, causal)
    # A calibrated output scale: averaging N rows of V shrinks O, so V's own scale would
    # leave O only a few int8 levels (that, not softmax, would limit accuracy).
    s_o = fit_output_scale(ref, s_v)
    o = attention_int(q, k, v, score_scale(s_q, s_k, d), causal, output_scale(s_v, s_o))
    acc = accuracy(o, ref, s_o)
    figures = (f"N={n} d={d} causal={causal}: cosine {acc.cosine:.6f}, "
               f"max abs error {acc.max_abs_lsb:.2f} LSB")
    print(figures)
    # Target of the project: cosine >= 0.999 up to N = 1024. Beyond, one output scale per
    # tensor serves rows with very different ranges (causal: row 0 sees one key, the last row
    # all of them), so the bound printed is reported rather than required.
    assert acc.cosine >= (0.999 if n <= 1024 else 0.99), figures


def test_causal_mask_is_bottom_right_aligned():
    valid = key_mask(2, 4, causal=True)
    assert valid.tolist() == [[True, True, True, False], [True, True, True, True]]


def test_masked_keys_do_not_change_the_output():
    """Keys a query may not see can hold anything: the output is the same bits."""
    q, k, v, s_q, s_k, s_v = _case(8, 8, 16, seed=3)
    scale = score_scale(s_q, s_k, 16)
    base = attention_int(q, k, v, scale, causal=True)
    k2, v2 = k.copy(), v.copy()
    k2[-1], v2[-1] = 127, -128          # key 7 is visible to query 7 only
    changed = attention_int(q, k2, v2, scale, causal=True)
    assert np.array_equal(base[:-1], changed[:-1])
    assert not np.array_equal(base[-1], changed[-1])


def test_output_is_a_convex_combination_of_v():
    q, k, v, s_q, s_k, s_v = _case(64, 64, 32, seed=5)
    o = attention_int(q, k, v, score_scale(s_q, s_k, 32)).astype(np.int64)
    v64 = v.astype(np.int64)
    assert np.all(o <= v64.max(axis=0) + 1) and np.all(o >= v64.min(axis=0) - 1)

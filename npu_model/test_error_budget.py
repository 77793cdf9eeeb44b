"""npu_model/error_budget.py: the stages of the contract's error budget."""

from __future__ import annotations

import numpy as np
import pytest

from hwdef.quant import output_scale, score_scale
from npu_model.attention import (
    attention_float,
    attention_int,
    cosine,
    fit_output_scale,
    quantize_at,
)
from npu_model.error_budget import (
    STAGES,
    WIDE_OUTPUT_RATIO,
    attention_proposed,
    attention_stages,
    budget,
)


def test_the_last_stage_is_the_contract():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((24, 32)) for _ in range(3))
    s_q, s_k, s_v = 0.03, 0.025, 0.028
    s_o = fit_output_scale(attention_float(q, k, v, 1, 1, 1, True), s_v)   # no saturation
    stages = attention_stages(q, k, v, s_q, s_k, s_v, s_o, causal=True)
    assert list(stages) == list(STAGES)
    qi, ki, vi = (quantize_at(x, s) for x, s in ((q, s_q), (k, s_k), (v, s_v)))
    contract = attention_int(qi, ki, vi, score_scale(s_q, s_k, 32), True,
                             output_scale(s_v, s_o)) * s_o
    assert np.array_equal(stages["output rounding"], contract)
    cos = budget(q, k, v, s_q, s_k, s_v, s_o, causal=True)
    # quantizing the inputs alone keeps float softmax: closest to float64, and every stage
    # after it stays close; the whole contract loses most at the int8 output
    assert cos["int8 Q, K, V"] > 0.999 and min(cos.values()) > 0.99
    assert cos["output rounding"] < cos["int8 Q, K, V"]


def test_finer_inputs_leave_only_the_later_steps():
    """With fine input scales (values far inside int8) the first stage is almost float64."""
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((16, 16)) * 0.1 for _ in range(3))
    cos = budget(q, k, v, 0.004, 0.004, 0.004, 0.004)
    assert cos["int8 Q, K, V"] > 0.9999


def test_each_stage_computes_its_own_step():
    """Independent of the stages' code: the first is float softmax of the dequantized inputs;
    the fourth (uint8 weights, float division) is within 1 LSB of the contract (the last) when
    nothing saturates; neighbouring stages differ on random data (each adds its step); the exp2
    table keeps within its documented 0.5% of exact 2^t."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((20, 16)) for _ in range(3))
    s_q = s_k = s_v = 0.03
    s_o = fit_output_scale(attention_float(q, k, v, 1, 1, 1), s_v)
    st = attention_stages(q, k, v, s_q, s_k, s_v, s_o)
    qf, kf, vf = (quantize_at(x, s).astype(np.float64) * s for x, s in ((q, s_q), (k, s_k),
                                                                          (v, s_v)))
    logits = qf @ kf.T / 4.0
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(st["int8 Q, K, V"], (w / w.sum(axis=1, keepdims=True)) @ vf)
    assert np.abs(st["uint8 weights"] / s_o - st["output rounding"] / s_o).max() <= 1.0 + 1e-9
    for a, b in zip(STAGES, STAGES[1:]):
        assert not np.array_equal(st[a], st[b]), (a, b)
    rel = np.abs(st["exp2 table"] - st["score scaling"]) / np.abs(st["score scaling"]).max()
    assert rel.max() < 0.005


def test_the_wide_output_is_the_float_division_to_1_256_of_an_lsb():
    """The proposal's wide O is the uint8-weights stage (P·V / l in float) to within about one
    of its own LSBs (s_v / 256), far finer than the contract's int8 output."""
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((20, 16)) for _ in range(3))
    s = 0.03
    wide = attention_proposed(q, k, v, s, s, s, "wide O")
    exact = attention_stages(q, k, v, s, s, s, s)["uint8 weights"]
    assert np.abs(wide - exact).max() <= 1.1 * s / WIDE_OUTPUT_RATIO
    assert not np.array_equal(wide, exact)


def test_the_wide_output_cannot_saturate():
    """V at the int8 extremes: O is V's value at 256 times its scale, not clamped."""
    n, d = 64, 8
    q, k = np.zeros((n, d)), np.zeros((n, d))
    for peak in (127, -128):
        o = attention_proposed(q, k, np.full((n, d), float(peak)), 1.0, 1.0, 1.0, "wide O")
        assert np.all(np.abs(o - peak) <= 1.0 / WIDE_OUTPUT_RATIO)


def test_per_channel_v_keeps_a_small_channel():
    """A channel of V 1000 times smaller than the rest rounds to 0 at one scale per head and
    keeps its shape at its own scale."""
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((32, 8)) for _ in range(3))
    v[:, 3] *= 1e-3
    s_v = float(np.abs(v).max() / 127)
    want = attention_float(q, k, v, 1, 1, 1)[:, 3]
    per_head = attention_proposed(q, k, v, 0.03, 0.03, s_v, "wide O")[:, 3]
    per_channel = attention_proposed(q, k, v, 0.03, 0.03, s_v, "wide O, per-channel V")[:, 3]
    assert cosine(per_channel, want) > 0.999
    assert not np.any(per_head) or cosine(per_head, want) < 0.9


def test_an_unknown_proposal_is_refused():
    with pytest.raises(ValueError, match="proposal 'int4'"):
        attention_proposed(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), 1, 1, 1,
                           "int4")

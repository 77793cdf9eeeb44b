"""npu_model/error_budget.py: the stages of the contract's error budget."""

from __future__ import annotations

import numpy as np

from hwdef.quant import output_scale, score_scale
from npu_model.attention import attention_float, attention_int, fit_output_scale, quantize_at
from npu_model.error_budget import STAGES, attention_stages, budget


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

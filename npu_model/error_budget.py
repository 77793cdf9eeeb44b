"""Where the integer contract's error comes from: attention with its steps made exact one at
a time.

`attention_stages` computes one head's attention of float inputs five ways, each one more step
of docs/numerics.md in the NPU's integers than the one before (the rest in float64):

    int8 Q, K, V     the inputs quantized at their scales; softmax and output in float64
    score scaling    + the exp2 argument as the contract computes it: rshr((S - m)·M, SH)
    exp2 table       + 2^t from the 16-piece linear table (2^15 units, not yet narrowed)
    uint8 weights    + P narrowed to uint8 relative to the row maximum (>> 7, clamped)
    output rounding  + l, 1/l, A·r >> 30 and int8 O at s_o: the whole contract
                     (npu_model.attention.attention_int, bit for bit)

Comparing each with float64 attention of the unquantized inputs gives the error budget of the
contract per step (bench/minilm.py reports it on MiniLM's embeddings).

`attention_proposed` is the change docs/numerics.md proposes ("Proposed: a wide output and
per-channel V"), with the same instructions and integers as the contract up to step 9:

    wide O                  step 9 not narrowed (SatMode.NONE): O at s_o = s_v / 256, the
                            largest ratio step 8b takes; O is a convex combination of V's rows,
                            so it cannot saturate, and it fits 16 bits (|O| <= 128·256 plus
                            the reciprocal's rounding)
    wide O, per-channel V   + each channel of V at its own max |v| / 127 over these rows
                            (dynamic): P·V keeps channels apart, so O's channel c is in units
                            of s_v[c] / 256 and the program is the same
"""

from __future__ import annotations

import numpy as np

from hwdef import params
from hwdef.quant import MAX_OUTPUT_RATIO, output_scale, score_scale
from npu_model import numerics as nx
from npu_model.attention import (
    attention_float,
    attention_int,
    cosine,
    int8_scale,
    key_mask,
    quantize_at,
)

STAGES = ("int8 Q, K, V", "score scaling", "exp2 table", "uint8 weights", "output rounding")
PROPOSALS = ("wide O", "wide O, per-channel V")
WIDE_OUTPUT_RATIO = MAX_OUTPUT_RATIO     # s_v / s_o: the largest the output scale takes


def attention_stages(q, k, v, s_q: float, s_k: float, s_v: float, s_o: float,
                     causal: bool = False) -> dict[str, np.ndarray]:
    """stage -> O in real units (n_q x d) of float inputs q (n_q x d), k, v (n_k x d)."""
    qi, ki, vi = (quantize_at(x, s) for x, s in ((q, s_q), (k, s_k), (v, s_v)))
    d = q.shape[1]
    scale = score_scale(s_q, s_k, d)
    valid = key_mask(len(qi), len(ki), causal)
    vf = vi.astype(np.float64) * s_v

    def normalized(w: np.ndarray) -> np.ndarray:
        w = np.where(valid, w, 0.0)
        total = w.sum(axis=1, keepdims=True)
        return np.divide(w, total, out=np.zeros_like(w), where=total > 0) @ vf

    out = {STAGES[0]: attention_float(qi, ki, vi, s_q, s_k, s_v, causal)}
    s = qi.astype(np.int64) @ ki.astype(np.int64).T
    m = np.where(valid, s, nx.INT32_MIN).max(axis=1, keepdims=True)
    t = nx.vmulshr(nx.vsub(s, m), scale.multiplier, scale.shift)
    # masked lanes may have t > 0 (they are zeroed after); keep exp2 finite, as vexp2 does
    out[STAGES[1]] = normalized(np.exp2(np.minimum(t, 0) / float(1 << params.EXP2_FRAC_BITS)))
    out[STAGES[2]] = normalized(nx.vexp2(t, 0).astype(np.float64))
    out[STAGES[3]] = normalized(
        nx.narrow(nx.vexp2(t, params.SOFTMAX_EXP2_SHIFT), params.SatMode.UINT8)
        .astype(np.float64))
    o = attention_int(qi, ki, vi, scale, causal, output_scale(s_v, s_o))
    out[STAGES[4]] = o.astype(np.float64) * s_o
    return out


def budget(q, k, v, s_q: float, s_k: float, s_v: float, s_o: float,
           causal: bool = False) -> dict[str, float]:
    """stage -> cosine of that stage's O against float64 attention of the float inputs."""
    want = attention_float(q, k, v, 1.0, 1.0, 1.0, causal)
    return {name: cosine(o, want)
            for name, o in attention_stages(q, k, v, s_q, s_k, s_v, s_o, causal).items()}



def attention_proposed(q, k, v, s_q: float, s_k: float, s_v: float, proposal: str,
                       causal: bool = False) -> np.ndarray:
    """O in real units (n_q x d) of float inputs under *proposal* (one of PROPOSALS); Q and K
    at s_q and s_k, V at s_v unless the proposal quantizes it per channel."""
    if proposal not in PROPOSALS:
        raise ValueError(f"proposal {proposal!r}: one of {', '.join(PROPOSALS)}")
    s_vc = (int8_scale(np.abs(v).max(axis=0)) if proposal == "wide O, per-channel V"
            else np.full(v.shape[1], float(s_v)))
    qi, ki, vi = quantize_at(q, s_q), quantize_at(k, s_k), quantize_at(v, s_vc)
    o = attention_int(qi, ki, vi, score_scale(s_q, s_k, q.shape[1]), causal,
                      output_scale(1.0, 1.0 / WIDE_OUTPUT_RATIO), params.SatMode.NONE)
    return o.astype(np.float64) * (s_vc / WIDE_OUTPUT_RATIO)

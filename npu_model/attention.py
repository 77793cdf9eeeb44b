"""Golden models of exact attention: the NPU's integer arithmetic and a float64 reference.

`attention_int` follows docs/numerics.md step by step with the bit-exact vector operations of
npu_model/numerics.py (it does not know about tiling: any schedule of the NPU must reproduce it
bit for bit). `attention_float` is softmax(Q·Kᵀ/sqrt(d))·V in float64 on the dequantized inputs.
`accuracy` compares the two (cosine similarity, max abs error in output LSBs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwdef import params
from hwdef.quant import LOG2E, OutputScale, ScoreScale, causal_offset, output_scale, score_scale  # noqa: F401
from npu_model import numerics as nx


def key_mask(n_q: int, n_k: int, causal: bool) -> np.ndarray:
    """valid[i, j]: query i may attend key j (causal: bottom-right, hwdef.quant.causal_offset)."""
    valid = np.ones((n_q, n_k), dtype=bool)
    if causal:
        valid &= np.arange(n_k)[None, :] <= np.arange(n_q)[:, None] + causal_offset(n_q, n_k)
    return valid


def attention_int(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: ScoreScale,
                  causal: bool = False, out: OutputScale = OutputScale(),
                  sat: params.SatMode = params.SatMode.INT8) -> np.ndarray:
    """int8 Q (n_q x d), K (n_k x d), V (n_k x d) -> int8 O (n_q x d) in the output scale.

    *sat* is step 9's narrowing: the contract's INT8, or NONE for the int32 result (the
    proposed wide output of npu_model/error_budget.py; an int64 array then)."""
    q64, k64, v64 = (np.asarray(x, dtype=np.int64) for x in (q, k, v))
    valid = key_mask(len(q64), len(k64), causal)
    s = q64 @ k64.T                                               # 1. int32, exact
    m = np.where(valid, s, nx.INT32_MIN).max(axis=1, keepdims=True)   # 2. RMAX
    x = nx.vsub(s, m)                                             # 3. SUB (row broadcast)
    t = nx.vmulshr(x, scale.multiplier, scale.shift)              # 4. MULSHR (scalar)
    p = nx.narrow(nx.vexp2(t, params.SOFTMAX_EXP2_SHIFT), params.SatMode.UINT8)  # 5.
    p = np.where(valid, p, 0)                                     #    masked lanes give 0
    l = p.sum(axis=1, keepdims=True)                              # 6. RSUM (< 2^20)
    a = p @ v64                                                   # 7. P·V, int32 exact
    r = nx.vrecip(l)                                              # 8. RECIP
    if out != OutputScale():
        r = nx.vmulshr(r, out.multiplier, out.shift)              # 8b. MULSHR (scalar)
    o = nx.narrow(nx.vmulshr(a, r, params.RECIP_FRAC_BITS), sat)   # 9.
    return o.astype(np.int8) if sat == params.SatMode.INT8 else o


def attention_float(q: np.ndarray, k: np.ndarray, v: np.ndarray, s_q: float, s_k: float,
                    s_v: float, causal: bool = False) -> np.ndarray:
    """float64 reference on the dequantized int8 inputs; returns O in real units."""
    qf, kf, vf = q * s_q, k * s_k, v * s_v
    logits = qf.astype(np.float64) @ kf.T.astype(np.float64) / math.sqrt(q.shape[1])
    valid = key_mask(len(q), len(k), causal)
    logits = np.where(valid, logits, -np.inf)
    peak = logits.max(axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    w = np.where(valid, np.exp(logits - peak), 0.0)
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0) @ vf


def quantize(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric int8 quantization with the scale that maps max |x| to 127."""
    scale = float(int8_scale(np.abs(x).max()))
    return quantize_at(x, scale), scale


def int8_scale(peak) -> np.ndarray:
    """The symmetric int8 scale of data whose max |x| is *peak*: peak / 127 (1/127 for an
    all-zero tensor); elementwise over an array of peaks."""
    peak = np.asarray(peak, dtype=np.float64)
    return np.where(peak > 0, peak, 1.0) / 127.0


def quantize_at(x: np.ndarray, scale) -> np.ndarray:
    """int8 of x / scale, rounded half to even and saturated (*scale* broadcasts)."""
    return np.clip(np.round(np.asarray(x) / scale), -128, 127).astype(np.int8)


@dataclass(frozen=True)
class Accuracy:
    cosine: float
    max_abs_lsb: float


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two arrays taken as vectors (1.0 for two equal zero arrays)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom else float(np.array_equal(a, b))


def accuracy(o_int: np.ndarray, o_float: np.ndarray, s_o: float) -> Accuracy:
    got = o_int.astype(np.float64).reshape(-1) * s_o
    want = o_float.reshape(-1)
    return Accuracy(cosine(got, want),
                    float(np.abs(got - want).max() / s_o) if got.size else 0.0)


# ---- several heads at once ([heads, rows, d] arrays), and the regression's calibration ------
def attention_int_heads(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: ScoreScale,
                        causal: bool = False, out: OutputScale = OutputScale()) -> np.ndarray:
    return np.stack([attention_int(q[h], k[h], v[h], scale, causal, out)
                     for h in range(len(q))])


def attention_float_heads(q: np.ndarray, k: np.ndarray, v: np.ndarray, s_q: float, s_k: float,
                          s_v: float, causal: bool = False) -> np.ndarray:
    return np.stack([attention_float(q[h], k[h], v[h], s_q, s_k, s_v, causal)
                     for h in range(len(q))])


def gaussian_inputs(rng: np.random.Generator, heads: int, seq_q: int, seq_kv: int, d: int
                    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray],
                               tuple[float, float, float]]:
    """Gaussian Q, K, V [heads, rows, d], each quantized to int8 with its own scale:
    ((q, k, v), (s_q, s_k, s_v))."""
    q, s_q = quantize(rng.standard_normal((heads, seq_q, d)))
    k, s_k = quantize(rng.standard_normal((heads, seq_kv, d)))
    v, s_v = quantize(rng.standard_normal((heads, seq_kv, d)))
    return (q, k, v), (s_q, s_k, s_v)


def fit_output_scale(o_float: np.ndarray, s_v: float) -> float:
    """An output scale fitted to the float64 result: O averages many rows of V and shrinks
    (docs/numerics.md, step 8b), so int8 levels are spent on the range O really takes; never
    coarser than V's scale."""
    peak = float(np.abs(o_float).max())
    return min(s_v, peak / 127) if peak > 0 else s_v

"""Attention on the runner: inputs, calibration and the check of a run's output.

    sched = build_schedule(wl, cfg, "mas")
    outcome = run(Job.for_schedule(sched, q, k, v), backend="rtl")
    check = check_attention(sched, outcome.outputs["O"], q, k, v)   # against the contract

`check_attention` compares O with the integer contract (npu_model.attention.attention_int)
bit for bit and with the float64 reference (cosine, max abs error in output LSBs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from npu_model.attention import (
    accuracy,
    attention_float_heads,
    attention_int_heads,
    fit_output_scale,
)
from scheduler import Schedule, Workload
from scheduler.bundle import Bundle


def calibrated(wl: Workload, scales: tuple[float, float, float], q, k, v) -> Workload:
    """*wl* with the inputs' scales (s_q, s_k, s_v) and an output scale fitted to the float64
    result of the same inputs (the regression's rule; docs/numerics.md)."""
    s_q, s_k, s_v = scales
    wl = replace(wl, s_q=s_q, s_k=s_k, s_v=s_v, s_o=None)
    s_o = fit_output_scale(attention_float_heads(q, k, v, s_q, s_k, s_v, wl.causal), s_v)
    return replace(wl, s_o=s_o if s_o != s_v else None)


@dataclass(frozen=True)
class AttentionCheck:
    output: np.ndarray          # int8 O [batch*heads, seq_q, d]
    mismatches: int             # output bytes that differ from the integer contract
    first_mismatch: tuple | None
    cosine: float               # against the float64 reference
    max_abs_lsb: float

    @property
    def bit_exact(self) -> bool:
        return self.mismatches == 0


def check_attention(sched: Schedule | Bundle, o_bytes: np.ndarray, q, k, v) -> AttentionCheck:
    """*o_bytes*: the output region read back (`outcome.outputs["O"]`); *sched*: the schedule
    or the bundle (scheduler/bundle.py) that ran."""
    wl = sched.workload
    out = sched.read_output(o_bytes)
    want = attention_int_heads(q, k, v, wl.score, wl.causal, wl.output)
    bad = np.argwhere(out != want)
    acc = accuracy(out, attention_float_heads(q, k, v, wl.s_q, wl.s_k, wl.s_v, wl.causal),
                   wl.s_o if wl.s_o is not None else wl.s_v)
    return AttentionCheck(out, len(bad), tuple(bad[0].tolist()) if len(bad) else None,
                          acc.cosine, acc.max_abs_lsb)

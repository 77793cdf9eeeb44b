"""Reset-bug hunt in the suite: the top-level tests and an attention case on a build with unique
X values and random initial state (`--x-assign unique --x-initial unique`,
`+verilator+rand+reset+2`: what `NPU_X_UNIQUE=1` selects for any run).

Every flop that reset does not set starts random, so a value that leaks from power-up (or from an
earlier run: the top-level tests run back to back in one simulation) into a result shows up as a
mismatch against the model. Both sides start a run from the same defined state (DRAM, scratchpad
and accumulators: `NpuBaseTest.define_state`), so only real reset bugs fail here. One
configuration (`tiny`) keeps the extra Verilator build cheap; `NPU_X_UNIQUE=1 make sim` runs
everything this way.
"""

from __future__ import annotations

import json

import pytest

from tb.top.env import run_on_npu


@pytest.mark.sim
def test_top_level_with_unique_x(monkeypatch):
    monkeypatch.setenv("NPU_X_UNIQUE", "1")
    run_on_npu("tb.top.test_npu_top", "tiny", run_tag="xunique")


@pytest.mark.sim
def test_attention_with_unique_x(monkeypatch):
    from tb.top.test_attention import CASE_ENV
    monkeypatch.setenv("NPU_X_UNIQUE", "1")
    case = dict(seq_q=33, seq_kv=70, head_dim=32, heads=2, causal=True,
                strategies=["layerwise", "flat", "serial", "mas"])
    # bit-exact against the golden model and the instruction-level model, strategies equal
    run_on_npu("tb.top.test_attention", "tiny", run_tag="xunique", **{CASE_ENV: json.dumps(case)})

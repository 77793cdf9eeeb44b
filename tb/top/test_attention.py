"""The attention regression: every strategy x sequence lengths x configurations x causal.

One cocotb test per case runs layerwise, flat (FLAT), serial (the ablation) and mas on the
same Gaussian inputs and checks that each NPU output equals the integer golden model bit for
bit (and the instruction-level model byte for byte), that the strategies are bit-identical,
and reports accuracy
against float64. `make sim` prints a summary table (tb/conftest.py) with measured and
predicted cycles.

    make sim                               # the whole matrix (with the block benches)
    make sim SEQ=300 STRATEGY=mas          # one custom case (also HEADS, DIM, CAUSAL, CONFIG)
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import pyuvm

from scheduler import STRATEGIES, Workload
from tb.top.attention_env import AttentionTestBase
from tb.top.env import run_on_npu

CASE_ENV = "NPU_ATTENTION_CASE"


@pyuvm.test()
class AttentionCaseTest(AttentionTestBase):
    """The case in $NPU_ATTENTION_CASE (JSON: workload fields, "strategies")."""

    async def run_phase(self):
        self.raise_objection()
        case = json.loads(os.environ[CASE_ENV])
        strategies = case.pop("strategies")
        wl = Workload(**case)
        q, k, v = self.random_inputs(wl)
        wl = self.calibrated(wl, q, k, v)
        try:
            for strategy in strategies:
                await self.run_attention(wl, strategy, q, k, v)
        finally:
            self.save_runs()
        first = self.runs[0]
        for run in self.runs[1:]:
            assert np.array_equal(run.output, first.output), (
                f"{run.strategy} and {first.strategy} outputs differ")
        self.drop_objection()


# ---- pytest launchers -----------------------------------------------------------------------
def _case(config, seq, causal, head_dim=None, heads=1, seq_kv=None, long=False):
    dim = head_dim or (16 if config == "tiny" else 64)
    return pytest.param(
        config, dict(seq_q=seq, seq_kv=seq_kv or seq, head_dim=dim, heads=heads,
                     causal=causal),
        id=f"{config}-q{seq}-k{seq_kv or seq}-d{dim}-h{heads}{'-causal' if causal else ''}",
        marks=[pytest.mark.long] if long else [])


def _custom_case():
    """make sim SEQ=...: the case as runner/check_sim_args.py checked it before the build."""
    from runner.check_sim_args import SimArgsError, attention_case
    try:
        case = attention_case(os.environ)
    except SimArgsError as exc:
        raise pytest.UsageError(str(exc)) from None
    wl = case.workload
    return _case(case.config, wl["seq_q"], wl["causal"], wl["head_dim"], wl["heads"],
                 wl["seq_kv"])


def _matrix():
    if os.environ.get("NPU_SEQ"):    # one custom case: make sim SEQ=...
        return [_custom_case()]
    # `long`: the four slowest cases (1.5-4 min each on one core), run by `make sim` and left
    # out of `make test` to keep it inside CI's budget. What they add is covered in `make test`
    # by a smaller case: tiny with many tiles by tiny-q100, causal at N = 512 by the causal
    # default cases up to 255, two heads by tiny-q33-k70-h2. BERT N = 512 itself stays.
    cases = []
    for causal in (False, True):
        cases += [_case("tiny", n, causal, long=n == 255) for n in (1, 17, 100, 255)]
        cases += [_case("default", n, causal, long=n == 512 and causal)
                  for n in (1, 17, 100, 255, 512)]
    cases += [_case("tiny", 33, True, head_dim=32, heads=2, seq_kv=70),
              _case("default", 300, False, head_dim=64, heads=2, long=True),
              _case("default", 100, True, head_dim=128, seq_kv=300),
              _case("default", 64, False, head_dim=40)]
    return cases


def _strategies():
    chosen = os.environ.get("NPU_STRATEGY")     # checked with the case (runner/check_sim_args)
    return [chosen] if chosen else list(STRATEGIES)


@pytest.mark.sim
@pytest.mark.parametrize("config, workload", _matrix())
def test_attention(config, workload, request):
    from tb.conftest import attention_results_file
    case = dict(workload, strategies=_strategies())
    run_on_npu(__name__, config, run_tag=request.node.callspec.id,
               **{CASE_ENV: json.dumps(case),
                  "NPU_ATTENTION_RESULTS": str(attention_results_file(request))})

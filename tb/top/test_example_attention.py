"""The example of docs/writing-tests.md: a new attention test in a few lines.

A forced tiling must give the same bits as the one the search picks, and the search's choice
must be predicted no slower. Run alone with
`.venv/bin/python -m pytest -s tb/top/test_example_attention.py`.
"""

import pytest
import pyuvm

from scheduler import Tiling, Workload
from tb.top.attention_env import AttentionTestBase
from tb.top.env import run_on_npu


@pyuvm.test()
class ForcedTilingTest(AttentionTestBase):
    async def run_phase(self):
        self.raise_objection()
        wl = Workload(seq_q=48, seq_kv=80, head_dim=16, causal=True)
        q, k, v = self.random_inputs(wl)            # Gaussian, quantized to int8
        wl = self.calibrated(wl, q, k, v)           # scales of the inputs, fitted output scale
        searched = await self.run_attention(wl, "mas", q, k, v)
        forced = await self.run_attention(wl, "mas", q, k, v,
                                          tiling=Tiling(block_rows=4, chunk_keys=8))
        assert (forced.output == searched.output).all()
        assert searched.predicted <= forced.predicted
        self.drop_objection()


@pytest.mark.sim
def test_example_attention():
    run_on_npu(__name__, config="tiny")

"""mas with S buffers for a block's whole rows, on a derived configuration.

`tiny+spad_bank_lines=128` is `tiny` with twice the scratchpad (hwdef's derived configuration
names: its own Verilator build, from the same single source). There mas can keep all six
chunks of a block's scores between the max pass and the exp pass (Tiling.score_buffers = 6),
so no Q·Kᵀ is computed twice. On the RTL, under strict overwrite control (every S buffer is
refilled only after its last reader released it), the output must equal the golden model's
bit for bit and equal the two-buffer program's, which recomputes.
"""

import pytest
import pyuvm

from scheduler import Tiling, Workload
from scheduler.plan import chunk_count
from tb.top.attention_env import AttentionTestBase
from tb.top.env import run_on_npu

CONFIG = "tiny+spad_bank_lines=128"


@pyuvm.test()
class WholeRowScoresTest(AttentionTestBase):
    async def run_phase(self):
        self.raise_objection()
        wl = Workload(seq_q=20, seq_kv=24, head_dim=16, causal=True)
        q, k, v = self.random_inputs(wl)
        wl = self.calibrated(wl, q, k, v)
        qk = {}
        for buffers in (6, 2):
            await self.run_attention(wl, "mas", q, k, v,
                                     tiling=Tiling(4, 4, score_buffers=buffers))
            assert self.schedule.strict
            qk[buffers] = sum(i.note.startswith("S = Q·Kᵀ")
                              for i in self.schedule.instructions)
        whole, two = self.runs
        assert (whole.output == two.output).all()
        blocks = [chunk_count(wl, 4, q0, min(4, wl.seq_q - q0)) for q0 in range(0, 20, 4)]
        assert qk[6] == sum(blocks)             # every score computed once
        assert qk[2] == sum(c if c == 1 else c + max(c - 2, 0) for c in blocks)
        self.drop_objection()


@pytest.mark.sim
def test_whole_row_scores_on_a_derived_configuration():
    run_on_npu(__name__, config=CONFIG)

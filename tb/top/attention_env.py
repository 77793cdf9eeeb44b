"""Attention on the NPU in a few lines: the fixtures of the attention regression.

    @pyuvm.test()
    class MyTest(AttentionTestBase):
        async def run_phase(self):
            self.raise_objection()
            wl = Workload(seq_q=40, seq_kv=40, head_dim=16)
            q, k, v = self.random_inputs(wl)              # Gaussian, quantized to int8
            run = await self.run_attention(wl, "mas", q, k, v)
            assert run.cycles < 100_000
            self.drop_objection()

`run_attention` schedules the workload (scheduler.build_schedule: tiling search, program),
loads Q, K, V and the program into DRAM, runs it on the RTL and on the instruction-level model
(the scoreboard compares every output byte), then compares O with the independent integer
golden model (npu_model/attention.attention_int) bit for bit and with the float64 reference
(cosine, max abs error in LSBs). The returned `AttentionRun` carries O, the counters and the
cost model's prediction.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hwdef import regs
from npu_model.attention import (
    attention_float_heads,
    attention_int_heads,
    gaussian_inputs,
)
from runner.attention import calibrated, check_attention
from scheduler import Schedule, Workload, build_schedule
from scheduler.bundle import Bundle, bundle_files, load_bundle
from tb.harness.cocotb_utils import seeded_rng
from tb.top.env import NpuBaseTest


@dataclass
class AttentionRun:
    config: str
    strategy: str
    workload: dict
    tiling: str
    instructions: int
    cycles: int
    predicted: int
    bit_exact: bool
    mismatches: int
    cosine: float
    max_abs_lsb: float
    wall_s: float
    dram: str = "config"                # the DRAM model (hwdef DRAM_MODES)
    bundle: str = ""                    # the bundle that ran (make sim BUNDLE= reruns it)
    counters: dict = field(default_factory=dict)
    output: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("output")
        return d


class AttentionTestBase(NpuBaseTest):
    """NpuBaseTest plus attention: random inputs, one call per strategy, checked outputs."""

    def start_of_simulation_phase(self):
        self.rng = seeded_rng(self.dut, type(self).__name__)
        self.runs: list[AttentionRun] = []

    def random_inputs(self, wl: Workload):
        """Gaussian Q, K, V quantized to int8 (one scale per tensor). Returns the int8 arrays
        [batch*heads, rows, d]; the workload's scales are set by `calibrated`."""
        qkv, self._scales = gaussian_inputs(self.rng, wl.heads_total, wl.seq_q, wl.seq_kv,
                                            wl.head_dim)
        return qkv

    def calibrated(self, wl: Workload, q, k, v) -> Workload:
        """The workload with the inputs' scales and an output scale fitted to the float64
        result (npu_model.attention.fit_output_scale)."""
        return calibrated(wl, self._scales, q, k, v)

    @staticmethod
    def reference(wl: Workload, q, k, v) -> np.ndarray:
        return attention_float_heads(q, k, v, wl.s_q, wl.s_k, wl.s_v, wl.causal)

    @staticmethod
    def golden(wl: Workload, q, k, v) -> np.ndarray:
        return attention_int_heads(q, k, v, wl.score, wl.causal, wl.output)

    async def run_schedule(self, sched: Schedule | Bundle, q, k, v, use_model: bool = True):
        await self.reset()
        return await self.run_image(sched.image(q, k, v), sched.prog_base,
                                    {"O": sched.output_region()}, strict=sched.strict,
                                    timeout_cycles=sched.timeout_cycles,
                                    dram_window=(0, sched.dram_bytes), use_model=use_model)

    async def run_attention(self, wl: Workload, strategy: str, q, k, v, tiling=None,
                            use_model: bool = True, dram_bytes: int | None = None
                            ) -> AttentionRun:
        """*use_model*: also run the instruction-level model (byte-for-byte scoreboard); the
        comparison with the integer golden attention is always made."""
        start = time.perf_counter()
        sched = build_schedule(wl, self.cfg, strategy, tiling, dram_bytes=dram_bytes,
                               dram=self.dram_mode)
        self.schedule = sched
        self.logger.info(sched.summary())
        # What runs is the bundle written from the schedule, as `make sim BUNDLE=` would run it
        # (the inputs beside it: `make sim BUNDLE=DIR INPUTS=DIR/inputs.npz` reruns this case).
        bundle = self.write_bundle(sched, q, k, v)
        report = await self.run_schedule(bundle, q, k, v, use_model)
        status = report.status
        assert status["done"] == 1 and status["error"] == 0, (
            f"{strategy}: NPU stopped with {regs.ErrorCode(status['error_code']).name} at "
            f"0x{report.error_pc:x} (info 0x{report.error_info:x})")
        check = check_attention(bundle, report.outputs["O"], q, k, v)
        out, bad = check.output, check.mismatches
        run = AttentionRun(
            config=self.cfg.name, strategy=strategy, workload=wl.to_dict(),
            tiling=sched.tiling.describe(), instructions=len(sched.words),
            cycles=report.counters["CYCLES"], predicted=sched.prediction.cycles,
            bit_exact=bad == 0, mismatches=bad, cosine=check.cosine,
            max_abs_lsb=check.max_abs_lsb, wall_s=time.perf_counter() - start,
            dram=self.dram_mode, counters=dict(report.counters), output=out,
            bundle=str(bundle.directory))
        self.runs.append(run)
        self.logger.info(
            "%s: %d cycles (predicted %d, %+.1f%%), matrix busy %d, vector busy %d, overlap "
            "%d, %s, cosine %.5f, max err %.2f LSB, %.1f s", strategy, run.cycles,
            run.predicted, 100.0 * (run.predicted - run.cycles) / max(run.cycles, 1),
            run.counters["MATRIX_BUSY"], run.counters["VECTOR_BUSY"],
            run.counters["MATRIX_VECTOR_OVERLAP"],
            "bit-exact" if bad == 0 else f"{bad} OUTPUT BYTES DIFFER", check.cosine,
            check.max_abs_lsb, run.wall_s)
        assert bad == 0, (f"{strategy}: {bad} of {out.size} output bytes differ from the "
                          f"golden model, first at {check.first_mismatch}")
        return run

    def write_bundle(self, sched: Schedule, q, k, v) -> Bundle:
        """The schedule's bundle (scheduler/bundle.py) and its inputs in this run's directory,
        read back through the bundle checks."""
        where = Path.cwd() / "bundles" / f"{len(self.runs):02d}-{sched.strategy}"
        where.mkdir(parents=True, exist_ok=True)
        for name, data in bundle_files(sched).items():
            (where / name).write_bytes(data.encode() if isinstance(data, str) else data)
        np.savez(where / "inputs.npz", q=q, k=k, v=v)
        return load_bundle(where, self.cfg.name)

    def save_runs(self, path: str | os.PathLike | None = None) -> None:
        """Append this test's runs to a JSON-lines file (the regression's summary table)."""
        path = path or os.environ.get("NPU_ATTENTION_RESULTS")
        if path:
            with open(path, "a") as fh:
                for run in self.runs:
                    fh.write(json.dumps(run.to_dict()) + "\n")


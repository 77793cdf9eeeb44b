"""Tests of the measurement bench: parsers, energy model, roofline, report (pure Python) and
one small end-to-end run on the RTL (toggle coverage build, activity trace)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import report
from bench.energy import EnergyModel
from bench.record import BenchRecord
from bench.roofline import roofline, visible_scores
from bench.toggles import read_toggles, subtract
from bench.trace import busy_cycles, lanes, overlaps, perfetto, read_busy, read_trace, union
from hwdef import load_config
from npu_model.attention import key_mask
from scheduler import Workload

COUNTERS = {"CYCLES": 1000, "SPAD_READS": 10, "SPAD_WRITES": 5, "DRAM_READ_BYTES": 640,
            "DRAM_WRITE_BYTES": 64, "MATRIX_BUSY": 800, "VECTOR_BUSY": 400,
            "DMA_IN_BUSY": 300, "MATRIX_VECTOR_OVERLAP": 350, "BANK_CONFLICTS": 0,
            "OW_WAITS": 0, "MATRIX_STALL": 1, "VECTOR_STALL": 2, "DMA_IN_STALL": 3}


def _point(hier: str, signal: str, count: int) -> str:
    key = "\x01".join(f"{k}\x02{v}" for k, v in (("f", "x.sv"), ("l", "1"), ("t", "toggle"),
                                                ("page", "v_toggle/m"), ("o", signal),
                                                ("h", hier)))
    return f"C '\x01{key}' {count}"


def test_toggles_are_summed_per_component(tmp_path):
    lines = ["# SystemC::Coverage-3",
             _point("npu_tb_top.u_npu.u_matmul_engine.u_array", "a_q[0]:0->1", 7),
             _point("npu_tb_top.u_npu.u_matmul_engine", "b:1->0", 3),
             _point("npu_tb_top.u_npu.u_vector_engine", "x:0->1", 5),
             _point("npu_tb_top.u_npu", "start:0->1", 2),
             _point("npu_tb_top.u_dram", "mem:0->1", 1000)]      # outside the NPU: ignored
    path = tmp_path / "coverage.dat"
    path.write_text("\n".join(lines) + "\n")
    toggles = read_toggles(path)
    assert toggles == {"matrix": 10, "vector": 5, "top": 2}
    assert subtract(toggles, {"matrix": 4, "top": 5}) == {"matrix": 6, "top": 0, "vector": 5}


def test_trace_intervals_and_perfetto(tmp_path):
    """Per-instruction intervals from the hand-over and retire lines: the matrix engine's two
    in flight overlap (its busy bit never drops between them) and are still one interval each,
    labelled in queue order on two Perfetto tracks; busy cycles and overlaps count the union,
    which is where the busy bits are set. A retire pulse in the last busy cycle (DMA-in here)
    or in the first idle one (the matrix engine) both end the interval where busy ends; a run
    stopped by an error closes what is still in flight at its end."""
    path = tmp_path / "trace.txt"
    path.write_text("start 100\ntake 100 0\n101 0001\ntake 104 2\n105 0101\n"
                    "take 110 2\n"                      # a second MATMUL while the first runs
                    "retire 115 0\n116 0100\n"
                    "retire 120 2\n"                    # the first retires, busy stays set
                    "126 0000\nretire 126 2\ntake 126 3\n127 1000\n130 0000\nretire 130 3\n"
                    "take 132 2\n133 0100\ndone 140\n")
    iv = read_trace(path)
    assert iv["DMA_IN"] == [(1, 16)]
    assert iv["MATRIX"] == [(5, 20), (11, 26), (33, 40)]
    assert iv["VECTOR"] == [(27, 30)]
    assert iv["DMA_OUT"] == []
    busy = read_busy(path)
    assert busy["MATRIX"] == [(5, 26), (33, 40)]
    assert all(union(iv[unit]) == busy[unit] for unit in iv)
    assert busy_cycles(iv)["MATRIX"] == 28 and busy_cycles(iv)["DMA_IN"] == 15
    assert overlaps(iv)["DMA_IN&MATRIX"] == 11 and overlaps(iv)["MATRIX&VECTOR"] == 0
    assert lanes(iv["MATRIX"]) == [0, 1, 0]
    trace = perfetto(iv, {"MATRIX": ["qk", "pv", "qk2"], "VECTOR": ["softmax"]})
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
             if e["name"] == "thread_name"}
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    by_track = {}
    for e in slices:
        by_track.setdefault(names[e["tid"]], []).append(e["name"])
    assert by_track["MATRIX"] == ["qk", "qk2"] and by_track["MATRIX (2)"] == ["pv"]
    assert by_track["VECTOR"] == ["softmax"]
    json.dumps(trace)
    with pytest.raises(ValueError, match="no instruction in flight"):
        bad = tmp_path / "bad.txt"
        bad.write_text("start 0\nretire 5 2\ndone 9\n")
        read_trace(bad)


def test_trace_without_take_and_retire_lines(tmp_path):
    """A trace written before the hand-over / retire lines (busy bits only) still reads: one
    interval per busy interval."""
    path = tmp_path / "trace.txt"
    path.write_text("start 100\n100 0001\n110 0101\n120 0100\n121 0000\n122 0100\n"
                    "130 1000\n140 0000\ndone 150\n")
    iv = read_trace(path)
    assert iv == read_busy(path)
    assert iv["DMA_IN"] == [(0, 20)]
    assert iv["MATRIX"] == [(10, 21), (22, 30)]
    assert iv["VECTOR"] == [(30, 40)]
    assert busy_cycles(iv)["MATRIX"] == 19
    assert overlaps(iv)["DMA_IN&MATRIX"] == 10 and overlaps(iv)["MATRIX&VECTOR"] == 0
    trace = perfetto(iv, {"MATRIX": ["qk", "pv"], "VECTOR": ["softmax"]})
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert [e["name"] for e in slices if e["tid"] == 3] == ["qk", "pv"]


def test_energy_model_terms():
    cfg = load_config("default")
    model = EnergyModel.for_config(cfg)
    assert model.sram_line_pj == pytest.approx(80.0)         # 8 KiB banks, 512-bit lines
    parts = model.breakdown({"matrix": 1000}, COUNTERS)
    assert parts["logic:matrix"] == pytest.approx(1000 * model.toggle_pj)
    assert parts["sram"] == pytest.approx(15 * 80.0)
    assert parts["dram"] == pytest.approx(704 * model.dram_byte_pj)
    assert parts["static"] == pytest.approx(1000 * model.static_pj_per_cycle)
    small = EnergyModel.for_config(load_config("small"))
    assert small.sram_line_pj < model.sram_line_pj           # smaller banks, cheaper access


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("nq, nk", [(7, 7), (5, 12), (12, 5)])
def test_roofline_counts_visible_scores(nq, nk, causal):
    wl = Workload(nq, nk, 64, causal=causal)
    assert visible_scores(wl) == int(key_mask(nq, nk, causal).sum())
    cfg = load_config("default")
    r = roofline(wl, cfg)
    assert r.matrix_cycles == pytest.approx(2 * visible_scores(wl) * 64 / 256)
    assert r.bound == max(r.matrix_cycles, r.vector_cycles, r.dram_cycles)


@pytest.mark.parametrize("config, bytes_per_cycle", [("default", 16), ("small", 8), ("tiny", 4)])
def test_roofline_dram_term_uses_the_configured_bandwidth(config, bytes_per_cycle):
    """Q, K, V read once and O written once, at the configuration's DRAM bandwidth; the
    unlimited model moves a line per cycle."""
    cfg, wl = load_config(config), Workload(64, 200, 32, heads=2)
    minimum = 2 * (2 * 64 * 32 + 2 * 200 * 32)
    r, free = roofline(wl, cfg), roofline(wl, cfg, "unlimited")
    assert r.dram_bytes == free.dram_bytes == minimum
    assert r.dram_cycles == pytest.approx(minimum / bytes_per_cycle)
    assert free.dram_cycles == pytest.approx(minimum / cfg.line_bytes)
    assert (r.matrix_cycles, r.vector_cycles) == (free.matrix_cycles, free.vector_cycles)


def _record(strategy, cycles, energy):
    return BenchRecord(
        config="default", workload_name="w", strategy=strategy,
        workload=Workload(64, 64, 64).to_dict(), tiling="t", instructions=10,
        predicted=cycles, prediction={}, counters=dict(COUNTERS, CYCLES=cycles),
        toggles={"matrix": 1}, energy={"dram": energy, "logic:matrix": 1.0},
        energy_pj=energy + 1.0, energy_model={}, macs=3 * 64 * 64 * 64,
        matrix_toggles_per_mac=0.0, bit_exact=True, cosine=1.0, wall_s=1.0, run_dir="")


def test_report_tables_and_plots(tmp_path):
    records = report.derive([_record("flat", 8000, 99.0), _record("serial", 5000, 74.0),
                             _record("mas", 4000, 49.0)])
    mas = next(r for r in records if r.strategy == "mas").metrics
    assert mas.speedup_vs_flat == pytest.approx(2.0)
    assert mas.energy_reduction_vs_flat == pytest.approx(0.5)
    assert mas.speedup_vs_serial == pytest.approx(1.25)
    assert mas.energy_reduction_vs_serial == pytest.approx(1 - 50 / 75)
    # 64 x 64 scores, d = 64 on a 16 x 16 array: 524,288 MACs = 2,048 cycles (matrix-bound)
    assert mas.roofline["macs"] == 2 * 64 * 64 * 64
    assert mas.roofline_fraction == pytest.approx(2048 / 4000)
    assert mas.macs_over_needed == pytest.approx(1.5)
    assert mas.issued_matrix_fraction == pytest.approx(3072 / 4000)
    assert mas.dram_over_minimum == pytest.approx(704 / (4 * 64 * 64))
    assert mas.dram_energy_share == pytest.approx(49.0 / 50.0)
    table = report.write_tables(records, tmp_path)
    assert "| mas | 4,000 | 2.00x | 0.0 | -50.0% | 1.25x | -33.3% | 704 |" in table
    gaps = (tmp_path / "summary.md").read_text().split("Where the gap")[1]
    assert "| mas | t | 1.50 | 3,072 | 77% | 0.0 | 11 | 98% |" in gaps
    assert (tmp_path / "results.csv").read_text().count("\n") == 4
    report.plot_cycles_vs_n(records, tmp_path / "c.png")
    report.plot_energy_breakdown(records, tmp_path / "e.png", "w")
    assert (tmp_path / "c.png").stat().st_size > 1000 and (tmp_path / "e.png").exists()
    # a run on the configuration's DRAM: its own roofline and DRAM time, never compared with
    # runs on the unlimited model
    on_config = _record("mas", 4000, 49.0)
    on_config.dram, on_config.dram_bytes_per_cycle = "config", 16
    (derived,) = report.derive([on_config])
    assert derived.metrics.dram_only_cycles == pytest.approx(704 / 16)
    assert derived.metrics.roofline["dram_cycles"] == pytest.approx(4 * 64 * 64 / 16)
    assert derived.metrics.speedup_vs_flat is None
    # results.json reads back into the same records (metrics are derived anew)
    again = [BenchRecord.from_dict(r) for r in json.loads((tmp_path / "results.json").read_text())]
    assert [r.to_dict() for r in report.derive(again)] == [r.to_dict() for r in records]
    # a record says which DRAM it was measured with; older ones had the unlimited model
    old = records[0].to_dict()
    for key in ("dram", "dram_bytes_per_cycle", "dram_latency"):
        old.pop(key)
    assert (BenchRecord.from_dict(old).dram, BenchRecord.from_dict(old).dram_latency) == \
        ("unlimited", 20)


@pytest.mark.sim
def test_bench_run_on_the_rtl():
    """A small case through the whole bench path: toggle-coverage build, reset baseline,
    activity trace; the trace's busy cycles equal the RTL's counters, toggles are counted for
    the compute units, every interval is labelled with its instruction (one per instruction
    of its queue, also where the matrix engine holds two and its busy bit stays set); the
    instructions' union is where the busy bits are set, and two MATMULs overlap exactly where
    the wrapper counted two in flight (Outcome.observed)."""
    from bench.sim import run_baseline, run_case
    from bench.tasks import record_of
    from bench.workloads import BenchWorkload
    baseline = read_toggles(run_baseline("tiny").coverage_path)
    bw = BenchWorkload("t40", Workload(40, 40, 16, causal=True))
    recs = []
    for strategy in ("serial", "mas"):
        run = run_case("tiny", bw, strategy, f"pytest-{strategy}", trace=True)
        rec = record_of("tiny", bw, strategy, run, baseline)
        assert (rec.dram, rec.dram_bytes_per_cycle, rec.dram_latency) == ("config", 4, 20)
        iv = read_trace(run.outcome.trace_path)
        busy = read_busy(run.outcome.trace_path)
        for unit, cycles in busy_cycles(iv).items():
            assert cycles == rec.counters[f"{unit}_BUSY"], unit
            assert union(iv[unit]) == busy[unit], unit
        for unit, notes in rec.queue_notes.items():
            assert len(iv[unit]) == len(notes), unit
        # Two in flight: a hand-over before the older one's retire cycle (its interval's end)
        # counts from the cycle after the hand-over to that retire cycle.
        matrix = iv["MATRIX"]
        dual = sum(max(0, older[1] - younger[0] + 1) for older, younger in zip(matrix, matrix[1:]))
        assert dual == run.outcome.observed["MM_DUAL_CYCLES"]
        assert dual > 0, f"{strategy}: no two MATMULs in flight"
        assert rec.overlaps["MATRIX&VECTOR"] == rec.counters["MATRIX_VECTOR_OVERLAP"]
        assert rec.bit_exact
        assert rec.toggles["matrix"] > 0 and rec.toggles["vector"] > 0
        recs.append(rec)
    recs = report.derive(recs)
    mas = next(r for r in recs if r.strategy == "mas")
    assert mas.metrics.speedup_vs_serial > 1.0
    assert np.isfinite(mas.energy_pj) and mas.energy_pj > 0


def test_search_bench_times_and_reports(tmp_path, capsys):
    """`make bench-search`'s timing part on one small workload: both searches pick the same
    tiling, the files are written; the validation report's arithmetic on made-up runs."""
    from bench import search as bench_search
    assert bench_search.main(["--configs", "small", "--workloads", "sweep-128",
                              "--strategies", "mas,flat", "--out", str(tmp_path)]) == 0
    timing = json.loads((tmp_path / "search_timing.json").read_text())
    assert [(t["workload"], t["strategy"]) for t in timing] == [("sweep-128", "mas"),
                                                                 ("sweep-128", "flat")]
    assert all(t["same_pick"] and 0 < t["predicted"] <= t["legal"] for t in timing)
    assert "picks identical: 2 of 2" in (tmp_path / "search_timing.md").read_text()
    runs = [bench_search.ValidationRun("small", "vit-197", "mas", rank, f"t{rank}", pred, meas,
                                       True, 1.0)
            for rank, pred, meas in ((1, 100, 110), (2, 105, 100), (3, 120, 125))]
    row = bench_search.report([], runs).splitlines()[-1]
    assert row == "| small | vit-197 | mas | t1 | 110 | 100 (#2) | +10.0% | -9.1%..+5.0% |"
    with pytest.raises(SystemExit, match="unknown workload"):
        bench_search.main(["--workloads", "bert-9", "--out", str(tmp_path)])


def test_matrix_idle_gaps_are_blamed_on_the_producer_waited_for():
    """bench.idle: a MATMUL handed over after a gap is blamed on the producer (semaphore wait)
    that retired last; back-to-back MATMULs are no gap; semaphore k-th wait meets k-th signal."""
    from bench.idle import matrix_idle
    from hwdef import isa
    from scheduler.cost import semaphore_producers as producers
    from scheduler.sync import Insn
    q = isa.Queue
    insns = [Insn(0, "DMA_LOAD", {}, q.DMA_IN, 0, "K h0", signals={0}),
             Insn(1, "MATMUL", {}, q.MATRIX, 0, "S = Q·Kᵀ", waits={0}),
             Insn(2, "VECTOR", {}, q.VECTOR, 0, "P = exp2", signals={1}),
             Insn(3, "DMA_LOAD", {}, q.DMA_IN, 1, "V h0", signals={0}),
             Insn(4, "MATMUL", {}, q.MATRIX, 1, "A += P·V", waits={0, 1}),
             Insn(5, "MATMUL", {}, q.MATRIX, 2, "S = Q·Kᵀ")]
    assert sorted(producers(insns)[4]) == [2, 3] and producers(insns)[1] == [0]
    intervals = {"DMA_IN": [(0, 10), (11, 20)], "DMA_OUT": [],
                 "MATRIX": [(11, 30), (70, 90), (91, 100)], "VECTOR": [(5, 60)]}
    cycles, gaps = matrix_idle(insns, intervals)
    # MATMUL 4 waited 40 cycles (30 -> 70); its producers retire at 20 (V) and 60 (P): P.
    assert cycles == {("A", "P"): 40} and gaps == {("A", "P"): 1}


def test_a_record_without_its_trace_leaves_the_timeline_as_it_was(tmp_path, capsys):
    """Records merged from another machine's results.json point to run directories that are
    not here: the report keeps the old timeline pictures instead of failing after the runs."""
    from types import SimpleNamespace

    from bench.__main__ import _timeline
    old = tmp_path / "timeline.png"
    old.write_bytes(b"earlier picture")
    rec = SimpleNamespace(strategy="mas", workload_name="bert-512", config="default",
                          run_dir=str(tmp_path / "gone"), cycles=1, queue_notes={})
    _timeline([rec], tmp_path, "bert-512")
    assert old.read_bytes() == b"earlier picture"
    assert "no trace of default bert-512 mas" in capsys.readouterr().out

"""bench/dse.py and bench/area.py: the space, the area composition, the Pareto front, the
best configuration per budget and the command line (cost model only; no RTL here)."""

from __future__ import annotations

import json

import pytest

from bench import area as area_model
from bench import dse
from hwdef import load_config


def test_the_space_is_hwdefs_derived_configurations():
    """Every point is a derived configuration hwdef loads, with the grid's values; a point
    hwdef refuses (lanes below the array) is listed with hwdef's reason; the scratchpad's size
    in KiB follows the line width."""
    grid = {"array_dim": (4, 8), "vector_lanes": (4, 8), "spad_kib": (4, 8)}
    points, refused = dse.design_space("tiny", grid)
    assert len(points) == 6 and len(refused) == 2
    assert all("vector_lanes=4 must be a multiple of array_dim=8" in why for _, why in refused)
    for p in points:
        cfg = load_config(p.config)
        assert (cfg.array_dim, cfg.vector_lanes) == (p.params["array_dim"],
                                                     p.params["vector_lanes"])
        assert cfg.spad_bytes == p.params["spad_kib"] * 1024
    assert "tiny" in {p.config for p in points}      # the base itself, by its own name


def test_the_pareto_front_and_the_best_per_budget():
    rows = [{"config": c, "workload": "w", "strategy": s, "area_mm2": a, "cycles": n,
             "energy_pj": 1e6}
            for c, a, n in (("a", 1.0, 900), ("b", 2.0, 500), ("c", 2.5, 700), ("d", 3.0, 400))
            for s, n in (("mas", n), ("flat", 2 * n))]
    mas = [r for r in rows if r["strategy"] == "mas"]
    assert [r["config"] for r in dse.pareto_front(mas)] == ["a", "b", "d"]
    rows.append({"config": "e", "workload": "w", "strategy": "flat", "area_mm2": 1.5,
                 "cycles": 600, "energy_pj": 1e6})       # FLAT's own best below 2.6 mm²
    best = dse.best_per_budget(rows, [0.5, 2.6, 10])
    assert [b["config"] for b in best] == [None, "b", "d"]
    assert best[1]["speedup_vs_flat"] == pytest.approx(2.0)
    assert best[1]["flat_best_config"] == "e"
    assert best[1]["speedup_vs_best_flat"] == pytest.approx(600 / 500)


def test_area_is_the_anchors_logic_and_the_points_memories(tmp_path, monkeypatch):
    """A point's area: its anchor's cells and flops, the anchor's memory bits with the
    scratchpad and accumulators replaced by the point's; a missing anchor is one line."""
    monkeypatch.setattr(area_model, "ANCHORS", tmp_path / "anchors.json")
    point = load_config("tiny+spad_bank_lines=128+acc_lines=64")
    anchor = area_model.anchor_config(point, "tiny")
    assert anchor == "tiny"                # same array, lanes and scratchpad bytes as tiny
    with pytest.raises(area_model.AreaError, match="no area figures for the anchor 'tiny'"):
        area_model.area(point, "tiny")
    base = load_config("tiny")
    other = 1000
    (tmp_path / "anchors.json").write_text(json.dumps({"tiny": {
        "cells": 5000, "flops": 1000, "flow": "hierarchical",
        "memory_bits": 8 * (base.spad_bytes + base.acc_bytes) + other}}))
    a = area_model.area(point, "tiny")
    assert a.memory_bits == 8 * (point.spad_bytes + point.acc_bytes) + other
    assert a.area_mm2 == pytest.approx((4000 * area_model.UM2_PER_CELL + 1000
                                        * area_model.UM2_PER_FLOP + a.memory_bits
                                        * area_model.UM2_PER_SRAM_BIT) / 1e6)
    assert area_model.area(base, "tiny").area_mm2 < a.area_mm2


def test_a_point_without_a_tiling_is_recorded_not_fatal():
    from bench.workloads import BenchWorkload
    from scheduler import Workload
    fig = dse.predict_task("tiny", BenchWorkload("wide", Workload(24, 24, 128)), "mas")
    assert "accumulators" in fig["error"]
    fig = dse.predict_task("tiny", BenchWorkload("t24", Workload(24, 24, 16)), "mas")
    assert fig["cycles"] > 0 and fig["energy_pj"] > 0 and fig["macs"] > 0


@pytest.mark.parametrize("argv, message", [
    (["--grid", "lanes=4"], "--grid 'lanes=4'"),
    (["--grid", "array_dim=x"], "integers"),
    (["--workloads", "gpt"], "--workloads 'gpt'"),
    (["--grid", "array_dim=3"], "no legal point"),
    (["--budgets", ""], "--budgets ''"),
    (["--budgets", "-1"], "--budgets '-1'"),
    (["--rtl", "-1"], "--rtl -1"),
    (["--sample", "-2"], "--sample -2"),
    (["--jobs", "0"], "--jobs 0"),
    (["--out", "/proc/no/such"], "--out '/proc/no/such'"),
])
def test_bad_arguments_are_one_line(argv, message, capsys):
    assert dse.main(["--base", "tiny"] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1

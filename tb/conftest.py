"""pytest hooks of the bench: the attention regression's summary table and the random
programs' coverage.

Each attention case (tb/top/test_attention.py) appends one JSON line per strategy run to its own
file under sim_build/attention-results/; at the end of the session the table of every case run
in this session is printed (pass/fail, cycles measured and predicted) and written to
sim_build/attention-results/summary.md.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from scheduler import STRATEGIES

RESULTS = Path(__file__).resolve().parents[1] / "sim_build" / "attention-results"
CRV_REPORTS = Path(__file__).resolve().parents[1] / "sim_build" / "crv-coverage"
_session_start = time.time()


def attention_results_file(request) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = RESULTS / f"{name}.jsonl"
    path.unlink(missing_ok=True)
    return path


def _rows():
    rows = []
    for path in sorted(RESULTS.glob("*.jsonl")) if RESULTS.exists() else []:
        if path.stat().st_mtime < _session_start:
            continue
        for line in path.read_text().splitlines():
            rows.append(json.loads(line))
    return rows


def _order(row):
    wl = row["workload"]
    rank = STRATEGIES.index(row["strategy"]) if row["strategy"] in STRATEGIES else 9
    return (row["config"], wl["causal"], wl["seq_q"], wl["seq_kv"], wl["head_dim"],
            wl["heads"] * wl["batch"], rank)


def summary_table(rows) -> str:
    rows = sorted(rows, key=_order)
    head = ("| config | Nq | Nk | d | heads | causal | strategy | tiling | result | cycles | "
            "predicted | pred. error | vs flat | cosine | wall s |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    flat = {}
    for r in rows:
        if r["strategy"] == "flat":
            flat[(r["config"], json.dumps(r["workload"], sort_keys=True))] = r["cycles"]
    for r in rows:
        wl = r["workload"]
        key = (r["config"], json.dumps(wl, sort_keys=True))
        speedup = (f"{flat[key] / r['cycles']:.2f}x" if r["strategy"] != "flat" and key in flat
                   else "")
        err = 100.0 * (r["predicted"] - r["cycles"]) / max(r["cycles"], 1)
        result = "bit-exact" if r["bit_exact"] else f"FAIL ({r['mismatches']} bytes)"
        config = r["config"] + (" (DRAM unlimited)" if r.get("dram") == "unlimited" else "")
        out.append(
            f"| {config} | {wl['seq_q']} | {wl['seq_kv']} | {wl['head_dim']} | "
            f"{wl['heads'] * wl['batch']} | {'yes' if wl['causal'] else 'no'} | "
            f"{r['strategy']} | {r['tiling']} | "
            f"{result} | "
            f"{r['cycles']} | {r['predicted']} | {err:+.1f}% | {speedup} | "
            f"{r['cosine']:.5f} | {r['wall_s']:.1f} |")
    return "\n".join(out)


def _crv_reports() -> list[Path]:
    """Coverage reports the random-program tests wrote in this session (tb/crv/test_crv.py)."""
    if not CRV_REPORTS.exists():
        return []
    return [p for p in sorted(CRV_REPORTS.glob("*.txt")) if p.stat().st_mtime >= _session_start]


def pytest_terminal_summary(terminalreporter):
    if hasattr(terminalreporter.config, "workerinput"):
        return
    for path in _crv_reports():
        terminalreporter.section(f"random programs on the RTL: {path.stem}")
        for line in path.read_text().splitlines():
            terminalreporter.write_line(line)
    rows = _rows()
    if not rows:
        return
    table = summary_table(rows)
    (RESULTS / "summary.md").write_text(table + "\n")
    terminalreporter.section("attention regression")
    terminalreporter.write_line(table)
    if len(rows) <= len(STRATEGIES):      # one case (make sim SEQ=...): how to rerun each run
        for r in sorted(rows, key=_order):
            if r.get("bundle"):
                terminalreporter.write_line(
                    f"{r['strategy']}: make sim BUNDLE={r['bundle']} "
                    f"INPUTS={r['bundle']}/inputs.npz")

"""Tables and plots of a benchmark: results.json, results.csv, summary.md, cycles_vs_n.png,
energy_breakdown.png."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

from bench.record import BenchRecord, Metrics
from scheduler import STRATEGIES


def derive(records: list[BenchRecord]) -> list[BenchRecord]:
    """Sets the metrics of every record: speedup and energy reduction vs flat (FLAT) and vs
    serial (the ablation, on the same DRAM model), utilizations and the gap to the roofline.
    The roofline is recomputed from the workload (so --report-only follows bench/roofline.py),
    its DRAM term at the bandwidth the record was measured with."""
    from bench.roofline import roofline
    from hwdef import load_config
    from scheduler import Workload
    base_of = {r.key: r for r in records}
    for r in records:
        cfg = load_config(r.config)
        bound = roofline(Workload(**r.workload), cfg, r.dram)
        # the DRAM term at the bandwidth the run had (hwdef may have changed since)
        line = replace(bound, dram_cycles=bound.dram_bytes / _bandwidth(r, cfg)).to_dict()
        trace = Path(r.run_dir) / "trace.txt"
        if not r.overlaps and r.run_dir and trace.is_file():
            from bench.trace import overlaps, read_trace
            r.overlaps = overlaps(read_trace(trace))
        c, cycles = r.counters, r.cycles
        flat = base_of.get((r.config, r.workload_name, "flat", r.dram))
        serial = base_of.get((r.config, r.workload_name, "serial", r.dram))
        moved = c["DRAM_READ_BYTES"] + c["DRAM_WRITE_BYTES"]
        # Where the gap comes from: matrix work the program issues beyond the roofline's
        # (recomputed Q·Kᵀ, padding to whole array tiles), how close the run comes to its own
        # issued matrix work, and DRAM traffic beyond reading Q, K, V and writing O once.
        issued = r.macs / cfg.array_dim ** 2
        r.metrics = Metrics(
            roofline=line,
            speedup_vs_flat=flat.cycles / cycles if flat else None,
            energy_reduction_vs_flat=1 - r.energy_pj / flat.energy_pj if flat else None,
            speedup_vs_serial=serial.cycles / cycles if serial else None,
            energy_reduction_vs_serial=1 - r.energy_pj / serial.energy_pj if serial else None,
            matrix_util=c["MATRIX_BUSY"] / cycles, vector_util=c["VECTOR_BUSY"] / cycles,
            dma_in_util=c["DMA_IN_BUSY"] / cycles,
            overlap_of_vector=(c["MATRIX_VECTOR_OVERLAP"] / c["VECTOR_BUSY"]
                               if c["VECTOR_BUSY"] else 0.0),
            roofline_fraction=line["bound"] / cycles,
            macs_over_needed=r.macs / line["macs"], issued_matrix_cycles=issued,
            issued_matrix_fraction=issued / cycles,
            dram_over_minimum=moved / line["dram_bytes"],
            dram_only_cycles=moved / _bandwidth(r, cfg),
            dram_energy_share=r.energy.get("dram", 0.0) / r.energy_pj)
    return records


def _bandwidth(r: BenchRecord, cfg) -> int:
    """The DRAM bytes per cycle the record was measured with (0 stands for the unlimited
    model's line per cycle)."""
    return r.dram_bytes_per_cycle or cfg.line_bytes


def plotted(records: list[BenchRecord]) -> list[BenchRecord]:
    """The records of one DRAM model for the plots: the configuration's when there are any."""
    modes = {r.dram for r in records}
    mode = "config" if "config" in modes else min(modes, default="config")
    return [r for r in records if r.dram == mode]


def _ordered(records: list[BenchRecord]) -> list[BenchRecord]:
    order = {s: i for i, s in enumerate(STRATEGIES)}
    return sorted(records, key=lambda r: (r.dram, r.config, r.workload["seq_q"],
                                          r.workload_name, order[r.strategy]))


def write_tables(records: list[BenchRecord], out: Path, keep_notes: str = "") -> str:
    """*keep_notes*: the workload whose per-instruction notes stay in results.json (they
    label the Perfetto trace; for every run they would be megabytes)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "results.json.tmp"      # renamed into place: never half a results file
    tmp.write_text(json.dumps(
        [r.to_dict(notes=r.workload_name == keep_notes) for r in records], indent=1))
    tmp.replace(out / "results.json")
    columns = ["config", "workload_name", "strategy", "tiling", "cycles", "predicted",
               "speedup_vs_flat", "energy_uj", "energy_reduction_vs_flat", "speedup_vs_serial",
               "energy_reduction_vs_serial", "matrix_util",
               "vector_util", "overlap_of_vector", "roofline_bound", "roofline_limit",
               "roofline_fraction", "macs_over_needed", "issued_matrix_cycles",
               "issued_matrix_fraction", "dram_over_minimum", "dram_only_cycles",
               "dram_energy_share", "dram", "dram_bytes_per_cycle",
               "dram_read_bytes", "dram_write_bytes", "spad_reads",
               "spad_writes", "bank_conflicts", "ow_waits", "matrix_stall", "vector_stall",
               "dma_in_stall", "overlap_dma_in_matrix", "overlap_dma_in_vector",
               "toggles_total", "matrix_toggles_per_mac", "wall_s"]
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in records:
            c, m = r.counters, _metrics(r)
            writer.writerow([
                r.config, r.workload_name, r.strategy, r.tiling, r.cycles,
                r.predicted, m.speedup_vs_flat, r.energy_pj / 1e6,
                m.energy_reduction_vs_flat, m.speedup_vs_serial, m.energy_reduction_vs_serial,
                m.matrix_util, m.vector_util,
                m.overlap_of_vector, round(m.roofline["bound"]), m.roofline["limit"],
                m.roofline_fraction, m.macs_over_needed,
                m.issued_matrix_cycles, m.issued_matrix_fraction,
                m.dram_over_minimum, round(m.dram_only_cycles), m.dram_energy_share, r.dram,
                r.dram_bytes_per_cycle, c["DRAM_READ_BYTES"],
                c["DRAM_WRITE_BYTES"],
                c["SPAD_READS"], c["SPAD_WRITES"], c["BANK_CONFLICTS"], c["OW_WAITS"],
                c["MATRIX_STALL"], c["VECTOR_STALL"], c["DMA_IN_STALL"],
                r.overlaps.get("DMA_IN&MATRIX"), r.overlaps.get("DMA_IN&VECTOR"),
                sum(r.toggles.values()), r.matrix_toggles_per_mac, r.wall_s])
    table = markdown(records)
    (out / "summary.md").write_text(table + "\n\n" + gap_markdown(records) + "\n")
    return table


def _metrics(r: BenchRecord) -> Metrics:
    if r.metrics is None:
        raise ValueError(f"{r.key}: metrics not derived (call report.derive first)")
    return r.metrics


def _pct(x):
    return "" if x is None else f"{100 * x:.0f}%"


def _speedup(x, base: bool) -> str:
    return "" if x is None or base else f"{x:.2f}x"


def _energy_change(reduction, base: bool) -> str:
    return "" if reduction is None or base else f"{-100 * reduction:+.1f}%"


def _dram(r: BenchRecord) -> str:
    return (f"{r.dram_bytes_per_cycle} B/cycle" if r.dram_bytes_per_cycle
            else "unlimited")


def markdown(records: list[BenchRecord]) -> str:
    head = ("| DRAM | config | workload | strategy | cycles | speedup vs flat | energy (µJ) | "
            "energy vs flat | speedup vs serial | energy vs serial | DRAM bytes | matrix util | "
            "vector util | roofline bound | of roofline |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in _ordered(records):
        m = _metrics(r)
        c = r.counters
        flat, serial = r.strategy == "flat", r.strategy == "serial"
        lines.append(
            f"| {_dram(r)} | {r.config} | {r.workload_name} | {r.strategy} | "
            f"{r.cycles:,} | {_speedup(m.speedup_vs_flat, flat)} | "
            f"{r.energy_pj / 1e6:.1f} | {_energy_change(m.energy_reduction_vs_flat, flat)} | "
            f"{_speedup(m.speedup_vs_serial, serial)} | "
            f"{_energy_change(m.energy_reduction_vs_serial, serial)} | "
            f"{c['DRAM_READ_BYTES'] + c['DRAM_WRITE_BYTES']:,} | "
            f"{_pct(m.matrix_util)} | {_pct(m.vector_util)} | "
            f"{m.roofline['bound']:,.0f} ({m.roofline['limit']}) | "
            f"{_pct(m.roofline_fraction)} |")
    return "\n".join(lines)


def gap_markdown(records: list[BenchRecord]) -> str:
    """The second table of summary.md: why a run is not at the roofline, and where its
    energy goes."""
    head = ("| config | workload | strategy | tiling | MACs issued / needed | issued matrix work "
            "(cycles) | of issued work | DRAM bytes / minimum | DRAM alone (cycles) | "
            "DRAM share of energy |")
    lines = ["Where the gap to the roofline comes from. *MACs issued / needed*: matrix work "
             "the program issues (whole array tiles, Q·Kᵀ recomputed in two-pass blocks) over "
             "the roofline's; *of issued work*: the issued work at Dim² MACs per cycle over the "
             "run's cycles; *DRAM bytes / minimum*: bytes moved over reading Q, K, V and "
             "writing O once; *DRAM alone*: the cycles the bytes moved take at the DRAM's "
             "bandwidth (the configuration's, or a line per cycle for the unlimited model).",
             "", head, "|" + "---|" * (head.count("|") - 1)]
    for r in _ordered(records):
        m = _metrics(r)
        lines.append(
            f"| {r.config} | {r.workload_name} | {r.strategy} | {r.tiling} | "
            f"{m.macs_over_needed:.2f} | {m.issued_matrix_cycles:,.0f} | "
            f"{_pct(m.issued_matrix_fraction)} | {m.dram_over_minimum:.1f} | "
            f"{m.dram_only_cycles:,.0f} | {_pct(m.dram_energy_share)} |")
    return "\n".join(lines)


def plot_cycles_vs_n(records: list[BenchRecord], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    configs = sorted({r.config for r in records})
    fig, axes = plt.subplots(1, len(configs), figsize=(5.5 * len(configs), 4), squeeze=False)
    for ax, cfg in zip(axes[0], configs):
        for strategy, marker in zip(STRATEGIES, "osv^D"):
            pts = sorted((r.workload["seq_q"], r.cycles) for r in records
                         if r.config == cfg and r.strategy == strategy
                         and r.workload["heads"] * r.workload["batch"] == 1
                         and not r.workload["causal"])
            if pts:
                ax.plot(*zip(*pts), marker=marker, label=strategy)
        bound = sorted({(r.workload["seq_q"], _metrics(r).roofline["bound"])
                        for r in records if r.config == cfg})
        if bound:
            ax.plot(*zip(*bound), "k--", linewidth=1, label="roofline bound")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length N (d = 64, one head)")
        ax.set_ylabel("cycles")
        ax.set_title(f"'{cfg}' configuration")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_energy_breakdown(records: list[BenchRecord], path: Path, workload_name: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    chosen = [r for r in records if r.workload_name == workload_name]
    chosen.sort(key=lambda r: (r.config, STRATEGIES.index(r.strategy)))
    if not chosen:
        return
    parts = ["dram", "sram", "static"]
    logic = sorted({k for r in chosen for k in r.energy if k.startswith("logic:")})
    labels = [f"{r.config}\n{r.strategy}" for r in chosen]
    fig, ax = plt.subplots(figsize=(1.5 + 1.3 * len(chosen), 4.5))
    bottom = [0.0] * len(chosen)
    for i, part in enumerate(parts + logic):
        values = [r.energy.get(part, 0.0) / 1e6 for r in chosen]
        ax.bar(labels, values, bottom=bottom, label=part.replace("logic:", "logic "),
               color=plt.cm.tab20(i % 20))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("energy (µJ)")
    ax.set_title(f"Energy breakdown, {workload_name}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

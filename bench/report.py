"""Tables and plots of a benchmark: results.json, results.csv, summary.md, cycles_vs_n.png,
energy_breakdown.png."""

from __future__ import annotations

import csv
import json
from pathlib import Path

STRATEGIES = ("layerwise", "flat", "mas")


def _key(r):
    return (r["config"], r["workload_name"])


def derive(records: list[dict]) -> list[dict]:
    """Adds speedup / energy reduction vs flat, utilizations and the gap to the roofline to
    every record. The roofline is recomputed from the workload (so --report-only follows
    bench/roofline.py)."""
    from bench.roofline import roofline
    from hwdef import load_config
    from scheduler import Workload
    flat = {_key(r): r for r in records if r["strategy"] == "flat"}
    for r in records:
        cfg = load_config(r["config"])
        r["roofline"] = roofline(Workload(**r["workload"]), cfg).to_dict()
        trace = Path(r.get("run_dir", "")) / "trace.txt"
        if not r.get("overlaps") and trace.is_file():
            from bench.trace import overlaps, read_trace
            r["overlaps"] = overlaps(read_trace(trace))
        c = r["counters"]
        cycles = c["CYCLES"]
        base = flat.get(_key(r))
        r["speedup_vs_flat"] = base["counters"]["CYCLES"] / cycles if base else None
        r["energy_reduction_vs_flat"] = (1 - r["energy_pj"] / base["energy_pj"]
                                         if base else None)
        r["matrix_util"] = c["MATRIX_BUSY"] / cycles
        r["vector_util"] = c["VECTOR_BUSY"] / cycles
        r["dma_in_util"] = c["DMA_IN_BUSY"] / cycles
        r["overlap_of_vector"] = (c["MATRIX_VECTOR_OVERLAP"] / c["VECTOR_BUSY"]
                                  if c["VECTOR_BUSY"] else 0.0)
        r["roofline_fraction"] = r["roofline"]["bound"] / cycles
        # Where the gap comes from: matrix work the program issues beyond the roofline's
        # (recomputed Q·Kᵀ, padding to whole array tiles), how close the run comes to its own
        # issued matrix work, and DRAM traffic beyond reading Q, K, V and writing O once.
        if "macs" in r:
            r["macs_over_needed"] = r["macs"] / r["roofline"]["macs"]
            r["issued_matrix_cycles"] = r["macs"] / cfg.array_dim ** 2
            r["issued_matrix_fraction"] = r["issued_matrix_cycles"] / cycles
        r["dram_over_minimum"] = ((c["DRAM_READ_BYTES"] + c["DRAM_WRITE_BYTES"])
                                  / r["roofline"]["dram_bytes"])
        r["dram_energy_share"] = r["energy"].get("dram", 0.0) / r["energy_pj"]
    return records


def write_tables(records: list[dict], out: Path, keep_notes: str = "") -> str:
    """*keep_notes*: the workload whose per-instruction notes stay in results.json (they
    label the Perfetto trace; for every run they would be megabytes)."""
    out.mkdir(parents=True, exist_ok=True)
    slim = [r if r["workload_name"] == keep_notes else
            {k: v for k, v in r.items() if k != "queue_notes"} for r in records]
    (out / "results.json").write_text(json.dumps(slim, indent=1))
    columns = ["config", "workload_name", "strategy", "tiling", "cycles", "predicted",
               "speedup_vs_flat", "energy_uj", "energy_reduction_vs_flat", "matrix_util",
               "vector_util", "overlap_of_vector", "roofline_bound", "roofline_limit",
               "roofline_fraction", "macs_over_needed", "issued_matrix_cycles",
               "issued_matrix_fraction", "dram_over_minimum", "dram_energy_share",
               "dram_read_bytes", "dram_write_bytes", "spad_reads",
               "spad_writes", "bank_conflicts", "ow_waits", "matrix_stall", "vector_stall",
               "dma_in_stall", "overlap_dma_in_matrix", "overlap_dma_in_vector",
               "toggles_total", "matrix_toggles_per_mac", "wall_s"]
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in records:
            c = r["counters"]
            writer.writerow([
                r["config"], r["workload_name"], r["strategy"], r["tiling"], c["CYCLES"],
                r["predicted"], r["speedup_vs_flat"], r["energy_pj"] / 1e6,
                r["energy_reduction_vs_flat"], r["matrix_util"], r["vector_util"],
                r["overlap_of_vector"], round(r["roofline"]["bound"]), r["roofline"]["limit"],
                r["roofline_fraction"], r.get("macs_over_needed"),
                r.get("issued_matrix_cycles"), r.get("issued_matrix_fraction"),
                r["dram_over_minimum"], r["dram_energy_share"], c["DRAM_READ_BYTES"],
                c["DRAM_WRITE_BYTES"],
                c["SPAD_READS"], c["SPAD_WRITES"], c["BANK_CONFLICTS"], c["OW_WAITS"],
                c["MATRIX_STALL"], c["VECTOR_STALL"], c["DMA_IN_STALL"],
                r.get("overlaps", {}).get("DMA_IN&MATRIX"),
                r.get("overlaps", {}).get("DMA_IN&VECTOR"),
                sum(r["toggles"].values()), r.get("matrix_toggles_per_mac"), r["wall_s"]])
    table = markdown(records)
    (out / "summary.md").write_text(table + "\n\n" + gap_markdown(records) + "\n")
    return table


def _pct(x):
    return "" if x is None else f"{100 * x:.0f}%"


def markdown(records: list[dict]) -> str:
    head = ("| config | workload | strategy | cycles | speedup vs flat | energy (µJ) | "
            "energy vs flat | matrix util | vector util | roofline bound | of roofline |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    order = {s: i for i, s in enumerate(STRATEGIES)}
    for r in sorted(records, key=lambda r: (r["config"], r["workload"]["seq_q"],
                                            r["workload_name"], order[r["strategy"]])):
        sp = r["speedup_vs_flat"]
        er = r["energy_reduction_vs_flat"]
        lines.append(
            f"| {r['config']} | {r['workload_name']} | {r['strategy']} | "
            f"{r['counters']['CYCLES']:,} | {'' if sp is None else f'{sp:.2f}x'} | "
            f"{r['energy_pj'] / 1e6:.1f} | "
            f"{'' if er is None or r['strategy'] == 'flat' else f'{-100 * er:+.1f}%'} | "
            f"{_pct(r['matrix_util'])} | {_pct(r['vector_util'])} | "
            f"{r['roofline']['bound']:,.0f} ({r['roofline']['limit']}) | "
            f"{_pct(r['roofline_fraction'])} |")
    return "\n".join(lines)


def gap_markdown(records: list[dict]) -> str:
    """The second table of summary.md: why a run is not at the roofline, and where its
    energy goes."""
    head = ("| config | workload | strategy | tiling | MACs issued / needed | issued matrix work "
            "(cycles) | of issued work | DRAM bytes / minimum | DRAM share of energy |")
    lines = ["Where the gap to the roofline comes from. *MACs issued / needed*: matrix work "
             "the program issues (whole array tiles, Q·Kᵀ recomputed in two-pass blocks) over "
             "the roofline's; *of issued work*: the issued work at Dim² MACs per cycle over the "
             "run's cycles; *DRAM bytes / minimum*: bytes moved over reading Q, K, V and "
             "writing O once.", "", head, "|" + "---|" * (head.count("|") - 1)]
    order = {s: i for i, s in enumerate(STRATEGIES)}
    for r in sorted(records, key=lambda r: (r["config"], r["workload"]["seq_q"],
                                            r["workload_name"], order[r["strategy"]])):
        if "macs" not in r:
            continue
        lines.append(
            f"| {r['config']} | {r['workload_name']} | {r['strategy']} | {r['tiling']} | "
            f"{r['macs_over_needed']:.2f} | {r['issued_matrix_cycles']:,.0f} | "
            f"{_pct(r['issued_matrix_fraction'])} | {r['dram_over_minimum']:.1f} | "
            f"{_pct(r['dram_energy_share'])} |")
    return "\n".join(lines)


def plot_cycles_vs_n(records: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    configs = sorted({r["config"] for r in records})
    fig, axes = plt.subplots(1, len(configs), figsize=(5.5 * len(configs), 4), squeeze=False)
    for ax, cfg in zip(axes[0], configs):
        for strategy, marker in zip(STRATEGIES, "os^"):
            pts = sorted((r["workload"]["seq_q"], r["counters"]["CYCLES"]) for r in records
                         if r["config"] == cfg and r["strategy"] == strategy
                         and r["workload"]["heads"] * r["workload"]["batch"] == 1
                         and not r["workload"]["causal"])
            if pts:
                ax.plot(*zip(*pts), marker=marker, label=strategy)
        bound = sorted({(r["workload"]["seq_q"], r["roofline"]["bound"]) for r in records
                        if r["config"] == cfg})
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


def plot_energy_breakdown(records: list[dict], path: Path, workload_name: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    chosen = [r for r in records if r["workload_name"] == workload_name]
    chosen.sort(key=lambda r: (r["config"], STRATEGIES.index(r["strategy"])))
    if not chosen:
        return
    parts = ["dram", "sram", "static"]
    logic = sorted({k for r in chosen for k in r["energy"] if k.startswith("logic:")})
    labels = [f"{r['config']}\n{r['strategy']}" for r in chosen]
    fig, ax = plt.subplots(figsize=(1.5 + 1.3 * len(chosen), 4.5))
    bottom = [0.0] * len(chosen)
    for i, part in enumerate(parts + logic):
        values = [r["energy"].get(part, 0.0) / 1e6 for r in chosen]
        ax.bar(labels, values, bottom=bottom, label=part.replace("logic:", "logic "),
               color=plt.cm.tab20(i % 20))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("energy (µJ)")
    ax.set_title(f"Energy breakdown, {workload_name}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

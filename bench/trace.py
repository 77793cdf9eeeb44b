"""Activity timelines from the RTL: the wrapper's busy-bit trace (tb/sv/npu_tb_top.sv,
+npu_trace=<file>) -> per-unit busy intervals -> a Chrome/Perfetto trace and a picture.

Engines take one instruction at a time and drop busy for at least one cycle between two, so
the k-th busy interval of a unit is its k-th instruction: intervals are labelled with the
scheduler's note of that instruction when the counts agree.
"""

from __future__ import annotations

import json
from pathlib import Path

from scheduler.cost import overlap_cycles

UNITS = ("DMA_IN", "DMA_OUT", "MATRIX", "VECTOR")     # busy bits 0..3


def read_trace(path: str | Path, run: int = -1) -> dict[str, list[tuple[int, int]]]:
    """Busy intervals (start, end) per unit, in cycles since START, of one run in the file
    (default: the last)."""
    runs: list[list[tuple[str, str]]] = []
    for line in Path(path).read_text().splitlines():
        head, _, value = line.partition(" ")
        if head == "start":
            runs.append([("start", value)])
        elif runs:
            runs[-1].append((head, value))
    if not runs:
        raise ValueError(f"{path}: no run in the trace")
    events = runs[run]
    t0 = int(events[0][1])
    intervals: dict[str, list[tuple[int, int]]] = {u: [] for u in UNITS}
    opened: dict[str, int] = {}
    state = 0
    for head, value in events[1:]:
        if head == "done":
            end = int(value) - t0
            for unit, start in opened.items():
                intervals[unit].append((start, end))
            break
        cycle, bits = int(head) - t0, int(value, 2)
        for i, unit in enumerate(UNITS):
            was, now = state >> i & 1, bits >> i & 1
            if now and not was:
                opened[unit] = cycle
            elif was and not now:
                intervals[unit].append((opened.pop(unit), cycle))
        state = bits
    return intervals


def perfetto(intervals, notes: dict[str, list[str]] | None = None, clock_ns: float = 10.0,
             name: str = "npu") -> dict:
    """Chrome trace-event JSON (opens in ui.perfetto.dev or chrome://tracing): one track per
    unit, one slice per instruction; timestamps in microseconds of a `clock_ns` clock."""
    events = [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": name}}]
    for tid, unit in enumerate(UNITS, start=1):
        events.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": tid,
                       "args": {"name": unit}})
        labels = (notes or {}).get(unit, [])
        spans = intervals[unit]
        for k, (start, end) in enumerate(spans):
            label = labels[k] if len(labels) == len(spans) else unit.lower()
            events.append({"ph": "X", "pid": 1, "tid": tid, "name": label or unit.lower(),
                           "ts": start * clock_ns / 1000, "dur": (end - start) * clock_ns / 1000,
                           "args": {"start_cycle": start, "end_cycle": end}})
    return {"traceEvents": events, "displayTimeUnit": "ns"}


def overlaps(intervals) -> dict[str, int]:
    """Pairwise busy overlap of the units, e.g. "MATRIX&VECTOR"."""
    out = {}
    for n, a in enumerate(UNITS):
        for b in UNITS[n + 1:]:
            out[f"{a}&{b}"] = int(overlap_cycles(intervals[a], intervals[b]))
    return out


def busy_cycles(intervals) -> dict[str, int]:
    return {unit: sum(e - s for s, e in spans) for unit, spans in intervals.items()}


def plot_timelines(panels: list[tuple[str, dict]], path: str | Path,
                   window: tuple[int, int] | None = None) -> None:
    """One panel per (title, intervals), units as rows; `window` zooms to a cycle range."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"DMA_IN": "#4c72b0", "DMA_OUT": "#8172b3", "MATRIX": "#dd8452",
              "VECTOR": "#55a868"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 1.6 + 1.3 * len(panels)),
                             squeeze=False, sharex=window is not None)
    for ax, (title, intervals) in zip(axes[:, 0], panels):
        for row, unit in enumerate(reversed(UNITS)):
            spans = [(s, e - s) for s, e in intervals[unit]
                     if window is None or (e > window[0] and s < window[1])]
            ax.broken_barh(spans, (row + 0.1, 0.8), color=colors[unit])
        ax.set_yticks([r + 0.5 for r in range(len(UNITS))], list(reversed(UNITS)))
        ax.set_title(title, fontsize=10, loc="left")
        if window:
            ax.set_xlim(*window)
        ax.set_xlabel("cycle")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_perfetto(path: str | Path, trace: dict) -> None:
    Path(path).write_text(json.dumps(trace))

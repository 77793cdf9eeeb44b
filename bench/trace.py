"""Activity timelines from the RTL: the wrapper's trace (tb/sv/npu_tb_top.sv, +npu_trace=<file>)
-> per-instruction intervals per unit -> a Chrome/Perfetto trace and a picture.

The trace has, per run (from "start <cycle>" to "done <cycle>"), a line for each instruction
the dispatcher hands to an engine ("take <cycle> <queue>") and for each done_o / err_o pulse
("retire <cycle> <queue>"), and a line for each change of the four busy bits
("<cycle> <bits>"). An instruction's interval runs from the cycle after its hand-over to its
retirement, so the k-th interval of a unit is the k-th instruction of its queue (labelled
with the scheduler's note of that instruction) even where the matrix engine holds two at once
and its busy bit does not drop between them: its intervals then overlap. A unit is busy in
the union of its intervals, which is exactly where its busy bit is set (the busy counters;
`read_busy` gives the busy-bit intervals themselves).

Traces written before the take / retire lines (busy bits only) still read: each busy interval
is then taken as one instruction, which holds while every engine drops busy between two.
"""

from __future__ import annotations

import json
from pathlib import Path

from scheduler.cost import overlap_cycles

UNITS = ("DMA_IN", "DMA_OUT", "MATRIX", "VECTOR")     # queues / busy bits 0..3

Intervals = dict[str, list[tuple[int, int]]]


def _run_events(path: str | Path, run: int) -> list[tuple[str, list[str]]]:
    """The lines of one run (default: the last), split into (head, rest)."""
    runs: list[list[tuple[str, list[str]]]] = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        head, *rest = line.split()
        if head == "start":
            runs.append([(head, rest)])
        elif runs:
            runs[-1].append((head, rest))
    if not runs:
        raise ValueError(f"{path}: no run in the trace")
    return runs[run]


def read_busy(path: str | Path, run: int = -1) -> Intervals:
    """Busy-bit intervals (start, end) per unit, in cycles since START (end exclusive): what
    the busy counters count."""
    events = _run_events(path, run)
    t0 = int(events[0][1][0])
    intervals: Intervals = {u: [] for u in UNITS}
    opened: dict[str, int] = {}
    state = 0
    for head, rest in events[1:]:
        if head == "done":
            end = int(rest[0]) - t0
            for unit, start in opened.items():
                intervals[unit].append((start, end))
            break
        if head in ("take", "retire"):
            continue
        cycle, bits = int(head) - t0, int(rest[0], 2)
        for i, unit in enumerate(UNITS):
            was, now = state >> i & 1, bits >> i & 1
            if now and not was:
                opened[unit] = cycle
            elif was and not now:
                intervals[unit].append((opened.pop(unit), cycle))
        state = bits
    return intervals


def read_trace(path: str | Path, run: int = -1) -> Intervals:
    """Per-instruction intervals (start, end) per unit in queue order, in cycles since START
    (end exclusive), of one run in the file (default: the last). Intervals of one unit overlap
    where its engine held two instructions."""
    events = _run_events(path, run)
    if not any(head in ("take", "retire") for head, _ in events):
        return read_busy(path, run)          # an older trace: busy bits only
    t0 = int(events[0][1][0])
    intervals: Intervals = {u: [] for u in UNITS}
    # Per unit: the instructions in flight (oldest first) as (index in queue order, start).
    open_: dict[str, list[tuple[int, int]]] = {u: [] for u in UNITS}
    state = 0
    for head, rest in events[1:]:
        if head == "done":
            end = int(rest[0]) - t0
            for unit in UNITS:           # a run stopped by an error: open ones end here
                for index, start in open_[unit]:
                    intervals[unit][index] = (start, max(start, end))
            break
        if head in ("take", "retire"):
            cycle, unit = int(rest[0]) - t0, UNITS[int(rest[1])]
            if head == "take":
                # Busy from the cycle after the hand-over (the engine registers it).
                open_[unit].append((len(intervals[unit]), cycle + 1))
                intervals[unit].append((cycle + 1, cycle + 1))
                continue
            if not open_[unit]:
                raise ValueError(f"{path}: {unit} retires at cycle {cycle + t0} with no "
                                 "instruction in flight")
            index, start = open_[unit].pop(0)       # engines retire in order
            # The retiring pulse may fall in the first idle cycle or in the last busy one
            # (docs/architecture.md, engine contract): where the busy bit is still set and no
            # other instruction of the unit covers this cycle, it is this one's.
            last_busy = state >> UNITS.index(unit) & 1 and not open_[unit]
            intervals[unit][index] = (start, max(start, cycle + int(bool(last_busy))))
            continue
        state = int(rest[0], 2)
    return intervals


def union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The cycles covered by some interval, as sorted, non-overlapping intervals."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def lanes(spans: list[tuple[int, int]]) -> list[int]:
    """A lane per interval (in order) such that intervals in one lane do not overlap: lane 0
    unless an earlier interval is still running (the matrix engine's second in flight)."""
    ends: list[int] = []
    out = []
    for start, end in spans:
        lane = next((k for k, e in enumerate(ends) if e <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = end
        out.append(lane)
    return out


def perfetto(intervals, notes: dict[str, list[str]] | None = None, clock_ns: float = 10.0,
             name: str = "npu") -> dict:
    """Chrome trace-event JSON (opens in ui.perfetto.dev or chrome://tracing): one track per
    unit, one slice per instruction (an instruction that overlaps an earlier one of its unit
    goes on a second track of the unit); timestamps in microseconds of a `clock_ns` clock."""
    events = [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": name}}]
    extra_tid = len(UNITS) + 1
    for tid, unit in enumerate(UNITS, start=1):
        labels = (notes or {}).get(unit, [])
        spans = intervals[unit]
        lane_of = lanes(spans)
        tids = [tid]
        for _ in range(1, max(lane_of, default=0) + 1):
            tids.append(extra_tid)
            extra_tid += 1
        for lane, lane_tid in enumerate(tids):
            events.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": lane_tid,
                           "args": {"name": unit if lane == 0 else f"{unit} ({lane + 1})"}})
            events.append({"ph": "M", "name": "thread_sort_index", "pid": 1, "tid": lane_tid,
                           "args": {"sort_index": 10 * tid + lane}})
        for k, ((start, end), lane) in enumerate(zip(spans, lane_of)):
            label = labels[k] if len(labels) == len(spans) else unit.lower()
            events.append({"ph": "X", "pid": 1, "tid": tids[lane], "name": label or unit.lower(),
                           "ts": start * clock_ns / 1000, "dur": (end - start) * clock_ns / 1000,
                           "args": {"start_cycle": start, "end_cycle": end}})
    return {"traceEvents": events, "displayTimeUnit": "ns"}


def overlaps(intervals) -> dict[str, int]:
    """Pairwise busy overlap of the units, e.g. "MATRIX&VECTOR": cycles both are busy."""
    busy = {unit: union(intervals[unit]) for unit in UNITS}
    out = {}
    for n, a in enumerate(UNITS):
        for b in UNITS[n + 1:]:
            out[f"{a}&{b}"] = int(overlap_cycles(busy[a], busy[b]))
    return out


def busy_cycles(intervals) -> dict[str, int]:
    """Cycles each unit is busy (with an instruction in flight; two in flight count once)."""
    return {unit: sum(e - s for s, e in union(spans)) for unit, spans in intervals.items()}


def plot_timelines(panels: list[tuple[str, dict]], path: str | Path,
                   window: tuple[int, int] | None = None) -> None:
    """One panel per (title, intervals), units as rows; `window` zooms to a cycle range. A
    unit's overlapping instructions share its row in lanes (the matrix engine's two in
    flight)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"DMA_IN": "#4c72b0", "DMA_OUT": "#8172b3", "MATRIX": "#dd8452",
              "VECTOR": "#55a868"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 1.6 + 1.3 * len(panels)),
                             squeeze=False, sharex=window is not None)
    for ax, (title, intervals) in zip(axes[:, 0], panels):
        for row, unit in enumerate(reversed(UNITS)):
            lane_of = lanes(intervals[unit])
            count = max(lane_of, default=0) + 1
            height = 0.8 / count
            for lane in range(count):
                spans = [(s, e - s) for (s, e), k in zip(intervals[unit], lane_of)
                         if k == lane and (window is None or (e > window[0] and s < window[1]))]
                ax.broken_barh(spans, (row + 0.1 + (count - 1 - lane) * height, height),
                               color=colors[unit], alpha=1.0 if lane == 0 else 0.6)
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

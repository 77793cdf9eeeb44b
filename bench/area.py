"""Area of an NPU configuration, for the design-space exploration (bench/dse.py).

Yosys maps the whole NPU to generic cells (tools/synth.py: `abc -fast`, memories kept as $mem
cells, i.e. SRAM macros) in minutes per configuration, so the space is not synthesized point
by point. Instead:

* **Logic** (cells and flops) depends on the datapath's widths: the array (array_dim) and the
  lanes (vector_lanes). It is synthesized once per (array_dim, vector_lanes) *anchor*: the
  sweep's base configuration with that array and those lanes, and the base's scratchpad size
  in bytes (its bank lines follow the line width), kept in ANCHORS
  (bench/results/dse/area_anchors.json, measured figures under version control, so a fresh
  clone needs no Yosys run for the anchors it holds). The scratchpad's and accumulators' depth
  change only address widths in the logic, which the anchors do not follow.
* Anchors use the hierarchical flow (`synthesize(..., hierarchical=True)`): each distinct
  module is mapped once, not every lane and reciprocal pipe again. On the 8x8, 8-lane anchor
  it took 239 CPU-s against 444 for the flat flow and gave 349,191 cells (flat 335,983:
  +3.9%, the optimizations across module boundaries it gives up), 16,302 flops (flat 15,894:
  +2.6%) and the same 609,178 memory bits.
* **Memory bits** are the anchor's $mem bits with its scratchpad and accumulator arrays
  replaced by the point's (hwdef: spad_bytes, acc_bytes): every other memory (queues, FIFOs)
  depends on the anchor's parameters only.
* **mm²** converts both with the assumptions below (a 28 nm-class process; not a
  measurement: change them here and every figure follows). Only their ratio moves the Pareto
  front: logic against SRAM.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from hwdef import HwConfig, derived_name, load_config, scratchpad_geometry

ANCHORS = Path(__file__).parent / "results" / "dse" / "area_anchors.json"
# Assumed areas (28 nm-class standard cells and SRAM macros, placement and periphery included)
UM2_PER_CELL = 0.5        # a generic gate of Yosys' mapping (AND, OR, XOR, MUX, NOT)
UM2_PER_FLOP = 2.0        # a flip-flop
UM2_PER_SRAM_BIT = 0.3    # a bit of a small single-port SRAM macro


class AreaError(RuntimeError):
    """No figure for an anchor, and synthesis was not asked for; says which and how."""


@dataclass(frozen=True)
class Area:
    cells: int              # mapped cells, flops included (the anchor's)
    flops: int
    memory_bits: int        # the point's
    area_mm2: float


def anchor_config(cfg: HwConfig, base: str) -> str:
    """The anchor of *cfg* in a sweep around *base*: the base with cfg's array and lanes and
    the base's scratchpad bytes."""
    b = load_config(base)
    wanted = {"array_dim": cfg.array_dim, "vector_lanes": cfg.vector_lanes,
              **scratchpad_geometry(b, cfg.vector_lanes, b.spad_bytes)}
    changes = {k: v for k, v in wanted.items() if getattr(b, k) != v}
    return derived_name(base, **changes) if changes else base


def _anchors() -> dict:
    return json.loads(ANCHORS.read_text()) if ANCHORS.exists() else {}


def synthesize_anchor(name: str) -> dict:
    """Synthesize one anchor (minutes) and keep its figures in ANCHORS."""
    from tools.synth import synthesize
    rep = synthesize("npu_top", name, hierarchical=True)
    figures = {"cells": rep.cells, "flops": rep.flops, "memory_bits": rep.memory_bits,
               "seconds": round(rep.seconds, 1), "flow": "hierarchical"}
    ANCHORS.parent.mkdir(parents=True, exist_ok=True)
    # Anchors are synthesized in parallel (one Yosys per core): read, add and write under a lock
    with open(ANCHORS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        anchors = _anchors()
        anchors[name] = figures
        # written whole then renamed: a sweep reading the file never sees half of it
        tmp = ANCHORS.with_suffix(".tmp")
        tmp.write_text(json.dumps(anchors, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, ANCHORS)
    return figures


def area(cfg: HwConfig, base: str, synthesize_missing: bool = False) -> Area:
    """The area of *cfg* from its anchor in a sweep around *base* (synthesized first when
    missing and *synthesize_missing*, else AreaError)."""
    name = anchor_config(cfg, base)
    anchor = _anchors().get(name)
    if anchor is None:
        if not synthesize_missing:
            raise AreaError(f"no area figures for the anchor '{name}' of '{cfg.name}': "
                            f"`python -m bench.area --synthesize '{name}'` (Yosys) adds them")
        anchor = synthesize_anchor(name)
    if anchor.get("flow") != "hierarchical":
        raise AreaError(f"the figures of the anchor '{name}' are not from the hierarchical flow "
                        f"every anchor uses: `python -m bench.area --synthesize '{name}'` "
                        "redoes them")
    a = load_config(name)
    memory_bits = (anchor["memory_bits"] - 8 * (a.spad_bytes + a.acc_bytes)
                   + 8 * (cfg.spad_bytes + cfg.acc_bytes))
    um2 = ((anchor["cells"] - anchor["flops"]) * UM2_PER_CELL + anchor["flops"] * UM2_PER_FLOP
           + memory_bits * UM2_PER_SRAM_BIT)
    return Area(anchor["cells"], anchor["flops"], memory_bits, um2 / 1e6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.area", description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="*", help="configurations to print the area of")
    ap.add_argument("--base", default="default", help="the sweep's base configuration")
    ap.add_argument("--synthesize", action="append", default=[], metavar="ANCHOR",
                    help="synthesize this anchor configuration and keep its figures")
    args = ap.parse_args(argv)
    try:
        for name in args.synthesize:
            load_config(name)
            print(f"{name}: {synthesize_anchor(name)}", flush=True)
        for name in args.configs:
            print(f"{name}: {asdict(area(load_config(name), args.base))}")
    except Exception as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

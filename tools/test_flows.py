"""Lint and synthesis of every RTL block, as tests (the `make lint` / `make synth` flows)."""

from __future__ import annotations

import pytest

from hwdef import config_names
from tools import lint, synth
from tools.rtl_sources import BLOCKS


@pytest.mark.parametrize("config", config_names())
@pytest.mark.parametrize("block", BLOCKS)
def test_lint_clean(block, config):
    ok, output = lint.lint(block, config)
    assert ok, f"verilator -Wall is not clean on {block} ({config}):\n{output}"


# The checks (latches, multiple drivers, a finished flow, inferred memories) do not depend on
# the sizes, and synthesizing npu_top flattens every other block into it, so CI synthesizes the
# top and the scratchpad (for its memory check) at `tiny`. `make synth` reports every block.
SYNTH_CONFIG = "tiny"
SYNTH_TEST_BLOCKS = ("npu_top", "npu_scratchpad")


@pytest.mark.synth
@pytest.mark.parametrize("block", SYNTH_TEST_BLOCKS)
def test_synthesizes_without_latches_or_multiple_drivers(block):
    report = synth.synthesize(block, SYNTH_CONFIG)
    print(f"{block}: {report.cells} cells, {report.flops} flops, {report.memories} memories "
          f"({report.memory_bits} bits), {report.seconds:.1f} s")
    assert report.cells > 0
    if block == "npu_scratchpad":
        from hwdef import load_config
        cfg = load_config(SYNTH_CONFIG)
        assert report.memories == cfg.spad_banks, "each bank must infer one memory"
        assert report.memory_bits == cfg.spad_lines * cfg.line_bits


# A hierarchical `stat -top` (tools.synth --hierarchical; the DSE's area anchors): the design
# hierarchy's totals are the figures, and a module's memories count once per instance, where
# an instance count in the tree is per instance of the parent.
HIER_STAT = """
=== lane ===
   Number of cells:                 10
     $_AND_                          8
     $_DFF_PN0_                      2

=== top ===
   Number of cells:                  5

=== design hierarchy ===

   top                               1
     unit                            2
       lane                          4
     lane                            1

   Number of cells:                 95
     $_AND_                         72
     $_DFFE_PN0P_                   18
     $_SDFFCE_PP0P_                  4
     $mem_v2                         1
"""
# Excerpts of real `dump -m t:$mem_v2` output: RTLIL writes a plain module's name with a
# leading backslash, `stat` without it; a flat dump has the top as its one module.
HIER_DUMP = """
autoidx 1
module \\lane
  cell $mem_v2 \\m
    parameter \\SIZE 16
    parameter \\WIDTH 8
  end
end
module $paramod$5f98ed8e\\unit
end
"""
FLAT_DUMP = """
autoidx 1
module \\top
  cell $mem_v2 \\u.m
    parameter \\SIZE 16
    parameter \\WIDTH 8
  end
  cell $mem_v2 \\v.m
    parameter \\SIZE 4
    parameter \\WIDTH 2
  end
end
"""


def test_hierarchical_stat_counts_every_instance():
    assert synth._parse_stat(HIER_STAT) == {"cells": 95, "memories": 1, "flops": 22}
    assert synth._instances(HIER_STAT) == {"top": 1, "unit": 2, "lane": 9}
    assert synth._memory_bits(HIER_DUMP, HIER_STAT) == 9 * 16 * 8
    assert synth._memory_bits(FLAT_DUMP) == 16 * 8 + 4 * 2
    # a dump without `module` lines (no -m) is one flat module, and refused when hierarchical
    no_header = FLAT_DUMP.replace("module \\top\n", "")
    assert synth._memory_bits(no_header) == 16 * 8 + 4 * 2
    with pytest.raises(synth.SynthError, match="without `module` lines"):
        synth._memory_bits(no_header, HIER_STAT)
    with pytest.raises(synth.SynthError, match="not in the design hierarchy"):
        synth._memory_bits(HIER_DUMP.replace("lane", "other"), HIER_STAT)
    assert "flatten" not in synth.yosys_script("npu_top", "tiny", hierarchical=True).split("\n")
    assert "flatten" in synth.yosys_script("npu_top", "tiny").split("\n")

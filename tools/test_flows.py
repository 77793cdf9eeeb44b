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

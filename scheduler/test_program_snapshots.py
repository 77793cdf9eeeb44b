"""Refactors move no instruction: every strategy's program on the recorded workloads
(tools/program_snapshots.py) is word for word the recorded one."""

from __future__ import annotations

import numpy as np
import pytest

from tools.program_snapshots import RECORD, WORKLOADS, build_all, first_difference, key


def test_record_covers_every_workload():
    recorded = set(np.load(RECORD).files)
    assert len(WORKLOADS) >= 10
    assert {key(c, n, s) for c, n, _ in WORKLOADS for s in ("layerwise", "flat", "serial", "mas")} \
        <= recorded


@pytest.fixture(scope="module")
def programs():
    return build_all()


@pytest.mark.parametrize("name", sorted(np.load(RECORD).files))
def test_program_is_the_recorded_one(name, programs):
    assert name in programs, f"{name} is recorded but no longer built"
    diff = first_difference(np.load(RECORD)[name], programs[name])
    assert not diff, f"{name}: {diff} (python -m tools.program_snapshots shows all)"

"""bench/sim_speed.py (`make bench-sim`): bad arguments are one line, before any run (the
measurement itself is a benchmark, not a test)."""

from __future__ import annotations

import pytest

from bench.sim_speed import main


@pytest.mark.parametrize("argv, message", [
    (["--sizes", ","], "--sizes ','"),
    (["--sizes", "0"], "seq_q = 0"),
    (["--strategy", "fast"], "--strategy 'fast'"),
    (["--config", "nope"], "--config 'nope'"),
    (["--out", "/proc/no/such/x.json"], "--out '/proc/no/such/x.json'"),
])
def test_bad_arguments_are_one_line_before_any_run(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1

"""Check the arguments of `make sim` before anything is built.

    NPU_SEQ=300 NPU_STRATEGY=mas python -m runner.check_sim_args     # exit 0: go ahead
    NPU_PROGRAM=/nonexistent python -m runner.check_sim_args         # error: ..., exit 1

The Makefile's `sim` target runs this first, with the environment it then gives pytest: a bad
SEQ, SEQ_KV, DIM, HEADS, CAUSAL, STRATEGY, CONFIG, DRAM, SEED or PROGRAM is reported as one
`error: ...` line naming the make variable, before Verilator builds anything (a failure inside
the simulation only shows `SystemExit: 1`, the reason buried in sim_build/.../sim.log). The
checks are the command line's own (firmware_gen.__main__: integer parsing, workload, scales,
strategy, configuration and the DRAM rule; program files read as `asm`/`dis` read them), and
tb/top/test_attention.py and tb/top/test_program.py read their case through the same functions.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from firmware_gen.__main__ import ascii_int, attention_workload, input_path, one_line
from hwdef import DRAM_MODES, ConfigError, isa, load_config
from runner.program_file import program_words
from scheduler import STRATEGIES, ScheduleError

# make variable -> environment variable the Makefile hands to pytest
MAKE_VARIABLES = {"PROGRAM": "NPU_PROGRAM", "SEQ": "NPU_SEQ", "SEQ_KV": "NPU_SEQ_KV",
                  "DIM": "NPU_DIM", "HEADS": "NPU_HEADS", "CAUSAL": "NPU_CAUSAL",
                  "STRATEGY": "NPU_STRATEGY", "CONFIG": "NPU_SIM_CONFIG", "SEED": "SEED",
                  "DRAM": "NPU_DRAM"}


class SimArgsError(ValueError):
    """A `make sim` variable that cannot work; the message names it."""


@dataclass(frozen=True)
class AttentionCase:
    config: str
    workload: dict          # Workload fields
    strategies: list[str]


def _value(env: Mapping[str, str], variable: str) -> str:
    return env.get(MAKE_VARIABLES[variable], "")


def _integer(env: Mapping[str, str], variable: str, default: int | None = None) -> int | None:
    text = _value(env, variable)
    if not text:
        return default
    try:
        return ascii_int(text)
    except argparse.ArgumentTypeError as exc:
        raise SimArgsError(f"{variable}={exc}") from None


def _config(env: Mapping[str, str], default: str) -> str:
    name = _value(env, "CONFIG") or default
    try:
        load_config(name)     # a configuration of configs.toml, or one derived from it
    except ConfigError as exc:
        raise SimArgsError(f"CONFIG={isa.quote(name)}: {exc}") from None
    return name


def check_seed(env: Mapping[str, str]) -> None:
    seed = _integer(env, "SEED")
    if seed is not None and seed < 0:
        raise SimArgsError(f"SEED={seed}: must be >= 0")


def check_dram(env: Mapping[str, str]) -> None:
    """DRAM=config (the configuration's DRAM, the default) or DRAM=unlimited."""
    mode = _value(env, "DRAM")
    if mode and mode not in DRAM_MODES:
        raise SimArgsError(f"DRAM={isa.quote(mode)}: unknown DRAM model; use "
                           f"{' or '.join(DRAM_MODES)}")


def attention_case(env: Mapping[str, str]) -> AttentionCase:
    """The attention case of `make sim SEQ=...` (defaults: CONFIG default, DIM 16 on tiny and
    64 elsewhere, one head, every strategy), checked as `firmware_gen attention` checks it."""
    config = _config(env, "default")
    seq = _integer(env, "SEQ")
    if seq is None:
        raise SimArgsError("SEQ is not set")
    causal = _value(env, "CAUSAL")
    if causal not in ("", "0", "1"):
        raise SimArgsError(f"CAUSAL={isa.quote(causal)}: use CAUSAL=1 (or 0)")
    strategy = _value(env, "STRATEGY")
    strategies = [strategy] if strategy else list(STRATEGIES)
    fields = dict(seq_q=seq, seq_kv=_integer(env, "SEQ_KV", seq),
                  head_dim=_integer(env, "DIM", 16 if config == "tiny" else 64),
                  heads=_integer(env, "HEADS", 1), causal=causal == "1")
    cfg = load_config(config)
    for name in strategies:
        try:
            attention_workload(cfg, name, **fields)
        except ScheduleError as exc:
            raise SimArgsError(f"SEQ={seq} SEQ_KV={fields['seq_kv']} DIM={fields['head_dim']} "
                               f"HEADS={fields['heads']} CONFIG={config}: {exc}") from None
    return AttentionCase(config, fields, strategies)


def program_case(env: Mapping[str, str]) -> tuple[str, str]:
    """(path, configuration) of `make sim PROGRAM=...` (CONFIG default tiny), after reading the
    program as the runner will (runner/program_file.py)."""
    config = _config(env, "tiny")
    path = _value(env, "PROGRAM")
    try:
        input_path(path, "PROGRAM")
        program_words(path)
    except (ValueError, OSError) as exc:        # AsmError, IsaError, UsageError, too long
        message = str(exc)
        raise SimArgsError(message if message.startswith(("PROGRAM", path))
                           else f"PROGRAM={path}: {message}") from None
    return path, config


def check(env: Mapping[str, str]) -> None:
    """Everything the chosen `make sim` mode reads; raises SimArgsError."""
    check_seed(env)
    check_dram(env)
    if _value(env, "PROGRAM"):
        program_case(env)
    elif _value(env, "SEQ"):
        attention_case(env)
    else:
        _config(env, "default")


def main() -> int:
    try:
        check(os.environ)
    except (SimArgsError, ConfigError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

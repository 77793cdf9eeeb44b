"""Build an RTL block once per parameter set and run its cocotb tests from pytest.

Style of alexforencich's cocotbext-axi benches: one pytest function per parameter set, a unique
build directory per parameter set under sim_build/, and the cocotb tests living in the same
module as the pytest function that launches them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

from hwdef import load_config
from tools.rtl_sources import REPO, rtl_sources
from tools.verilator_env import setup_environment

SIM_BUILD = REPO / "sim_build"

# Fast simulation: no X pessimism, optimised C++. The reset-bug hunt (unique X values) is
# selected with NPU_X_UNIQUE=1.
_FAST_ARGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast"]
_XHUNT_ARGS = ["--x-assign", "unique", "--x-initial", "unique"]


def build_dir_for(toplevel: str, config: str, params: Mapping[str, object],
                  variant: str = "") -> Path:
    key = json.dumps(dict(sorted(params.items())))
    if variant:
        key += variant
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return SIM_BUILD / f"{toplevel}-{config}{'-' + variant if variant else ''}-{digest}"


def run_cocotb(
    toplevel: str,
    test_module: str,
    config: str = "tiny",
    extra_params: Mapping[str, object] | None = None,
    testcase: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    build_args: list[str] | None = None,
) -> Path:
    """Build *toplevel* for configuration *config* (reusing a previous build) and run the
    cocotb tests of *test_module* on it. Raises if the simulation fails or runs no test."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    setup_environment()
    cfg = load_config(config)
    params = dict(cfg.sv_params(toplevel))
    params.update(extra_params or {})
    x_hunt = os.environ.get("NPU_X_UNIQUE") == "1"
    build_dir = build_dir_for(toplevel, config, params, "xhunt" if x_hunt else "")

    runner = get_runner("verilator")
    runner.build(
        sources=rtl_sources(),
        hdl_toplevel=toplevel,
        parameters=params,
        build_dir=build_dir,
        build_args=(_XHUNT_ARGS if x_hunt else _FAST_ARGS) + list(build_args or []),
        timescale=("1ns", "1ps"),
        log_file=build_dir / "build.log",
    )
    env = {"NPU_CONFIG": config, "NPU_PARAMS": json.dumps(params)}
    env.update(extra_env or {})
    plusargs = ["+verilator+rand+reset+2"] if x_hunt else []
    results = runner.test(
        test_module=test_module,
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env=env,
        plusargs=plusargs,
        test_filter=testcase,
        seed=os.environ.get("SEED"),
        log_file=build_dir / f"{test_module.rsplit('.', 1)[-1]}.log",
    )
    num_tests, num_failed = get_results(Path(results))
    if num_tests == 0:
        raise AssertionError(f"{test_module} ran no cocotb test on {toplevel} ({config})")
    if num_failed:
        raise AssertionError(f"{num_failed} of {num_tests} cocotb tests failed "
                             f"({toplevel}, {config}); log in {build_dir}")
    return Path(results)

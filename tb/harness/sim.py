"""Build an RTL block once per parameter set and run its cocotb tests from pytest.

Style of alexforencich's cocotbext-axi benches: one pytest function per parameter set, a unique
build directory per parameter set under sim_build/, and the cocotb tests living in the same
module as the pytest function that launches them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from hwdef import load_config
from tools.rtl_sources import REPO, RTL_INCLUDE_DIR, rtl_sources
from tools.verilator_env import setup_environment

SIM_BUILD = REPO / "sim_build"

# Fast simulation: no X pessimism, optimised C++. The reset-bug hunt (unique X values) is
# selected with NPU_X_UNIQUE=1.
_FAST_ARGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast"]
_XHUNT_ARGS = ["--x-assign", "unique", "--x-initial", "unique"]
# Every build checks the RTL's assertions (rtl/include/npu_assert.svh), whatever its variant.
_COMMON_ARGS = ["--assert"]
# Part of every build directory's key: bump it whenever the build arguments above change, so a
# build made with other flags is never reused.
BUILD_FLAGS_VERSION = "2"


# Printed by every failing assertion of the RTL (rtl/include/npu_assert.svh).
ASSERT_TAG = "[NPU ASSERT]"


def assertion_failures(log: Path, limit: int = 5) -> list[str]:
    """The first *limit* lines of a simulation log that report a failed RTL assertion (or an
    $error / $fatal from the HDL, which Verilator prints as "%Error:"), in order."""
    found: list[str] = []
    if not log.exists():
        return found
    with open(log, errors="replace") as text:
        for line in text:
            if ASSERT_TAG in line or "%Error:" in line:
                found.append(line.strip())
                if len(found) >= limit:
                    break
    return found


def build_dir_for(toplevel: str, config: str, params: Mapping[str, object],
                  variant: str = "", extra_sources: Sequence[Path | str] = ()) -> Path:
    key = json.dumps(dict(sorted(params.items()))) + f"flags{BUILD_FLAGS_VERSION}"
    if extra_sources:
        # Bench-only sources (e.g. a simulation wrapper under tb/sv/) are part of the build.
        key += json.dumps(sorted(str(Path(p).resolve()) for p in extra_sources))
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
    extra_sources: Sequence[Path | str] | None = None,
    run_tag: str = "",
    plusargs: Sequence[str] = (),
    toggle_coverage: bool = False,
) -> Path:
    """Build *toplevel* for configuration *config* (reusing a previous build) and run the
    cocotb tests of *test_module* on it. Raises if the simulation fails or runs no test.

    *extra_sources* are simulation-only files compiled after rtl_sources() (a bench wrapper
    under tb/sv/, for instance); they take part in the build directory's hash.
    *toggle_coverage* builds a separate variant with Verilator's toggle coverage, which writes
    `coverage.dat` (per-bit toggle counts) into the run directory when the simulation ends."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    setup_environment()
    cfg = load_config(config)
    params: dict[str, object] = dict(cfg.sv_params(toplevel))
    params.update(extra_params or {})
    x_hunt = os.environ.get("NPU_X_UNIQUE") == "1"
    extra = [Path(p) for p in (extra_sources or ())]
    variant = "-".join(v for v in ("xhunt" if x_hunt else "",
                                   "toggle" if toggle_coverage else "") if v)
    build_dir = build_dir_for(toplevel, config, params, variant, extra)

    runner = get_runner("verilator")
    # Several pytest-xdist workers may share a build (same top and parameters, different test
    # modules): the first builds, the others wait and then reuse it.
    SIM_BUILD.mkdir(parents=True, exist_ok=True)
    with open(SIM_BUILD / f"{build_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runner.build(
            sources=rtl_sources() + extra,
            includes=[RTL_INCLUDE_DIR],
            hdl_toplevel=toplevel,
            parameters=params,
            build_dir=build_dir,
            build_args=(_COMMON_ARGS + (_XHUNT_ARGS if x_hunt else _FAST_ARGS)
                        + list(build_args or [])
                        + (["--coverage-toggle"] if toggle_coverage else [])),
            timescale=("1ns", "1ps"),
            log_file=build_dir / "build.log",
        )
    # Each test module (and run tag) gets its own working directory inside the build, so
    # simulations sharing a build never share files (results, DRAM images).
    run_name = test_module.rsplit(".", 1)[-1] + (f"-{run_tag}" if run_tag else "")
    test_dir = build_dir / f"run-{run_name}"
    env = {"NPU_CONFIG": config, "NPU_PARAMS": json.dumps(params)}
    env.update(extra_env or {})
    plusargs = (["+verilator+rand+reset+2"] if x_hunt else []) + list(plusargs)
    log = test_dir / "sim.log"
    try:
        results = runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            build_dir=build_dir,
            test_dir=test_dir,
            extra_env=env,
            plusargs=plusargs,
            test_filter=testcase,
            seed=os.environ.get("SEED"),
            log_file=log,
        )
    except RuntimeError as exc:
        # A failed assertion ($error under --assert) stops Verilator at once ($stop): the
        # simulator exits non-zero and cocotb's runner raises without saying why. The reason is
        # in the log.
        errors = assertion_failures(log)
        if errors:
            raise AssertionError(_assertion_report(errors, toplevel, config, log)) from exc
        raise
    errors = [e for e in assertion_failures(log) if ASSERT_TAG in e]
    if errors:
        # Only reachable if the simulation went on after an assertion (+verilator+error+limit).
        raise AssertionError(_assertion_report(errors, toplevel, config, log))
    num_tests, num_failed = get_results(Path(results))
    if num_tests == 0:
        raise AssertionError(f"{test_module} ran no cocotb test on {toplevel} ({config})")
    if num_failed:
        raise AssertionError(f"{num_failed} of {num_tests} cocotb tests failed "
                             f"({toplevel}, {config}); log in {build_dir}")
    return Path(results)


def _assertion_report(errors: Sequence[str], toplevel: str, config: str, log: Path) -> str:
    return (f"RTL assertion failed in the simulation of {toplevel} ({config}):\n  "
            + "\n  ".join(errors) + f"\nlog: {log}")

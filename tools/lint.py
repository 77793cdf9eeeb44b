"""Lint every RTL block with `verilator --lint-only -Wall` at each named configuration.

    python -m tools.lint                # all blocks, all configurations
    python -m tools.lint npu_scratchpad # one block

Waivers live in the RTL next to the code they excuse (`/* verilator lint_off ... */` with a
comment saying why); this flow adds none.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from hwdef import config_names, load_config
from tools.rtl_sources import BLOCKS, REPO, RTL_INCLUDE_DIR, rtl_sources
from tools.verilator_env import verilator_binary


def lint_command(block: str, config: str) -> list[str]:
    params = load_config(config).sv_params(block)
    # --assert: the RTL's assertions (rtl/include/npu_assert.svh) are linted as they simulate.
    cmd = [verilator_binary(), "--lint-only", "-Wall", "--assert", "--top-module", block]
    cmd += [f"-G{name}={value}" for name, value in params.items()]
    cmd += [f"-I{RTL_INCLUDE_DIR}"]
    cmd += [str(p) for p in rtl_sources()]
    return cmd


def lint(block: str, config: str) -> tuple[bool, str]:
    result = subprocess.run(lint_command(block, config), cwd=REPO, capture_output=True,
                            text=True)
    output = (result.stdout + result.stderr).strip()
    return result.returncode == 0 and "%Warning" not in output, output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="verilator --lint-only -Wall on RTL blocks")
    parser.add_argument("blocks", nargs="*", default=list(BLOCKS))
    parser.add_argument("--config", action="append", help="configuration(s); default: all")
    args = parser.parse_args(argv)
    failures = 0
    for block in args.blocks:
        for config in args.config or config_names():
            ok, output = lint(block, config)
            print(f"lint {block:<20} {config:<8} {'clean' if ok else 'FAILED'}")
            if not ok:
                failures += 1
                print(output)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

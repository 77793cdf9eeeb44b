"""`make sim` checks its arguments before building anything (runner/check_sim_args.py): each
bad value is one `error:` line naming the make variable, good ones pass."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.check_sim_args import (
    SimArgsError,
    attention_case,
    check,
    program_case,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "firmware_gen" / "examples" / "tiny_matmul_relu.s")


@pytest.mark.parametrize("env, message", [
    ({"NPU_SEQ": "0"}, "seq_q = 0: sequence lengths must be 1..4096"),
    ({"NPU_SEQ": "abc"}, "SEQ='abc' is not an integer"),
    ({"NPU_SEQ": "１２"}, "SEQ='１２' is not an integer"),
    ({"NPU_SEQ": "5000"}, "seq_q = 5000"),
    ({"NPU_SEQ": "300", "NPU_STRATEGY": "bogus"}, "unknown strategy 'bogus'"),
    ({"NPU_SEQ": "300", "NPU_SIM_CONFIG": "bogus"}, "CONFIG='bogus': unknown configuration"),
    ({"NPU_SEQ": "300", "NPU_SIM_CONFIG": "default+spad_bank_lines=100"},
     "CONFIG='default+spad_bank_lines=100': configuration 'default+spad_bank_lines=100': "
     "spad_bank_lines=100 must be a power of two"),
    ({"NPU_SEQ": "30", "NPU_DIM": "8"}, "head_dim = 8"),
    ({"NPU_SEQ": "30", "NPU_HEADS": "0"}, "heads = 0"),
    ({"NPU_SEQ": "30", "NPU_SEQ_KV": "x"}, "SEQ_KV='x' is not an integer"),
    ({"NPU_SEQ": "30", "NPU_CAUSAL": "yes"}, "CAUSAL='yes'"),
    ({"NPU_SEQ": "30", "SEED": "-1"}, "SEED=-1: must be >= 0"),
    ({"NPU_SEQ": "4096", "NPU_DIM": "128", "NPU_HEADS": "6"},
     "with layerwise does not fit in 16777216 bytes of DRAM"),
    ({"NPU_PROGRAM": "/nonexistent"}, "PROGRAM '/nonexistent': no such file"),
    ({"NPU_PROGRAM": str(REPO)}, "is a directory"),
    ({"NPU_PROGRAM": str(REPO / "Makefile")}, "Makefile:"),
    ({"NPU_PROGRAM": EXAMPLE, "NPU_SIM_CONFIG": "bogus"}, "CONFIG='bogus'"),
    ({"NPU_SIM_CONFIG": "bogus"}, "CONFIG='bogus'"),
    ({"NPU_SEQ": "30", "NPU_DRAM": "fast"},
     "DRAM='fast': unknown DRAM model; use config or unlimited"),
    ({"NPU_DRAM": "Unlimited"}, "DRAM='Unlimited'"),
], ids=lambda v: "-".join(f"{k}={v}" for k, v in v.items()) if isinstance(v, dict) else "")
def test_bad_arguments_name_the_variable(env, message):
    with pytest.raises(SimArgsError) as info:
        check(env)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_garbage_program_file(tmp_path):
    garbage = tmp_path / "garbage.s"
    garbage.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    with pytest.raises(SimArgsError, match="garbage.s:1: column 9: byte 0xff is not UTF-8"):
        program_case({"NPU_PROGRAM": str(garbage)})
    image = tmp_path / "ragged.bin"
    image.write_bytes(bytes(40))
    with pytest.raises(SimArgsError, match=r"PROGRAM=.*ragged.bin: image length 40"):
        program_case({"NPU_PROGRAM": str(image)})


def test_good_arguments_pass_with_their_defaults():
    case = attention_case({"NPU_SEQ": "300", "NPU_STRATEGY": "mas"})
    assert case.config == "default" and case.strategies == ["mas"]
    assert case.workload == dict(seq_q=300, seq_kv=300, head_dim=64, heads=1, causal=False)
    case = attention_case({"NPU_SEQ": "33", "NPU_SEQ_KV": "70", "NPU_DIM": "32",
                           "NPU_HEADS": "2", "NPU_CAUSAL": "1", "NPU_SIM_CONFIG": "tiny"})
    assert case.strategies == ["layerwise", "flat", "serial", "mas"] and case.workload["causal"]
    assert program_case({"NPU_PROGRAM": EXAMPLE}) == (EXAMPLE, "tiny")
    check({})           # plain `make sim`


@pytest.mark.parametrize("args, message", [
    (["SEQ=abc"], "error: SEQ='abc' is not an integer"),
    (["PROGRAM=/nonexistent"], "error: PROGRAM '/nonexistent': no such file"),
    (["BUNDLE=/nonexistent"], "error: bundle '/nonexistent': no such directory"),
    (["BUNDLE=/nonexistent", "SEQ=20"], "error: BUNDLE= runs that bundle as written: leave out "
     "SEQ SEQ_KV DIM HEADS CAUSAL STRATEGY and PROGRAM (other modes of make sim)"),
])
def test_make_sim_stops_before_any_build(args, message):
    """The real `make sim`: one error line, exit status != 0, in seconds (no Verilator)."""
    start = time.perf_counter()
    result = subprocess.run(["make", "-s", "-o", ".venv/.bootstrap-stamp", "sim", *args,
                             f"PY={sys.executable}"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [message], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert time.perf_counter() - start < 60

"""Constrained-random programs: the generator, the checker, minimization, and a fixed-seed
slice on the RTL of every configuration `make test` covers (docs/testplan.md, "Random
programs"). Longer runs: `make soak N=10000`."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hwdef import isa
from runner.job import HANG
from runner.model import run_model
from tb.crv import coverage
from tb.crv.check import mismatches
from tb.crv.generator import RandomProgram, generate, seed_of
from tb.crv.soak import minimize, run_programs

REPORTS = Path(__file__).resolve().parents[2] / "sim_build" / "crv-coverage"
# Programs per configuration in `make test` (the budget: docs/testplan.md); the soak runs more.
SLICE = {"tiny": int(os.environ.get("NPU_CRV_TINY", 400)),
         "default": int(os.environ.get("NPU_CRV_DEFAULT", 30))}
SLICE_SEED = 2026

# What the model says each deliberately illegal kind ends with (None: the generator predicts
# it, the sequential model cannot see it).
EXPECTED_BY_KIND = {"field": "BAD_FIELD", "spad_range": "SPAD_RANGE", "acc_range": "ACC_RANGE",
                    "dram_range": "DRAM_RANGE", "opcode": "ILLEGAL_OPCODE",
                    "reserved_bits": "ILLEGAL_OPCODE", "ow_violation": "OW_VIOLATION",
                    "bad_release": "BAD_RELEASE", "operand_overlap": "OPERAND_OVERLAP",
                    "prog_align": "PROG_ALIGN", "deadlock": None, "sem_overflow": None}


def test_same_seed_same_program():
    a, b = generate("tiny", 12345), generate("tiny", 12345)
    assert a.words == b.words and np.array_equal(a.image, b.image)
    assert generate("tiny", 12346).words != a.words


def test_listing_reruns_the_same_program():
    """A soak's .s file (illegal words as `.word`) gives back the program and its job."""
    for index in range(40):
        prog = generate("tiny", seed_of(4, index))
        again = RandomProgram.from_listing(prog.listing(), "listing")
        assert again.words == prog.words, prog.seed
        assert again.job().digest() == prog.job().digest(), prog.seed
    with pytest.raises(ValueError, match="not a random program"):
        RandomProgram.from_listing("halt\n", "plain.s")


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_programs_are_what_the_generator_says(config):
    """Legal programs run cleanly on the model; each illegal kind ends with its error; the
    shares of kinds and of synchronization styles are what the knobs ask for."""
    kinds: Counter = Counter()
    styles: Counter = Counter()
    for index in range(100):
        prog = generate(config, seed_of(99, index))
        out = run_model(prog.job())
        kinds[prog.kind] += 1
        styles[(prog.fences, prog.strict)] += 1
        if prog.kind == "none":
            assert out.error is None, (prog.seed, out.error, hex(out.error_pc))
            assert isa.decode(prog.words[-1])[0] == "HALT"
        elif EXPECTED_BY_KIND[prog.kind] is not None:
            assert out.error == EXPECTED_BY_KIND[prog.kind], (prog.seed, prog.kind, out.error)
        else:
            assert prog.expected is not None, (prog.seed, prog.kind)
    assert kinds["none"] > 50, kinds
    assert len(kinds) >= 6, kinds
    assert len(styles) == 4, styles


def test_checker_catches_every_kind_of_difference():
    """The checker is not a formality: a flipped output byte, a wrong counter, a wrong error
    code or info, and a hang are each reported."""
    prog = next(p for p in (generate("tiny", seed_of(5, i)) for i in range(50))
                if p.kind == "none")
    model = run_model(prog.job())
    rtl = run_model(prog.job())        # a perfect "RTL": equal to the model
    assert mismatches(prog, rtl, model) == []
    rtl.outputs["spad"] = rtl.outputs["spad"].copy()
    rtl.outputs["spad"][3] ^= 1
    assert any("output spad" in m for m in mismatches(prog, rtl, model))
    rtl = run_model(prog.job())
    rtl.counters["INSN_RETIRED"] += 1
    assert any("INSN_RETIRED" in m for m in mismatches(prog, rtl, model))
    rtl = run_model(prog.job())
    rtl.error, rtl.done = "SPAD_RANGE", False
    assert mismatches(prog, rtl, model)[0].startswith("error")
    rtl.error = HANG
    assert mismatches(prog, rtl, model)[0].startswith("hang")
    model.error, model.error_pc = "SPAD_RANGE", prog.prog_base      # a legal program that the
    rtl = run_model(prog.job())                                     # model stops: generator bug
    assert mismatches(prog, rtl, model)[0].startswith("generator")
    illegal = next(p for p in (generate("tiny", seed_of(6, i)) for i in range(300))
                   if p.kind == "spad_range")
    model = run_model(illegal.job())
    rtl = run_model(illegal.job())
    assert mismatches(illegal, rtl, model) == []
    rtl.error_info += 1
    assert any("ERROR_INFO" in m for m in mismatches(illegal, rtl, model))


def test_minimize_keeps_what_fails():
    """Delta debugging finds the one instruction a (model-level) failure depends on."""
    prog = next(p for p in (generate("tiny", seed_of(8, i)) for i in range(50))
                if p.kind == "none" and sum(1 for item in p.seq if item != "FENCE"
                                            and item[0] == "MATMUL") == 1)

    def has_matmul(progs):
        return [any(isa.decode(w)[0] == "MATMUL" for w in p.words) for p in progs]

    small = minimize(prog, has_matmul)
    body = [isa.decode(w)[0] for w in small.words]
    assert body.count("MATMUL") == 1 and len(body) < len(prog.words), body


@pytest.mark.sim
def test_random_programs_on_rtl():
    """A fixed-seed slice on both configurations, in one process so that the coverage printed
    at the end of the session (tb/conftest.py) is the slice's: every program equal on the RTL
    and the model (DRAM, status, error code, pc and info, retired instructions)."""
    lines: list[str] = []
    failures: list[str] = []
    for config, count in SLICE.items():
        seeds = [seed_of(SLICE_SEED, i) for i in range(count)]
        summary = run_programs(config, seeds, batch=100, progress=lambda line: None,
                               tag=f"crv-test-{config}")
        lines += summary.lines()
        failures += [f"{config} seed {r.prog.seed} ({r.prog.kind}): {'; '.join(r.problems)}"
                     for r in summary.failures]
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "make-test-slice.txt").write_text(
        "\n".join(lines) + "\n" + coverage.report() + "\n")
    assert not failures, (f"{len(failures)} random programs differ (rerun one: python -m "
                          "tb.crv.soak --config CONFIG --rerun SEED):\n" + "\n".join(failures[:20]))


def test_soak_refuses_bad_arguments_and_files(tmp_path, capsys):
    """Bad soak arguments and bad program files end in one `error:` line, before any build."""
    from tb.crv.soak import main
    listing = generate("tiny", seed_of(4, 0)).listing()
    marker = "# crv-run: "
    run_line = next(ln for ln in listing.splitlines() if ln.startswith(marker))
    bad_runs = [run_line.replace('"window": [', '"window": [-1, '),
                run_line.replace('"seed": ', '"seed": "x", "_": '),
                run_line.replace('"dram_latency": [', '"dram_latency": [90, '),
                marker + "[1, 2]", marker + "{not json"]
    files = []
    for index, line in enumerate(bad_runs):
        path = tmp_path / f"bad{index}.s"
        path.write_text(listing.replace(run_line, line))
        files.append(["--rerun-file", str(path)])
    for argv in files + [["--max-insns", "300"], ["--rerun", "-1"], ["--count", "0"],
                         ["--config", "bogus"], ["--rerun-file", str(tmp_path / "none.s")]]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err, (argv, err)

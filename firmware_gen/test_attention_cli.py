"""`python -m firmware_gen attention`: the files it writes agree with each other and with the
scheduler, every strategy works, and bad workloads or arguments fail with a specific message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_gen import assemble, read_image
from firmware_gen.__main__ import main
from hwdef import isa, load_config
from scheduler import STRATEGIES, Tiling, Workload, build_schedule

FILES = ("program.bin", "program.s", "listing.txt", "memory_map.json", "schedule.json")
# ragged lengths, several heads, causal, an output scale: every part of the layout is exercised
BASE = ["--seq-len", "20", "--seq-len-kv", "13", "--head-dim", "20", "--heads", "2",
        "--batch", "2", "--causal", "--s-o", "0.0625", "--config", "tiny"]
WORKLOAD = Workload(20, 13, 20, heads=2, batch=2, causal=True, s_o=0.0625)


def _run(capsys, *args):
    code = main(["attention", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _read(out_dir):
    return (read_image(out_dir / "program.bin"), (out_dir / "program.s").read_text(),
            (out_dir / "listing.txt").read_text(),
            json.loads((out_dir / "memory_map.json").read_text()),
            json.loads((out_dir / "schedule.json").read_text()))


def _check_memory_map(mm, n_words):
    assert mm["instructions"] == n_words
    tensors = {name: t for name, t in mm["tensors"].items() if name != "program"}
    spans = sorted((t["addr"], t["addr"] + t["bytes"], name) for name, t in tensors.items())
    for (_, end, name), (start, _, nxt) in zip(spans, spans[1:]):
        assert end <= start, f"{name} overlaps {nxt}"
    for name, t in tensors.items():
        assert t["bytes"] == t["shape"][0] * t["shape"][1] * t["row_stride"], name
    prog = mm["tensors"]["program"]
    assert prog["addr"] == mm["prog_base"] >= spans[-1][1]
    assert prog["bytes"] == n_words * isa.INSN_BYTES
    assert mm["dram_bytes"] >= mm["prog_base"] + prog["bytes"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_writes_consistent_files(tmp_path, capsys, strategy):
    out_dir = tmp_path / "nested" / strategy        # created, parents included
    code, out, err = _run(capsys, *BASE, "--strategy", strategy, "--out", str(out_dir))
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(FILES)
    words, text, listing, mm, sched = _read(out_dir)

    # the program is the scheduler's, HALT last, and its text assembles to the same words
    want = build_schedule(WORKLOAD, load_config("tiny"), strategy)
    assert words == want.words
    assert isa.decode(words[-1])[0] == "HALT"
    assert assemble(text, source="program.s") == words
    assert "    # " in text and text.startswith("# ")         # notes kept as comments

    # listing: one line per instruction with its DRAM address, and still assembler input
    lines = listing.splitlines()
    assert len(lines) == len(words)
    address = lambda line: int(line.split("# ", 1)[1].split()[0], 16)  # noqa: E731
    assert address(lines[0]) == mm["prog_base"]
    assert address(lines[-1]) == mm["prog_base"] + (len(words) - 1) * isa.INSN_BYTES
    assert assemble(listing, source="listing.txt") == words

    _check_memory_map(mm, len(words))
    assert mm["strategy"] == sched["strategy"] == strategy and mm["config"] == "tiny"
    assert mm["workload"]["seq_kv"] == 13 and mm["workload"]["s_o"] == 0.0625
    assert ({"s", "p", "r"} <= set(mm["tensors"])) == (strategy == "layerwise")

    assert sched["instructions"] == len(words)
    assert sched["predicted_cycles"] == mm["predicted_cycles"] == want.prediction.cycles
    assert {"MATRIX", "VECTOR", "DMA_IN", "DMA_OUT"} <= set(sched["predicted_busy"])
    assert sched["predicted_overlap"] == want.prediction.overlap
    assert (sched["predicted_overlap"] > 0) == (strategy == "mas")
    assert sched["strict"] == (strategy == "mas") and sched["tiling_forced"] is False
    chosen = [c for c in sched["candidates"] if c["chosen"]]
    assert [c["tiling"] for c in chosen] == [sched["tiling"]] == [mm["tiling"]]
    for cand in sched["candidates"]:
        assert (cand["predicted_cycles"] is None) == bool(cand["reason"])

    assert want.summary() in out and str(out_dir) in out and err == ""


def test_command_line_round_trip_through_asm(tmp_path):
    """The real entry point; `asm` turns program.s back into program.bin byte for byte."""
    run = [sys.executable, "-m", "firmware_gen"]
    result = subprocess.run(run + ["attention", "--seq-len", "9", "--head-dim", "16",
                                   "--strategy", "mas", "--config", "tiny",
                                   "--out", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert "instructions" in result.stdout
    subprocess.run(run + ["asm", str(tmp_path / "program.s"), "-o", str(tmp_path / "re.bin")],
                   check=True, capture_output=True)
    assert (tmp_path / "re.bin").read_bytes() == (tmp_path / "program.bin").read_bytes()
    mm = json.loads((tmp_path / "memory_map.json").read_text())
    assert mm["workload"]["seq_kv"] == 9                  # --seq-len-kv defaults to --seq-len


def test_forced_tiling_is_used(tmp_path, capsys):
    code, _, err = _run(capsys, *BASE, "--strategy", "serial", "--out", str(tmp_path),
                        "--block-rows", "4", "--chunk-keys", "8", "--in-place")
    assert code == 0, err
    words, _, _, mm, sched = _read(tmp_path)
    tiling = Tiling(4, 8, separate_x=False)
    assert sched["tiling"] == mm["tiling"] == tiling.to_dict()
    assert sched["tiling_forced"] is True and sched["candidates"] == []
    assert words == build_schedule(WORKLOAD, load_config("tiny"), "serial", tiling).words


def test_forced_score_buffers_are_used(tmp_path, capsys):
    """mas's third S buffer, forced like the other tiling knobs; the files record it."""
    code, _, err = _run(capsys, *BASE, "--strategy", "mas", "--out", str(tmp_path),
                        "--block-rows", "2", "--chunk-keys", "4", "--score-buffers", "3")
    assert code == 0, err
    words, _, _, mm, sched = _read(tmp_path)
    tiling = Tiling(2, 4, score_buffers=3)
    assert sched["tiling"] == mm["tiling"] == tiling.to_dict()
    assert mm["tiling"]["score_buffers"] == 3 and "s2" in mm["scratchpad"]
    assert words == build_schedule(WORKLOAD, load_config("tiny"), "mas", tiling).words


TINY = ["--strategy", "mas", "--config", "tiny"]


@pytest.mark.parametrize("args, messages", [
    (["--seq-len", "0", "--head-dim", "64", *TINY], ["seq_q = 0", "1..4096"]),
    (["--seq-len", "8", "--seq-len-kv", "5000", "--head-dim", "64", *TINY], ["seq_kv = 5000"]),
    (["--seq-len", "8", "--head-dim", "256", *TINY], ["head_dim = 256", "16..128"]),
    (["--seq-len", "8", "--head-dim", "16", "--heads", "0", *TINY], ["heads = 0"]),
    # no tiling fits: the accumulators are the limit, and what would fit is named
    (["--seq-len", "8", "--head-dim", "128", *TINY],
     ["no tiling", "accumulators are the limit", "33 accumulator rows",
      "head_dim <= 64 fits on 'tiny'", "fits on configuration 'default'"]),
    (["--seq-len", "8", "--head-dim", "100", *TINY],
     ["no tiling", "scratchpad is the limit", "head_dim <= 64 fits on 'tiny'"]),
    (["--seq-len", "8", "--head-dim", "16", "--strategy", "mas", "--config", "huge"],
     ["unknown configuration 'huge'", "tiny", "default"]),
    (["--seq-len", "8", "--head-dim", "16", "--strategy", "fast", "--config", "tiny"],
     ["unknown strategy 'fast'", "layerwise, flat, serial, mas"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--block-rows", "4", "--chunk-keys", "8",
      "--value-keys", "16"], ["--value-keys and --value-buffers are for --strategy flat"]),
    (["--seq-len", "16", "--head-dim", "16", "--strategy", "flat", "--config", "tiny",
      "--value-buffers", "1"], ["--value-buffers needs a forced tiling"]),
    (["--seq-len", "1024", "--head-dim", "16", "--strategy", "flat", "--config", "tiny"],
     ["at most 448 keys fit on 'tiny'"]),
    # forced tilings that do not fit: the reason, then tilings that would
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--block-rows", "16", "--chunk-keys", "16"],
     ["Br=16 Bc=16", "128 accumulator rows", "the configuration has 32",
      "tilings that fit", "--block-rows 4 --chunk-keys 16"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--block-rows", "4", "--chunk-keys", "6"],
     ["Bc must be a positive multiple of the array size 4", "tilings that fit"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--block-rows", "0", "--chunk-keys", "4"],
     ["--block-rows = 0"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--block-rows", "4"],
     ["--block-rows and --chunk-keys go together"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--chunk-keys", "4"],
     ["--block-rows and --chunk-keys go together"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--in-place"], ["--in-place needs"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--score-buffers", "3"],
     ["--score-buffers needs a forced tiling"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--block-rows", "4", "--chunk-keys", "4",
      "--score-buffers", "17"], ["--score-buffers = 17: must be 2 to 16"]),
    (["--seq-len", "16", "--head-dim", "16", "--strategy", "serial", "--config", "tiny",
      "--block-rows", "4", "--chunk-keys", "4", "--score-buffers", "3"],
     ["--score-buffers is for --strategy mas"]),
    # a third S buffer that does not fit: tilings where it does
    (["--seq-len", "512", "--head-dim", "64", "--strategy", "mas", "--config", "default",
      "--block-rows", "32", "--chunk-keys", "64", "--score-buffers", "3"],
     ["Br=32 Bc=64 3 S buffers needs 36 scratchpad regions", "tilings that fit",
      "--block-rows 32 --chunk-keys 32 --score-buffers 3"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--s-o", "0"], ["s_o = 0"]),
    (["--seq-len", "16", "--head-dim", "16", *TINY, "--s-o", "1e-9"], ["s_v / s_o"]),
], ids=["seq0", "seq5000", "dim256", "heads0", "tiny-dim128", "tiny-dim100", "config",
        "strategy", "value-keys-not-flat", "value-buffers-unforced", "flat-too-long",
        "tiling-acc", "tiling-bc", "tiling-br0", "only-br", "only-bc", "in-place",
        "score-buffers-unforced", "score-buffers-4", "score-buffers-not-mas",
        "score-buffers-no-room",
        "s_o-zero", "s_o-tiny"])
def test_errors_exit_1_with_a_specific_message(tmp_path, capsys, args, messages):
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, *args, "--out", str(out_dir))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for message in messages:
        assert message in err
    assert not out_dir.exists()          # nothing written on error


@pytest.mark.parametrize("existing", [False, True], ids=["new-dir", "existing-dir"])
def test_a_failed_write_leaves_nothing_half_written(tmp_path, capsys, monkeypatch, existing):
    """The outputs go to a temporary directory first: a write failing on the third file
    leaves no new directory, the previous outputs as they were, and no temporary files."""
    out_dir = tmp_path / "out"
    if existing:
        out_dir.mkdir()
        (out_dir / "program.bin").write_bytes(b"old")
    real_write = Path.write_bytes
    calls = []

    def failing_write(self, data):
        calls.append(self.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    code, out, err = _run(capsys, "--seq-len", "9", "--head-dim", "16", *TINY,
                          "--out", str(out_dir))
    assert code == 1 and out == "" and "No space left on device" in err
    assert err.count("\n") == 1 and len(calls) == 3
    if existing:
        assert sorted(p.name for p in out_dir.iterdir()) == ["program.bin"]
        assert (out_dir / "program.bin").read_bytes() == b"old"
    else:
        assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if existing else [])


def test_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "--seq-len", "9", "--head-dim", "16", *TINY, "--out", "")
    assert code != 0 and err.startswith("error: --out '': empty path") and out == ""
    assert list(tmp_path.iterdir()) == []

"""Running a program bundle as written (runner/bundle.py): on the model for every strategy,
on the RTL for one, with the user's inputs or seeded random ones; bad inputs refused with one
line before any build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_gen.__main__ import main as firmware_gen
from npu_model.attention import attention_int_heads
from runner.bundle import InputsError, main, random_inputs, read_inputs, run_bundle
from scheduler import STRATEGIES
from scheduler.bundle import load_bundle

SHAPE = ["--seq-len", "20", "--seq-len-kv", "28", "--head-dim", "16", "--heads", "2",
         "--batch", "2", "--causal", "--config", "tiny", "--s-o", "0.015625"]


def _bundle(tmp_path: Path, strategy: str = "mas") -> Path:
    out = tmp_path / strategy
    assert firmware_gen(["attention", *SHAPE, "--strategy", strategy, "--out", str(out)]) == 0
    return out


def _inputs(tmp_path: Path, rng, four_d: bool = True) -> tuple[Path, tuple]:
    """int8 q, k, v [batch, heads, rows, d] (or flattened heads) in a .npz file."""
    shapes = {"q": (2, 2, 20, 16), "k": (2, 2, 28, 16), "v": (2, 2, 28, 16)}
    arrays = {n: rng.integers(-128, 128, s, dtype=np.int8) for n, s in shapes.items()}
    if not four_d:
        arrays = {n: a.reshape(4, *a.shape[2:]) for n, a in arrays.items()}
    path = tmp_path / "qkv.npz"
    np.savez(path, **arrays)
    return path, tuple(arrays[n].reshape(4, *arrays[n].shape[-2:]) for n in "qkv")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_bundle_runs_on_the_model_with_the_users_inputs(tmp_path, strategy):
    """The bundle's image on Q, K, V from a file: the output equals the integer contract
    computed from those inputs alone (every strategy, batch and heads, a causal mask, an output
    scale)."""
    bundle = load_bundle(_bundle(tmp_path, strategy))
    path, (q, k, v) = _inputs(tmp_path, np.random.default_rng(5))
    got = read_inputs(path, bundle)
    assert all(np.array_equal(a, b) for a, b in zip(got, (q, k, v)))
    result = run_bundle(bundle, q, k, v, backend="model")
    wl = bundle.workload
    want = attention_int_heads(q, k, v, wl.score, wl.causal, wl.output)
    assert result.ok and result.check is not None
    assert np.array_equal(result.check.output, want)


def test_random_inputs_follow_the_seed_and_the_bundles_scales(tmp_path):
    bundle = load_bundle(_bundle(tmp_path))
    one, again, other = (random_inputs(bundle, s) for s in (1, 1, 2))
    assert all(np.array_equal(a, b) for a, b in zip(one, again))
    assert not np.array_equal(one[0], other[0])
    q = one[0]
    assert q.dtype == np.int8 and q.shape == (4, 20, 16)
    # standard normal at scale 1/32: about 32 LSB of spread, a few values clamped
    assert 20 < q.astype(float).std() < 40


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(q=a["q"].astype(np.float32)), "q is float32; the bundle takes int8"),
    (lambda a: a.update(k=a["k"][:, :, :27]), r"k has shape \[2, 2, 27, 16\]"),
    (lambda a: a.pop("v"), "no array 'v'"),
])
def test_inputs_that_do_not_fit_are_refused(tmp_path, change, message):
    bundle = load_bundle(_bundle(tmp_path))
    path, _ = _inputs(tmp_path, np.random.default_rng(1))
    with np.load(path) as npz:
        arrays = {n: npz[n] for n in npz.files}
    change(arrays)
    np.savez(path, **arrays)
    with pytest.raises(InputsError, match=message):
        read_inputs(path, bundle)
    (tmp_path / "junk.npz").write_text("not a zip")
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "one.npy", arrays["q"])
    for name, text in (("junk.npz", "not a .npz file"), ("empty.npz", "not a .npz file"),
                       ("one.npy", "a single array"), ("none.npz", "no such file")):
        with pytest.raises(InputsError, match=text):
            read_inputs(tmp_path / name, bundle)


def test_the_command_line_refuses_with_one_line_and_exit_1(tmp_path, capsys):
    path = _bundle(tmp_path)
    for argv, message in (([str(tmp_path / "none")], "no such directory"),
                          ([str(path), "--config", "default"], "not 'default'"),
                          ([str(path), "--inputs", str(tmp_path / "x.npz")], "no such file"),
                          ([str(path), "--backend", "fpga"], "invalid choice: 'fpga'"),
                          ([str(path), "--seed", "-1"], "--seed -1: must be >= 0")):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_the_command_line_runs_the_model_and_saves_the_output(tmp_path, capsys):
    path = _bundle(tmp_path)
    inputs, (q, k, v) = _inputs(tmp_path, np.random.default_rng(9), four_d=False)
    saved = tmp_path / "out.npz"
    assert main([str(path), "--backend", "model", "--inputs", str(inputs),
                 "--save", str(saved)]) == 0
    assert "model: bit-exact against the integer contract (1280 outputs)" in capsys.readouterr().out
    wl = load_bundle(path).workload
    with np.load(saved) as npz:
        assert np.array_equal(npz["o"], attention_int_heads(q, k, v, wl.score, wl.causal,
                                                            wl.output))


@pytest.mark.sim
def test_a_bundle_runs_on_the_rtl_as_written(tmp_path, capsys):
    """`make sim BUNDLE=...`'s path: the bundle's own image on the RTL, every DRAM write
    scored against the model, the output against the integer contract."""
    path = _bundle(tmp_path)
    assert main([str(path), "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "rtl: " in out and "bit-exact against the integer contract" in out

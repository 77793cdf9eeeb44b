"""runner.api: attention on the user's own tensors. Every expected output is computed here from
the test's own quantization and the integer contract (npu_model.attention.attention_int),
independently of the API's code."""

from __future__ import annotations

import numpy as np
import pytest

from hwdef.quant import output_scale, score_scale
from npu_model.attention import attention_float, attention_int, fit_output_scale
from runner.api import AttentionInputError, HeadScales, attention, calibrate
from scheduler import STRATEGIES


def _gauss(rng, *shape):
    return rng.standard_normal(shape)


def _expected(q, k, v, s_q, s_k, s_v, s_o, causal=False):
    """int8 O of one head's float inputs at the given scales (quantize, then the contract)."""
    qi, ki, vi = (np.clip(np.round(x / s), -128, 127).astype(np.int8)
                  for x, s in ((q, s_q), (k, s_k), (v, s_v)))
    d = q.shape[-1]
    return attention_int(qi, ki, vi, score_scale(s_q, s_k, d), causal, output_scale(s_v, s_o))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_float_tensors_get_per_head_scales_and_the_contracts_output(strategy):
    rng = np.random.default_rng(1)
    q, k, v = (_gauss(rng, 2, 3, 24, 16) * (1 + np.arange(3))[None, :, None, None]
               for _ in range(3))
    r = attention(q, k, v, strategy=strategy, config="tiny")
    assert r.bit_exact and len(r.programs) == 3          # one program per head
    for h in range(3):
        s_q, s_k, s_v = (np.abs(x[:, h]).max() / 127 for x in (q, k, v))
        assert (r.scales.s_q[h], r.scales.s_k[h], r.scales.s_v[h]) == (s_q, s_k, s_v)
        assert r.scales.s_o is not None and r.scales.s_o[h] == s_v      # static, no set
        for b in range(2):
            want = _expected(q[b, h], k[b, h], v[b, h], s_q, s_k, s_v, s_v)
            assert np.array_equal(r.output_int8[b, h], want)
    assert np.array_equal(r.output, r.output_int8 * r.scales.s_o[None, :, None, None])


def test_int8_tensors_with_the_users_scales():
    rng = np.random.default_rng(2)
    q, k, v = (rng.integers(-128, 128, (1, 2, 20, 16), dtype=np.int8) for _ in range(3))
    scales = HeadScales(0.02, 0.03, np.array([0.05, 0.07]), 0.01)
    r = attention(q, k, v, config="tiny", scales=scales, causal=True)
    for h, s_v in enumerate((0.05, 0.07)):
        want = attention_int(q[0, h], k[0, h], v[0, h], score_scale(0.02, 0.03, 16), True,
                             output_scale(s_v, 0.01))
        assert np.array_equal(r.output_int8[0, h], want)


def test_key_padding_runs_each_length_as_its_own_workload():
    """lengths: keys beyond each sequence's length are masked; with self_attention the padded
    query rows are 0 too. Equal lengths share one program."""
    rng = np.random.default_rng(3)
    q, k, v = (_gauss(rng, 3, 1, 30, 16) for _ in range(3))
    scales = HeadScales(0.03, 0.03, 0.03, 0.01)
    r = attention(q, k, v, config="tiny", lengths=[30, 17, 17], scales=scales, causal=True,
                  self_attention=True)
    assert r.bit_exact and len(r.programs) == 2
    for b, n in enumerate((30, 17, 17)):
        want = _expected(q[b, 0, :n], k[b, 0, :n], v[b, 0, :n], 0.03, 0.03, 0.03, 0.01, True)
        assert np.array_equal(r.output_int8[b, 0, :n], want)
        assert not r.output_int8[b, 0, n:].any()
    # cross-attention (the default): only the keys are padded, every query row computed, also
    # where the two sequences happen to have one length
    for n_kv in (40, 30):
        kx, vx = _gauss(rng, 3, 1, n_kv, 16), _gauss(rng, 3, 1, n_kv, 16)
        r = attention(q, kx, vx, config="tiny", lengths=[n_kv, 9, 23], scales=scales)
        for b, n in enumerate((n_kv, 9, 23)):
            want = _expected(q[b, 0], kx[b, 0, :n], vx[b, 0, :n], 0.03, 0.03, 0.03, 0.01)
            assert np.array_equal(r.output_int8[b, 0], want)


def test_static_calibration_fixes_scales_before_the_inputs_are_seen():
    """calibrate(): Q, K, V scales are the calibration set's per-head maxima and O's is fitted
    to the set's float outputs; attention then uses exactly those, whatever the input. The
    `fit` rule instead fits O to the float answer of the very input."""
    rng = np.random.default_rng(4)
    samples = [tuple(_gauss(rng, 2, 2, 24, 16) for _ in range(3)) for _ in range(3)]
    cal = calibrate(samples)
    for h in range(2):
        assert cal.s_q[h] == max(np.abs(s[0][:, h]).max() for s in samples) / 127
        outs = np.concatenate([
            np.stack([attention_float(q[b, h], k[b, h], v[b, h], 1, 1, 1) for b in range(2)])
            .reshape(-1) for q, k, v in samples])
        assert cal.s_o is not None and cal.s_o[h] == fit_output_scale(outs, cal.s_v[h])
    q, k, v = (_gauss(rng, 1, 2, 24, 16) * 0.5 for _ in range(3))
    r = attention(q, k, v, config="tiny", scales=cal)
    assert r.scales.s_o is not None and np.array_equal(r.scales.s_o, cal.s_o)
    for h in range(2):
        want = _expected(q[0, h], k[0, h], v[0, h], cal.s_q[h], cal.s_k[h], cal.s_v[h],
                         cal.s_o[h])
        assert np.array_equal(r.output_int8[0, h], want)
    fit = attention(q, k, v, config="tiny", output="fit")
    assert fit.scales.s_o is not None and fit.scales.s_o[0] < fit.scales.s_v[0]
    # Gaussian inputs: the fitted output scale keeps the cosine to float64 high
    ref = np.stack([attention_float(q[0, h], k[0, h], v[0, h], 1, 1, 1) for h in range(2)])
    got = fit.output[0]
    assert float((got * ref).sum() / np.linalg.norm(got) / np.linalg.norm(ref)) > 0.999


def _qkv(*shapes, dtype=np.float64):
    return tuple(np.full(s, 1, dtype=dtype) for s in shapes)


@pytest.mark.parametrize("args, options, message", [
    (_qkv((2, 20, 16), (2, 20, 16), (2, 20, 16)), {}, r"q: shape \[2, 20, 16\]"),
    (_qkv((1, 2, 20, 16), (1, 3, 20, 16), (1, 3, 20, 16)), {}, "batch, heads and d must agree"),
    (_qkv((1, 2, 20, 16), (1, 2, 21, 16), (1, 2, 20, 16)), {}, "k and v have one length"),
    (_qkv((1, 1, 20, 16), (1, 1, 20, 16), (1, 1, 20, 16), dtype=np.int32), {}, "dtype int32"),
    ((np.full((1, 1, 4, 16), np.nan), *_qkv((1, 1, 4, 16), (1, 1, 4, 16))), {},
     "q: 64 values are NaN or infinite"),
    ((np.zeros((1, 1, 4, 16), np.int8), *_qkv((1, 1, 4, 16), (1, 1, 4, 16))), {},
     "give all float or all int8"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16), dtype=np.int8), {}, "need scales="),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)),
     {"scales": HeadScales(-1.0, 1.0, 1.0)}, r"scales.s_q: \[-1.0\]"),
    (_qkv((1, 2, 4, 16), (1, 2, 4, 16), (1, 2, 4, 16)),
     {"scales": HeadScales(np.ones(3), 1.0, 1.0)}, r"one scale or one per head \(2\)"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)),
     {"scales": HeadScales(1e4, 1e4, 1.0)}, "head 0: quantization scales: score scale"),
    (_qkv((2, 1, 4, 16), (2, 1, 4, 16), (2, 1, 4, 16)), {"lengths": [4]}, "expected 2 integers"),
    (_qkv((2, 1, 4, 16), (2, 1, 4, 16), (2, 1, 4, 16)), {"lengths": [4, 5]}, "each must be 1..4"),
    (_qkv((1, 1, 4, 16), (1, 1, 6, 16), (1, 1, 6, 16)), {"lengths": [3], "causal": True},
     "only for self-attention"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)), {"strategy": "fast"}, "strategy 'fast'"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)), {"backend": "fpga"}, "backend 'fpga'"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)), {"config": "huge"}, "config: unknown"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)), {"output": "dyn"}, "output 'dyn'"),
    (_qkv((1, 1, 4, 8), (1, 1, 4, 8), (1, 1, 4, 8)), {}, "head 0: head_dim = 8"),
    (_qkv((1, 0, 4, 16), (1, 0, 4, 16), (1, 0, 4, 16)), {}, "each at least 1"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)),
     {"scales": HeadScales(1j, 1.0, 1.0)}, "scales.s_q: complex"),
    (_qkv((1, 1, 4, 16), (1, 1, 4, 16), (1, 1, 4, 16)),
     {"scales": HeadScales("big", 1.0, 1.0)}, "'big' is not a number"),
    (_qkv((1, 1, 4, 16), (1, 1, 6, 16), (1, 1, 6, 16)), {"self_attention": True},
     "self_attention: q has 4 rows, k and v 6"),
])
def test_bad_input_is_one_typed_error(args, options, message):
    with pytest.raises(AttentionInputError, match=message) as info:
        attention(*args, config=options.pop("config", "tiny"), **options)
    assert "\n" not in str(info.value)


def test_a_bad_calibration_set_is_one_typed_error():
    rng = np.random.default_rng(8)
    good = tuple(_gauss(rng, 1, 2, 8, 16) for _ in range(3))
    for samples, message in (([], "no samples"), ([good[:2]], "sample 0 is not"),
                             ([tuple(x.astype(np.int8) for x in good)], "sample 0 is int8"),
                             ([good, tuple(_gauss(rng, 1, 3, 8, 16) for _ in range(3))],
                              "sample 1 has 3 heads of d = 16, the first had 2")):
        with pytest.raises(AttentionInputError, match=message):
            calibrate(samples)


@pytest.mark.sim
def test_the_rtl_backend_gives_cycles_and_the_same_bits():
    rng = np.random.default_rng(6)
    q, k, v = (_gauss(rng, 1, 2, 20, 16) for _ in range(3))
    model = attention(q, k, v, config="tiny")
    rtl = attention(q, k, v, config="tiny", backend="rtl", trace=True)
    assert rtl.bit_exact and np.array_equal(rtl.output_int8, model.output_int8)
    assert rtl.cycles is not None and rtl.cycles > 0 and model.cycles is None
    assert rtl.counters["INSN_RETIRED"] == sum(len(p.words) for p in rtl.programs)
    assert len(rtl.trace_paths) == 2


def test_the_command_line_on_npz_files(tmp_path, capsys):
    from runner.api import main
    rng = np.random.default_rng(7)
    arrays = {n: _gauss(rng, 2, 1, 24, 16) for n in "qkv"}
    np.savez(tmp_path / "qkv.npz", **arrays)
    np.savez(tmp_path / "cal.npz", **{n: _gauss(rng, 2, 1, 24, 16) for n in "qkv"})
    np.save(tmp_path / "one.npy", arrays["q"])
    (tmp_path / "empty.npz").write_bytes(b"")
    assert main(["--inputs", str(tmp_path / "qkv.npz"), "--config", "tiny", "--lengths",
                 "24,11", "--self-attention", "--calibration", str(tmp_path / "cal.npz"),
                 "--save", str(tmp_path / "o.npz")]) == 0
    out = capsys.readouterr().out
    assert "2 program(s), bit-exact against the integer contract" in out and "cosine" in out
    # the calibration rule, computed here: the set's max |x| / 127, O fitted to its outputs
    with np.load(tmp_path / "cal.npz") as npz:
        cq, ck, cv = (npz[n] for n in "qkv")
    s_q, s_k, s_v = (float(np.abs(x).max()) / 127 for x in (cq, ck, cv))
    outs = np.concatenate([attention_float(cq[b, 0], ck[b, 0], cv[b, 0], 1, 1, 1).reshape(-1)
                           for b in range(2)])
    s_o = min(s_v, float(np.abs(outs).max()) / 127)
    with np.load(tmp_path / "o.npz") as saved:
        assert np.allclose(saved["s_o"], [s_o], rtol=1e-12)
        for b, n in enumerate((24, 11)):
            want = _expected(arrays["q"][b, 0, :n], arrays["k"][b, 0, :n], arrays["v"][b, 0, :n],
                             s_q, s_k, s_v, s_o)
            assert np.array_equal(saved["o_int8"][b, 0, :n], want)
            assert not saved["o_int8"][b, 0, n:].any()
    for argv, message in ((["--inputs", str(tmp_path / "none.npz")], "no such file"),
                          (["--inputs", str(tmp_path / "qkv.npz"), "--lengths", "a"],
                           "comma-separated integers"),
                          (["--inputs", str(tmp_path / "qkv.npz"), "--backend", "x"],
                           "backend 'x'"),
                          (["--inputs", str(tmp_path / "one.npy")], "a single array (.npy)"),
                          (["--inputs", str(tmp_path / "empty.npz")], "not a .npz file"),
                          (["--inputs", str(tmp_path / "qkv.npz"), "--config", "tiny",
                            "--save", str(tmp_path / "no" / "o.npz")], "--save")):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1

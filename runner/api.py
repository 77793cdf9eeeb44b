"""Attention on your own tensors: quantize, schedule, run on the RTL or the model, dequantize.

    from runner.api import attention, calibrate
    result = attention(q, k, v, strategy="mas", config="default", backend="model")
    result.output           # float [batch, heads, seq_q, d], dequantized
    result.output_int8      # what the NPU wrote
    result.cycles, result.counters, result.trace_paths      # the RTL backend's

Inputs are arrays of shape [batch, heads, seq, d]: float (quantized here to int8, each
(tensor, head) with its own scale) or int8 with your scales (`scales=`). The output is
compared bit for bit with the integer contract (npu_model.attention.attention_int) computed
from the quantized inputs alone (`result.bit_exact`).

Scales (docs/numerics.md, "Scales of your own tensors"):
* Q, K, V: per head, max |x| / 127 of the inputs themselves (dynamic), or of a calibration set
  (`calibrate(samples)`: static, the same scales for every input).
* O: `output="static"` (default) takes the calibration set's output scale, or V's scale without
  one (never finer than the data allows, never from the answer); `output="fit"` is the
  regression's rule, fitted to the float64 answer of the same inputs (which a deployed system
  does not have).

Per-head scales mean one program per head: a program carries one score multiplier and one
output multiplier (VECTOR scalars), so heads with different scales cannot share it. Key
padding (`lengths=`: valid tokens per batch element) likewise gives each distinct length its
own program, whose keys end there; with `self_attention=True` (q, k, v of one sequence) the
query rows beyond the length are padding too and their outputs are 0. Programs are built once
per (workload, configuration, strategy) and reused; the tiling is searched once per shape.

Bad input raises `AttentionInputError` with one line naming the argument: shapes that do not
agree, dtypes other than float or int8, NaN or infinity, scales that are not positive or
whose score multiplier cannot be represented, lengths out of range, an unknown strategy,
configuration or backend.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hwdef import ConfigError, load_config
from npu_model.attention import (
    attention_float,
    attention_int_heads,
    fit_output_scale,
    int8_scale,
    quantize_at,
)
from runner.job import Job, Outcome
from runner.npz_file import NpzError, read_npz
from scheduler import STRATEGIES, Schedule, ScheduleError, Workload, build_schedule

BACKENDS = ("model", "rtl")
OUTPUT_RULES = ("static", "fit")


class AttentionInputError(ValueError):
    """The tensors or options cannot run; the message names the argument."""


class AttentionRunError(RuntimeError):
    """A program stopped with an error (a defect of the NPU or its toolchain, not of the
    input); the message names the head and the error."""


@dataclass(frozen=True)
class HeadScales:
    """Real value = scale x integer: one per head (shape [heads]) or one for all heads. The
    scales `attention` returns (AttentionResult.scales) are float64 arrays [heads]."""

    s_q: Any
    s_k: Any
    s_v: Any
    s_o: Any = None     # None: from the rule of `attention(output=...)`


@dataclass
class AttentionResult:
    output: np.ndarray                # float64 [batch, heads, seq_q, d]
    output_int8: np.ndarray           # int8, as the NPU wrote it
    scales: HeadScales                # the scales used (s_o filled in)
    bit_exact: bool                   # every program's output equals the integer contract
    programs: list[Schedule] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def cycles(self) -> int | None:
        """The RTL's cycles over every program (None on the model backend)."""
        if not self.outcomes or any(o.cycles is None for o in self.outcomes):
            return None
        return sum(o.cycles or 0 for o in self.outcomes)

    @property
    def counters(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for o in self.outcomes:
            for name, value in o.counters.items():
                total[name] = total.get(name, 0) + int(value)
        return total

    @property
    def trace_paths(self) -> list[str]:
        return [o.trace_path for o in self.outcomes if o.trace_path]


def _check_tensors(q, k, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, x in (("q", q), ("k", k), ("v", v)):
        x = np.asarray(x)
        if x.ndim != 4 or 0 in x.shape:
            raise AttentionInputError(f"{name}: shape {list(x.shape)}; expected [batch, heads, "
                                      "seq, d], each at least 1")
        if x.dtype != np.int8 and not np.issubdtype(x.dtype, np.floating):
            raise AttentionInputError(f"{name}: dtype {x.dtype}; expected float or int8")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise AttentionInputError(f"{name}: {int((~np.isfinite(x)).sum())} values are NaN "
                                      "or infinite")
        arrays.append(x)
    q, k, v = arrays
    if len({q.dtype == np.int8, k.dtype == np.int8, v.dtype == np.int8}) != 1:
        raise AttentionInputError(f"q, k, v: dtypes {q.dtype}, {k.dtype}, {v.dtype}; give all "
                                  "float or all int8")
    b, h, _, d = q.shape
    if k.shape[:2] != (b, h) or v.shape[:2] != (b, h) or k.shape[3] != d or v.shape[3] != d \
            or k.shape[2] != v.shape[2]:
        raise AttentionInputError(f"q {list(q.shape)}, k {list(k.shape)}, v {list(v.shape)}: "
                                  "batch, heads and d must agree, and k and v have one length")
    return q, k, v


def _head_scale(x: np.ndarray) -> np.ndarray:
    """max |x| / 127 per head (axis 1) over everything else; 1/127 for an all-zero head."""
    return int8_scale(np.abs(np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)).max(axis=1))


def calibrate(samples, causal: bool = False) -> HeadScales:
    """Static scales from a calibration set: *samples* an iterable of float (q, k, v)
    [batch, heads, seq, d] without padding (any batch and sequence length; the heads and d of
    the model). Q, K, V: per head, max |x| / 127 over every sample; O: per head, the output
    scale fitted (fit_output_scale) to the float64 outputs of the whole set at those V
    scales."""
    peaks: dict[str, np.ndarray] = {}
    outputs = []
    shape = None
    for n, sample in enumerate(samples):
        try:
            q, k, v = sample
        except (TypeError, ValueError):
            raise AttentionInputError(f"calibrate: sample {n} is not (q, k, v)") from None
        q, k, v = _check_tensors(q, k, v)
        if q.dtype == np.int8:
            raise AttentionInputError(f"calibrate: sample {n} is int8; calibration measures "
                                      "float tensors")
        if shape is not None and (q.shape[1], q.shape[3]) != shape:
            raise AttentionInputError(f"calibrate: sample {n} has {q.shape[1]} heads of d = "
                                      f"{q.shape[3]}, the first had {shape[0]} of d = {shape[1]}")
        shape = (q.shape[1], q.shape[3])
        for name, x in (("q", q), ("k", k), ("v", v)):
            peaks[name] = np.maximum(peaks.get(name, 0.0), _head_scale(x))
        outputs.append(_float_attention(q, k, v, None, causal, False))
    if not outputs:
        raise AttentionInputError("calibrate: no samples")
    s_v = peaks["v"]
    s_o = np.array([fit_output_scale(np.concatenate([o[:, h].reshape(-1) for o in outputs]),
                                     float(s_v[h])) for h in range(len(s_v))])
    return HeadScales(peaks["q"], peaks["k"], s_v, s_o)


def _float_attention(q, k, v, lengths, causal, self_attention) -> np.ndarray:
    """float64 attention of float inputs [b, h, s, d] (the reference of calibration)."""
    b, h, sq, _ = q.shape
    out = np.zeros(q.shape, dtype=np.float64)
    for i in range(b):
        n_kv, n_q = _valid(lengths, i, k.shape[2], sq, self_attention)
        for j in range(h):
            out[i, j, :n_q] = attention_float(q[i, j, :n_q], k[i, j, :n_kv], v[i, j, :n_kv],
                                              1.0, 1.0, 1.0, causal)
    return out


def _valid(lengths, i: int, seq_kv: int, seq_q: int, self_attention: bool) -> tuple[int, int]:
    """(keys, query rows) of batch element *i*."""
    if lengths is None:
        return seq_kv, seq_q
    n = int(lengths[i])
    return n, (n if self_attention else seq_q)


def _check_lengths(lengths, batch: int, seq_kv: int, seq_q: int, causal: bool,
                   self_attention: bool):
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.shape != (batch,) or not np.issubdtype(arr.dtype, np.integer):
        raise AttentionInputError(f"lengths: {arr.dtype} {list(arr.shape)}; expected {batch} "
                                  "integers, one per batch element")
    if arr.min() < 1 or arr.max() > seq_kv:
        raise AttentionInputError(f"lengths: {arr.tolist()}; each must be 1..{seq_kv} (the "
                                  "keys' length)")
    if causal and not self_attention:
        raise AttentionInputError("lengths with causal: only for self-attention "
                                  "(self_attention=True)")
    return arr


def _quantize(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return quantize_at(x, scale[None, :, None, None])


@functools.lru_cache(maxsize=256)
def _tiling(wl: Workload, config: str, strategy: str):
    """The searched tiling of *wl*'s shape (the search ranks cycles, which do not depend on the
    scales: one search serves every head of a shape)."""
    return build_schedule(wl, load_config(config), strategy).tiling


@functools.lru_cache(maxsize=256)
def schedule_for(wl: Workload, config: str, strategy: str) -> Schedule:
    """The program of *wl* (cached; the tiling searched once per shape)."""
    shape = replace(wl, s_q=1 / 32, s_k=1 / 32, s_v=1 / 32, s_o=None)
    return build_schedule(wl, load_config(config), strategy,
                          _tiling(shape, config, strategy))


def attention(q, k, v, *, strategy: str = "mas", config: str = "default",
              backend: str = "model", causal: bool = False, lengths=None,
              self_attention: bool = False, scales: HeadScales | None = None,
              output: str = "static", trace: bool = False) -> AttentionResult:
    """softmax(Q·Kᵀ/sqrt(d))·V of [batch, heads, seq, d] arrays on the NPU's programs (module
    docstring: scales, padding, programs). Raises AttentionInputError."""
    if strategy not in STRATEGIES:
        raise AttentionInputError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if backend not in BACKENDS:
        raise AttentionInputError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if output not in OUTPUT_RULES:
        raise AttentionInputError(f"output {output!r}: choose one of {', '.join(OUTPUT_RULES)}")
    try:
        load_config(config)
    except ConfigError as exc:
        raise AttentionInputError(f"config: {exc}") from None
    q, k, v = _check_tensors(q, k, v)
    batch, heads, seq_q, d = q.shape
    seq_kv = k.shape[2]
    if self_attention and seq_q != seq_kv:
        raise AttentionInputError(f"self_attention: q has {seq_q} rows, k and v {seq_kv}; "
                                  "self-attention has one sequence")
    lengths = _check_lengths(lengths, batch, seq_kv, seq_q, causal, self_attention)
    is_int = q.dtype == np.int8
    if is_int and scales is None:
        raise AttentionInputError("int8 q, k, v need scales= (HeadScales): the NPU needs the "
                                  "real scale of each")
    if scales is None:
        scales = HeadScales(_head_scale(q), _head_scale(k), _head_scale(v))
    scales = _check_scales(scales, heads)
    qi, ki, vi = (q, k, v) if is_int else (_quantize(q, scales.s_q), _quantize(k, scales.s_k),
                                            _quantize(v, scales.s_v))
    s_o = scales.s_o
    if s_o is None:
        if output == "fit":
            qf, kf, vf = (x.astype(np.float64) * s[None, :, None, None]
                          for x, s in ((qi, scales.s_q), (ki, scales.s_k), (vi, scales.s_v)))
            ref = _float_attention(qf, kf, vf, lengths, causal, self_attention)
            s_o = np.array([fit_output_scale(ref[:, h], float(scales.s_v[h]))
                            for h in range(heads)])
        else:
            s_o = scales.s_v.copy()
    s_o = np.asarray(s_o, dtype=np.float64)
    scales = HeadScales(scales.s_q, scales.s_k, scales.s_v, s_o)
    out = np.zeros((batch, heads, seq_q, d), dtype=np.int8)
    result = AttentionResult(out.astype(np.float64), out, scales, True)
    # One program per head (its scales) and distinct valid length; the batch elements that
    # share both run as the program's batch.
    for h in range(heads):
        groups: dict[tuple[int, int], list[int]] = {}
        for i in range(batch):
            groups.setdefault(_valid(lengths, i, seq_kv, seq_q, self_attention), []).append(i)
        for (n_kv, n_q), members in groups.items():
            _run_group(result, qi, ki, vi, h, members, n_q, n_kv, causal, strategy, config,
                       backend, trace)
    result.output = result.output_int8.astype(np.float64) * s_o[None, :, None, None]
    return result


def _check_scales(scales: HeadScales, heads: int) -> HeadScales:
    """Every scale as one float64 per head, positive and finite."""
    def per_head(name: str) -> np.ndarray:
        raw = getattr(scales, name)
        if np.iscomplexobj(raw):
            raise AttentionInputError(f"scales.{name}: complex; scales are real")
        try:
            s = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise AttentionInputError(f"scales.{name}: {str(raw)[:40]!r} is not a number or "
                                      "an array of numbers") from None
        if s.ndim == 0:
            s = np.full(heads, float(s))
        if s.shape != (heads,):
            raise AttentionInputError(f"scales.{name}: one scale or one per head ({heads})")
        if not (np.isfinite(s).all() and (s > 0).all()):
            raise AttentionInputError(f"scales.{name}: {s.tolist()}; scales must be positive "
                                      "and finite")
        return s

    return HeadScales(per_head("s_q"), per_head("s_k"), per_head("s_v"),
                      None if scales.s_o is None else per_head("s_o"))


def _run_group(result: AttentionResult, qi, ki, vi, h: int, members: list[int], n_q: int,
               n_kv: int, causal: bool, strategy: str, config: str, backend: str,
               trace: bool) -> None:
    from runner import run
    s = result.scales
    assert s.s_o is not None
    d = qi.shape[3]
    wl = Workload(n_q, n_kv, d, heads=1, batch=len(members), causal=causal,
                  s_q=float(s.s_q[h]), s_k=float(s.s_k[h]), s_v=float(s.s_v[h]),
                  s_o=float(s.s_o[h]) if s.s_o[h] != s.s_v[h] else None)
    try:
        sched = schedule_for(wl, config, strategy)
    except ScheduleError as exc:
        raise AttentionInputError(f"head {h}: {exc}") from None
    q, k, v = (np.ascontiguousarray(x[members, h, :n]) for x, n in
               ((qi, n_q), (ki, n_kv), (vi, n_kv)))
    job = Job.for_schedule(sched, q, k, v, trace=trace)
    outcome = run(job, backend=backend, tag=f"api-{strategy}-h{h}")
    if not outcome.ok:
        raise AttentionRunError(f"head {h}: the NPU stopped with {outcome.error} at "
                                f"0x{outcome.error_pc:x} ({backend})")
    got = sched.read_output(outcome.outputs["O"])
    want = attention_int_heads(q, k, v, wl.score, wl.causal, wl.output)
    result.bit_exact &= bool(np.array_equal(got, want))
    result.output_int8[members, h, :n_q] = got
    result.programs.append(sched)
    result.outcomes.append(outcome)



def _read_npz(path: str, what: str) -> dict[str, np.ndarray]:
    try:
        return read_npz(path, what)
    except NpzError as exc:
        raise AttentionInputError(str(exc)) from None


def _qkv_of(arrays: dict[str, np.ndarray], path: str) -> tuple:
    missing = [n for n in "qkv" if n not in arrays]
    if missing:
        raise AttentionInputError(f"{path!r}: no array {missing[0]!r} (it has "
                                  f"{', '.join(sorted(arrays)) or 'none'})")
    return arrays["q"], arrays["k"], arrays["v"]


def main(argv: list[str] | None = None) -> int:
    """python -m runner.api --inputs qkv.npz [options]: the API on arrays q, k, v of a .npz
    ([batch, heads, seq, d], float or int8 with --scales); prints the scales, the cycles (RTL)
    and the cosine to float64, and --save writes O (float and int8)."""
    import sys

    from firmware_gen.__main__ import OneLineParser, UsageError, one_line
    ap = OneLineParser(prog="python -m runner.api",
                       description="attention on your own tensors (runner/api.py)")
    ap.add_argument("--inputs", required=True, help=".npz with arrays q, k, v")
    ap.add_argument("--strategy", default="mas")
    ap.add_argument("--config", default="default")
    ap.add_argument("--backend", default="model")
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--self-attention", action="store_true",
                    help="q, k, v are one sequence: with --lengths, padded query rows too")
    ap.add_argument("--lengths", help="valid tokens per batch element, comma-separated")
    ap.add_argument("--calibration", nargs="+", metavar="NPZ",
                    help="calibration set: .npz files of float q, k, v (static scales)")
    ap.add_argument("--scales", help="int8 inputs: .npz with s_q, s_k, s_v (and s_o), one per "
                                     "head or one")
    ap.add_argument("--output", default="static", help="O's scale rule: static or fit")
    ap.add_argument("--save", help="write o (float), o_int8 and the scales to this .npz")
    try:
        args = ap.parse_args(argv)
        q, k, v = _qkv_of(_read_npz(args.inputs, "inputs"), args.inputs)
        lengths = None
        if args.lengths:
            try:
                lengths = [int(n) for n in args.lengths.split(",")]
            except ValueError:
                raise AttentionInputError(f"--lengths {args.lengths!r}: comma-separated "
                                          "integers") from None
        scales = None
        if args.calibration:
            scales = calibrate([_qkv_of(_read_npz(p, "calibration"), p)
                                for p in args.calibration], args.causal)
        if args.scales:
            raw = _read_npz(args.scales, "scales")
            if not {"s_q", "s_k", "s_v"} <= set(raw):
                raise AttentionInputError(f"scales {args.scales!r}: needs s_q, s_k and s_v")
            scales = HeadScales(raw["s_q"], raw["s_k"], raw["s_v"], raw.get("s_o"))
        result = attention(q, k, v, strategy=args.strategy, config=args.config,
                           backend=args.backend, causal=args.causal, lengths=lengths,
                           self_attention=args.self_attention, scales=scales,
                           output=args.output)
    except (AttentionInputError, AttentionRunError, UsageError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    s = result.scales
    print(f"{args.strategy} on '{args.config}' ({args.backend}): {len(result.programs)} "
          f"program(s), {'bit-exact' if result.bit_exact else 'NOT bit-exact'} against the "
          "integer contract"
          + (f", {result.cycles:,} RTL cycles" if result.cycles is not None else ""))
    print(f"scales per head: s_q {np.round(s.s_q, 6).tolist()}, s_k "
          f"{np.round(s.s_k, 6).tolist()}, s_v {np.round(s.s_v, 6).tolist()}, s_o "
          f"{np.round(s.s_o, 6).tolist() if s.s_o is not None else None}")
    if q.dtype != np.int8:
        ref = _float_attention(q.astype(np.float64), k.astype(np.float64),
                               v.astype(np.float64), lengths, args.causal, args.self_attention)
        denom = float(np.linalg.norm(result.output) * np.linalg.norm(ref))
        print(f"cosine to float64: {float((result.output * ref).sum()) / denom:.6f}"
              if denom else "cosine to float64: undefined (an all-zero output)")
    if args.save:
        try:
            np.savez(args.save, o=result.output, o_int8=result.output_int8, s_q=s.s_q,
                     s_k=s.s_k, s_v=s.s_v, s_o=s.s_o if s.s_o is not None else s.s_v)
        except OSError as exc:
            print(f"error: --save {one_line(args.save)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0 if result.bit_exact else 1


if __name__ == "__main__":
    raise SystemExit(main())

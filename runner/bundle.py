"""Run a program bundle exactly as written (scheduler/bundle.py), on the RTL or the model.

    make sim BUNDLE=build/attn [INPUTS=qkv.npz] [BACKEND=model] [SEED=1] [DRAM=unlimited]
    python -m runner.bundle build/attn [--inputs qkv.npz] [--backend rtl|model] [--seed N]
                            [--dram config|unlimited] [--config NAME] [--save out.npz]

The bundle's image is loaded as it is: no tiling search, no new program. Inputs are int8 Q, K,
V from a .npz file (arrays q, k, v of shape [batch*heads, rows, d] or [batch, heads, rows, d],
at the bundle's quantization scales), or, without --inputs, Gaussian values (standard normal in
real units) quantized at the bundle's scales from the seed. The output is compared bit for bit
with the integer contract (npu_model.attention.attention_int, computed from the inputs alone)
and with float64 (cosine); on the RTL every DRAM write is also scored against the
instruction-level model. --save writes O (int8), the inputs, the cycles and the counters.

Every refusal (a bundle that fails its checks, another configuration, inputs of the wrong
shape or dtype, a missing file) is one `error: ...` line and exit status 1 before any build;
a run that is not bit-exact exits 1 after printing where it differs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_gen.__main__ import OneLineParser, UsageError, ascii_int, one_line
from hwdef import DRAM_MODES
from npu_model.attention import quantize_at
from runner.attention import AttentionCheck, check_attention
from runner.job import Job, Outcome
from runner.npz_file import NpzError, read_npz
from scheduler.bundle import INPUT_TENSORS, Bundle, BundleError, load_bundle

BACKENDS = ("rtl", "model")


class InputsError(ValueError):
    """The inputs do not fit the bundle; the message names the file and the array."""


def random_inputs(bundle: Bundle, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard normal Q, K, V in real units, quantized at the bundle's scales (int8
    [batch*heads, rows, d])."""
    wl, rng = bundle.workload, np.random.default_rng(seed)
    out = []
    for rows, scale in ((wl.seq_q, wl.s_q), (wl.seq_kv, wl.s_k), (wl.seq_kv, wl.s_v)):
        out.append(quantize_at(rng.standard_normal((wl.heads_total, rows, wl.head_dim)), scale))
    return out[0], out[1], out[2]


def read_inputs(path: str | Path, bundle: Bundle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q, k, v of a .npz file, checked against the bundle's workload."""
    name = repr(str(path))
    wl = bundle.workload
    try:
        arrays = read_npz(path, "inputs")
    except NpzError as exc:
        raise InputsError(str(exc)) from None
    out = []
    for key, rows in zip(INPUT_TENSORS, (wl.seq_q, wl.seq_kv, wl.seq_kv)):
        if key not in arrays:
            raise InputsError(f"inputs {name}: no array {key!r} (it has "
                              f"{', '.join(sorted(arrays)) or 'none'})")
        x = arrays[key]
        flat = (wl.heads_total, rows, wl.head_dim)
        if x.dtype != np.int8:
            raise InputsError(f"inputs {name}: {key} is {x.dtype}; the bundle takes int8 at its "
                              f"scale {getattr(wl, 's_' + key)} (real value = scale x integer)")
        if x.shape == (wl.batch, wl.heads, rows, wl.head_dim):
            x = x.reshape(flat)
        if x.shape != flat:
            raise InputsError(f"inputs {name}: {key} has shape {list(x.shape)}; the bundle's "
                              f"workload needs {list(flat)} or "
                              f"{[wl.batch, wl.heads, rows, wl.head_dim]}")
        out.append(x)
    return out[0], out[1], out[2]


@dataclass
class BundleRun:
    bundle: Bundle
    outcome: Outcome
    check: AttentionCheck | None     # None when the run stopped with an error
    inputs: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def ok(self) -> bool:
        return self.outcome.ok and self.check is not None and self.check.bit_exact


def run_bundle(bundle: Bundle, q: np.ndarray, k: np.ndarray, v: np.ndarray,
               backend: str = "rtl", dram: str | None = None, tag: str = "") -> BundleRun:
    """Run *bundle*'s image on Q, K, V with *backend*; *dram*: the DRAM model (default: the
    one the bundle's prediction is for)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    from runner import run
    job = Job.for_schedule(bundle, q, k, v, dram=dram or bundle.dram)
    outcome = run(job, backend=backend, tag=tag)
    check = check_attention(bundle, outcome.outputs["O"], q, k, v) if outcome.ok else None
    return BundleRun(bundle, outcome, check, (q, k, v))


def report(result: BundleRun, backend: str) -> list[str]:
    b, o, c = result.bundle, result.outcome, result.check
    lines = [f"bundle {b.directory}: {b.describe()}"]
    if not o.ok:
        lines.append(f"{backend}: stopped with {o.error} at 0x{o.error_pc:x} (info "
                     f"0x{o.error_info:x}){': ' + o.message if o.message else ''}")
        return lines
    cycles = (f"{o.cycles:,} cycles (predicted {b.predicted_cycles:,}, "
              f"{100.0 * (b.predicted_cycles - o.cycles) / o.cycles:+.1f}%), "
              if o.cycles else "")
    assert c is not None
    verdict = ("bit-exact against the integer contract" if c.bit_exact else
               f"{c.mismatches} of {c.output.size} output bytes DIFFER from the integer "
               f"contract, first at {c.first_mismatch}")
    lines.append(f"{backend}: {cycles}{verdict} ({c.output.size} outputs"
                 f"{', every DRAM write scored against the model' if backend == 'rtl' else ''});"
                 f" cosine vs float64 {c.cosine:.6f}, max error {c.max_abs_lsb:.2f} LSB")
    return lines


def save(result: BundleRun, path: str | Path) -> None:
    o = result.outcome
    q, k, v = result.inputs
    np.savez(path, o=result.check.output if result.check is not None else np.zeros(0, np.int8),
             q=q, k=k, v=v, cycles=np.int64(o.cycles or 0),
             counters=np.array(json.dumps(o.counters)))


def main(argv: list[str] | None = None) -> int:
    ap = OneLineParser(prog="python -m runner.bundle", description=__doc__.split("\n")[0])
    ap.add_argument("bundle", help="directory written by python -m firmware_gen attention --out")
    ap.add_argument("--inputs", help=".npz with int8 arrays q, k, v (default: random, --seed)")
    ap.add_argument("--backend", default="rtl", choices=BACKENDS)
    ap.add_argument("--seed", type=ascii_int, default=1, help="random inputs' seed (default 1)")
    ap.add_argument("--dram", choices=DRAM_MODES,
                    help="DRAM model (default: the bundle's, the configuration's own)")
    ap.add_argument("--config", help="refuse a bundle built for another configuration")
    ap.add_argument("--save", help="write O, the inputs, cycles and counters to this .npz")
    try:
        args = ap.parse_args(argv)
        if args.seed < 0:
            raise UsageError(f"--seed {args.seed}: must be >= 0")
        bundle = load_bundle(args.bundle, args.config)
        q, k, v = (read_inputs(args.inputs, bundle) if args.inputs
                   else random_inputs(bundle, args.seed))
    except (BundleError, InputsError, UsageError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    result = run_bundle(bundle, q, k, v, args.backend, args.dram)
    print("\n".join(report(result, args.backend)))
    if args.save:
        try:
            save(result, args.save)
        except OSError as exc:
            print(f"error: --save {one_line(args.save)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

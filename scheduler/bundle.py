"""A program bundle: one attention program on disk, self-described and run exactly as written.

`python -m firmware_gen attention ... --out DIR` writes one; `make sim BUNDLE=DIR` and
`python -m runner.bundle DIR` run it (runner/bundle.py), with no scheduling in between:

    DIR/memory_map.json   the manifest: bundle_format, the configuration's name and the hash of
                          its hardware definition (hwdef.fingerprint), the workload, strategy
                          and tiling, every DRAM tensor's address, shape, dtype, row stride and
                          (Q, K, V, O) quantization scale, where the program is loaded, strict
                          mode, the predicted cycles, and the program file's SHA-256
    DIR/program.bin       the program image (256-bit words, HALT last)

(firmware_gen also writes program.s, listing.txt and schedule.json for people to read; a
bundle does not need them.) `load_bundle` checks everything before a run, each failure one
line that names the bundle and what is wrong: a missing or malformed file, another bundle
format, an unknown configuration, a hardware definition that changed since the bundle was
built (the words may decode differently or the buffers not fit: rebuild it with the command
line it records), a program that is not the one the manifest hashed, tensors that do not
match the workload or overlap. A `Bundle` offers what a `Schedule` offers a run (image,
output region, strict mode, time limit), so `runner.Job.for_schedule` and
`runner.attention.check_attention` take either.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np

from hwdef import DRAM_MODES, ConfigError, HwConfig, isa, load_config
from hwdef.fingerprint import fingerprint
from scheduler.layout import Tensor
from scheduler.schedule import (
    BUNDLE_FORMAT,
    Schedule,
    attention_image,
    read_attention_output,
    run_timeout,
)
from scheduler.strategies import STRATEGIES
from scheduler.tiling import Tiling
from scheduler.workload import ScheduleError, Workload

MANIFEST = "memory_map.json"
PROGRAM = "program.bin"
DIGEST = "manifest_sha256"      # the manifest's own hash (manifest_digest)
INPUT_TENSORS = ("q", "k", "v")


class BundleError(ValueError):
    """A bundle cannot be run as it is; the message names the bundle and what is wrong."""


def bundle_files(sched: Schedule, command: str = "") -> dict[str, bytes | str]:
    """The two files of *sched*'s bundle (name -> contents); *command*: the command line that
    rebuilds it, recorded in the manifest."""
    image = isa.to_bytes(sched.words)
    manifest = sched.memory_map()
    manifest["program"] = {"file": PROGRAM, "bytes": len(image),
                           "sha256": hashlib.sha256(image).hexdigest()}
    if command:
        manifest["command"] = command
    manifest[DIGEST] = manifest_digest(manifest)
    return {PROGRAM: image, MANIFEST: json.dumps(manifest, indent=2) + "\n"}


def manifest_digest(manifest: dict) -> str:
    """SHA-256 of the manifest's canonical JSON without its own digest: any edit of a field
    (a scale, a tensor's address, the workload) after the bundle was built changes it."""
    body = {k: v for k, v in manifest.items() if k != DIGEST}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Bundle:
    directory: Path
    workload: Workload
    cfg: HwConfig
    strategy: str
    tiling: Tiling
    words: list[int]
    prog_base: int
    dram_bytes: int
    strict: bool
    tensors: dict[str, Tensor]
    predicted_cycles: int
    dram: str               # the DRAM model the prediction is for (hwdef.DRAM_MODES)
    command: str            # the command line that built it ("" if not recorded)

    @property
    def timeout_cycles(self) -> int:
        return run_timeout(self.predicted_cycles)

    def image(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The DRAM contents (from address 0) for int8 inputs [batch*heads, rows, d]."""
        return attention_image(self.workload, self.tensors, self.words, self.prog_base,
                               self.dram_bytes, q, k, v)

    def output_region(self) -> tuple[int, int]:
        o = self.tensors["o"]
        return o.addr, o.nbytes

    def read_output(self, o_bytes: np.ndarray) -> np.ndarray:
        return read_attention_output(self.workload, o_bytes)

    def describe(self) -> str:
        return (f"{self.strategy} on '{self.cfg.name}': {self.workload.describe()}, tiling "
                f"{self.tiling.describe()}, {len(self.words)} instructions, predicted "
                f"{self.predicted_cycles} cycles")


def load_bundle(directory: str | Path, config: str | None = None) -> Bundle:
    """Read and check the bundle in *directory*; *config*: the configuration the caller will
    run it on (refused if the bundle was built for another). Raises BundleError."""
    where = Path(directory)
    name = repr(str(where))     # whole (isa.quote shortens), control characters escaped

    def fail(message: str) -> BundleError:
        return BundleError(f"bundle {name}: {message}")

    if not where.is_dir():
        raise fail("no such directory" if not where.exists() else "not a directory")
    manifest = _read_manifest(where, fail)
    fields = _Fields(manifest, fail)
    fmt = fields.get("bundle_format", str)
    if fmt != BUNDLE_FORMAT:
        raise fail(f"bundle_format {isa.quote(fmt)}, this checkout reads {BUNDLE_FORMAT!r}")
    if DIGEST not in manifest:
        raise fail(f"{MANIFEST} has no {DIGEST!r}: not written by this checkout's firmware_gen "
                   "attention (or before bundles carried one); rebuild the bundle"
                   + (f": {manifest['command'][:300]}"
                      if isinstance(manifest.get("command"), str) else ""))
    if fields.get(DIGEST, str) != manifest_digest(manifest):
        raise fail(f"{MANIFEST} was changed after the bundle was built (its {DIGEST} "
                   "differs): rebuild the bundle rather than edit it")
    cfg_name = fields.get("config", str)
    try:
        cfg = load_config(cfg_name)
    except ConfigError as exc:
        raise fail(f"built for configuration {isa.quote(cfg_name)}: {exc}") from None
    if config is not None and config != cfg_name:
        raise fail(f"built for configuration {isa.quote(cfg_name)}, not {isa.quote(config)}; "
                   f"run it with CONFIG={cfg_name} (or rebuild it for {config})")
    built_for, current = fields.get("hwdef", str), fingerprint(cfg)
    rebuild = fields.optional("command", str)
    if built_for != current:
        raise fail(f"built for another hardware definition of {isa.quote(cfg_name)} (hwdef "
                   f"{built_for}, this checkout {current}): ISA, numerics or sizes changed; "
                   + (f"rebuild it: {rebuild}" if rebuild else "rebuild it with "
                      "python -m firmware_gen attention"))
    strategy = fields.get("strategy", str)
    if strategy not in STRATEGIES:
        raise fail(f"unknown strategy {isa.quote(strategy)}")
    try:
        wl = Workload(**_typed_fields(fields.get("workload", dict), Workload, fail))
        wl.validate(cfg)
        tiling = Tiling(**_typed_fields(fields.get("tiling", dict), Tiling, fail))
    except (TypeError, ScheduleError) as exc:
        raise fail(f"workload or tiling: {exc}") from None
    prog_base, dram_bytes = fields.get("prog_base", int), fields.get("dram_bytes", int)
    if dram_bytes > cfg.dram_bytes:
        raise fail(f"needs {dram_bytes} bytes of DRAM, configuration {isa.quote(cfg_name)}'s "
                   f"DRAM model has {cfg.dram_bytes}")
    dram = fields.get("dram", str)
    if dram not in DRAM_MODES:
        raise fail(f"dram {isa.quote(dram)}: one of {', '.join(DRAM_MODES)}")
    words = _read_program(where, fields, prog_base, dram_bytes, fail)
    tensors = _tensors(fields.get("tensors", dict), wl, prog_base, dram_bytes, fail)
    return Bundle(where, wl, cfg, strategy, tiling, words, prog_base, dram_bytes,
                  fields.get("strict", bool), tensors, fields.get("predicted_cycles", int),
                  dram, rebuild or "")


def _typed_fields(raw: dict, cls: type, fail) -> dict:
    """*raw*'s values checked against the dataclass *cls*'s field types (int, bool, float or
    None), so that "20", 2.0 or "yes" never reach the scheduler."""
    out = {}
    for f in dataclass_fields(cls):
        if f.name not in raw:
            continue
        value, kind = raw[f.name], str(f.type)
        ok = (isinstance(value, bool) if kind == "bool" else
              isinstance(value, int) and not isinstance(value, bool) if kind == "int" else
              (value is None and "None" in kind) or (
                  isinstance(value, int | float) and not isinstance(value, bool)
                  and math.isfinite(value)) if "float" in kind else True)
        if not ok:
            raise fail(f"{cls.__name__.lower()} field {f.name!r} = {json.dumps(value)[:40]} is "
                       f"not of type {kind}")
        out[f.name] = value
    unknown = sorted(set(raw) - {f.name for f in dataclass_fields(cls)})
    if unknown:
        raise fail(f"{cls.__name__.lower()} has unknown fields {unknown}")
    return out


def _read_manifest(where: Path, fail) -> dict:
    path = where / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(f"no {MANIFEST} (python -m firmware_gen attention --out DIR writes one)"
                   ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{MANIFEST}: {exc}") from None
    except (ValueError, RecursionError) as exc:      # JSONDecodeError, huge numbers, depth
        raise fail(f"{MANIFEST} is not JSON this reader takes: {str(exc)[:80]}") from None
    if not isinstance(manifest, dict):
        raise fail(f"{MANIFEST} is not a JSON object")
    return manifest


class _Fields:
    """Typed access to the manifest's keys, each failure naming the key."""

    def __init__(self, manifest: dict, fail):
        self.manifest, self.fail = manifest, fail

    def get(self, key: str, kind: type):
        if key not in self.manifest:
            raise self.fail(f"{MANIFEST} has no {key!r}")
        return self._typed(key, self.manifest[key], kind)

    def optional(self, key: str, kind: type):
        return self._typed(key, self.manifest[key], kind) if key in self.manifest else None

    def _typed(self, key: str, value, kind: type):
        wrong = (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind)
        if wrong or (kind is int and value < 0):
            raise self.fail(f"{MANIFEST}: {key!r} = {json.dumps(value)[:40]} is not a "
                            f"{'non-negative integer' if kind is int else kind.__name__}")
        return value


def _read_program(where: Path, fields: _Fields, prog_base: int, dram_bytes: int,
                  fail) -> list[int]:
    program = _Fields(fields.get("program", dict), fail)
    path = where / Path(program.get("file", str)).name
    try:
        image = path.read_bytes()
    except OSError as exc:
        raise fail(f"program {path.name}: {exc.strerror or exc}") from None
    if hashlib.sha256(image).hexdigest() != program.get("sha256", str):
        raise fail(f"{path.name} is not the program {MANIFEST} was written with (SHA-256 "
                   "differs): the bundle was changed after it was built")
    try:
        words = isa.from_bytes(image)
        last = [isa.decode(word)[0] for word in words][-1:]
    except isa.IsaError as exc:
        raise fail(f"{path.name}: {exc}") from None
    if last != ["HALT"]:
        raise fail(f"{path.name}: {'empty' if not last else 'the last instruction is ' + last[0]}"
                   "; a program ends with HALT")
    if prog_base % isa.INSN_BYTES or prog_base + len(image) > dram_bytes:
        raise fail(f"program at 0x{prog_base:x} ({len(image)} bytes) is not aligned to "
                   f"{isa.INSN_BYTES} bytes inside the bundle's {dram_bytes} bytes of DRAM")
    return words


def _tensors(raw: dict, wl: Workload, prog_base: int, dram_bytes: int,
             fail) -> dict[str, Tensor]:
    """The DRAM tensors, checked against the workload and against each other."""
    rows = {"q": wl.seq_q, "k": wl.seq_kv, "v": wl.seq_kv, "o": wl.seq_q}
    tensors: dict[str, Tensor] = {}
    for tname, entry in raw.items():
        if tname == "program":
            continue
        t = _Fields(entry if isinstance(entry, dict) else {}, fail)
        shape = t.get("shape", list)
        if len(shape) != 3 or not all(isinstance(n, int) and n > 0 for n in shape):
            raise fail(f"tensor {tname!r}: shape {shape} is not three positive integers")
        tensors[tname] = Tensor(t.get("addr", int), tuple(shape), t.get("dtype", str),
                                t.get("row_stride", int))
    for tname, want_rows in rows.items():
        if tname not in tensors:
            raise fail(f"{MANIFEST} has no tensor {tname!r}")
        want = (wl.heads_total, want_rows, wl.head_dim)
        got = tensors[tname]
        if got.shape != want or got.dtype != "int8" or got.row_stride != wl.head_dim:
            raise fail(f"tensor {tname!r} is {got.dtype} {list(got.shape)} (row stride "
                       f"{got.row_stride}); the workload needs int8 {list(want)} (row stride "
                       f"{wl.head_dim})")
    spans = sorted([(t.addr, t.addr + t.nbytes, n) for n, t in tensors.items()]
                   + [(prog_base, dram_bytes, "program")])
    for (_, a1, an), (b0, _, bn) in zip(spans, spans[1:]):
        if b0 < a1:
            raise fail(f"tensors {an!r} and {bn!r} overlap in DRAM")
    if spans[-1][1] > dram_bytes:
        raise fail(f"tensor {spans[-1][2]!r} ends beyond the bundle's {dram_bytes} bytes")
    return tensors

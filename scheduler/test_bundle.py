"""Program bundles (scheduler/bundle.py): written by `firmware_gen attention`, read back as the
same program, and refused with one line naming what is wrong."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from firmware_gen.__main__ import main as firmware_gen
from hwdef import load_config
from hwdef.fingerprint import fingerprint
from scheduler import STRATEGIES, Workload, build_schedule
from scheduler.bundle import DIGEST, MANIFEST, PROGRAM, BundleError, load_bundle, manifest_digest

TINY = ["--seq-len", "20", "--seq-len-kv", "28", "--head-dim", "16", "--heads", "2",
        "--causal", "--config", "tiny"]


def _bundle(tmp_path: Path, strategy: str = "mas", *extra: str) -> Path:
    out = tmp_path / f"bundle-{strategy}"
    assert firmware_gen(["attention", *TINY, "--strategy", strategy, "--out", str(out),
                         *extra]) == 0
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_bundle_is_the_program_it_was_built_from(tmp_path, strategy):
    """Everything a run takes from a bundle equals the schedule's: words, load address, DRAM
    image for the same inputs, output region, strict mode, workload and tiling."""
    path = _bundle(tmp_path, strategy)
    bundle = load_bundle(path, "tiny")
    wl = Workload(20, 28, 16, heads=2, causal=True)
    sched = build_schedule(wl, load_config("tiny"), strategy)
    assert bundle.words == sched.words and bundle.prog_base == sched.prog_base
    assert (bundle.workload, bundle.tiling, bundle.strict) == (wl, sched.tiling, sched.strict)
    assert bundle.output_region() == sched.output_region()
    assert bundle.predicted_cycles == sched.prediction.cycles
    rng = np.random.default_rng(3)
    q, k, v = (rng.integers(-128, 128, (2, n, 16), dtype=np.int8) for n in (20, 28, 28))
    assert np.array_equal(bundle.image(q, k, v), sched.image(q, k, v))
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["hwdef"] == fingerprint(load_config("tiny"))
    assert manifest["tensors"]["o"]["scale"] == 1 / 32 and "firmware_gen" in manifest["command"]


def _edit(path: Path, change, rehash: bool = True) -> None:
    """Change the manifest; *rehash*: as a tool that rewrites the manifest's digest would
    (so the check behind the digest is reached)."""
    manifest = json.loads((path / MANIFEST).read_text())
    change(manifest)
    if rehash:
        manifest[DIGEST] = manifest_digest(manifest)
    (path / MANIFEST).write_text(json.dumps(manifest))


def _reprogram(path: Path, image: bytes) -> None:
    """Replace program.bin and rehash it in the manifest."""
    (path / PROGRAM).write_bytes(image)
    _edit(path, lambda m: m["program"].update(sha256=hashlib.sha256(image).hexdigest()))


def _set(key, value):
    return lambda m: m.__setitem__(key, value)


def _tensor(name, key, value):
    return lambda m: m["tensors"][name].__setitem__(key, value)


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / MANIFEST).unlink(), "no memory_map.json"),
    (lambda p: (p / MANIFEST).write_text("{not json"), "memory_map.json is not JSON"),
    (lambda p: (p / MANIFEST).write_text("[" * 100000), "is not JSON this reader takes"),
    (lambda p: (p / MANIFEST).write_text('{"a": ' + "9" * 5000 + "}"),
     "is not JSON this reader takes"),
    (lambda p: _edit(p, lambda m: m["workload"].update(s_q=0.5), rehash=False),
     "memory_map.json was changed after the bundle was built"),
    (lambda p: _edit(p, lambda m: m["workload"].update(heads=2.0)),
     "workload field 'heads' = 2.0 is not of type int"),
    (lambda p: _edit(p, lambda m: m["workload"].update(causal="yes")),
     "workload field 'causal' = \"yes\" is not of type bool"),
    (lambda p: _edit(p, lambda m: m["workload"].update(s_o="x")), "'s_o' = \"x\""),
    (lambda p: _edit(p, lambda m: m["tiling"].update(chunk_keys="4")),
     "tiling field 'chunk_keys'"),
    (lambda p: _edit(p, lambda m: m["tiling"].update(depth=3)), "unknown fields \\['depth'\\]"),
    (lambda p: _edit(p, _set("dram_bytes", 2 ** 44)), "bytes of DRAM, configuration 'tiny'"),
    (lambda p: _edit(p, _set("dram", "fast")), "dram 'fast': one of config, unlimited"),
    (lambda p: _reprogram(p, (p / PROGRAM).read_bytes()[:-32]), "the last instruction is"),
    (lambda p: _reprogram(p, b""), "program.bin: empty"),
    (lambda p: (p / MANIFEST).write_text("[1, 2]"), "is not a JSON object"),
    (lambda p: _edit(p, _set("bundle_format", "other/9")), "bundle_format 'other/9'"),
    (lambda p: _edit(p, _set("config", "huge")), "built for configuration 'huge'"),
    (lambda p: _edit(p, _set("hwdef", "0123456789abcdef")),
     "built for another hardware definition of 'tiny'.*rebuild it: python -m firmware_gen"),
    (lambda p: _edit(p, _set("prog_base", "0x4000")), "'prog_base' = \"0x4000\" is not a "
                                                      "non-negative integer"),
    (lambda p: _edit(p, lambda m: m.pop("strategy")), "has no 'strategy'"),
    (lambda p: _edit(p, lambda m: m.pop(DIGEST), rehash=False),
     "has no 'manifest_sha256'.*rebuild the bundle: python -m firmware_gen attention"),
    (lambda p: _edit(p, _set("strategy", "fast")), "unknown strategy 'fast'"),
    (lambda p: _edit(p, lambda m: m["workload"].__setitem__("head_dim", 8)),
     "workload or tiling: head_dim = 8"),
    (lambda p: (p / PROGRAM).unlink(), "program program.bin: No such file"),
    (lambda p: (p / PROGRAM).write_bytes((p / PROGRAM).read_bytes()[:-1] + b"\x01"),
     "program.bin is not the program memory_map.json was written with"),
    (lambda p: _edit(p, _tensor("q", "shape", [2, 21, 16])),
     r"tensor 'q' is int8 \[2, 21, 16\].*needs int8 \[2, 20, 16\]"),
    (lambda p: _edit(p, _tensor("v", "dtype", "uint8")), "tensor 'v' is uint8"),
    (lambda p: _edit(p, lambda m: m["tensors"].pop("o")), "has no tensor 'o'"),
    (lambda p: _edit(p, lambda m: m["tensors"]["k"].__setitem__(
        "addr", m["tensors"]["q"]["addr"])), "tensors '.' and '.' overlap"),
])
def test_a_damaged_bundle_is_refused_with_one_line(tmp_path, damage, message):
    path = _bundle(tmp_path)
    damage(path)
    with pytest.raises(BundleError, match=message) as info:
        load_bundle(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(f"bundle {str(path)!r}")


def test_a_bundle_runs_only_on_its_configuration(tmp_path):
    path = _bundle(tmp_path)
    with pytest.raises(BundleError, match="built for configuration 'tiny', not 'default'; "
                                          "run it with CONFIG=tiny"):
        load_bundle(path, "default")
    for missing, message in ((tmp_path / "none", "no such directory"),
                             (path / PROGRAM, "not a directory")):
        with pytest.raises(BundleError, match=message):
            load_bundle(missing)

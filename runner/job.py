"""What a run needs (`Job`) and what it gave (`Outcome`), saved to and read from a directory
so that a simulation process and its launcher exchange them as files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from hwdef import DRAM_MODES, isa, load_config


@dataclass
class Job:
    config: str
    image: np.ndarray = field(repr=False)     # DRAM bytes from address 0 (program included)
    prog_base: int = 0
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)   # name -> (addr, bytes)
    strict: bool = False                     # CTRL.STRICT: overwrite violations are errors
    dram_window: tuple[int, int] | None = None   # (base, size) the program may touch
    watchdog: int = 0
    timeout_cycles: int = 2_000_000
    check_with_model: bool = True            # RTL backend: score every output against the model
    dram: str = "config"                     # DRAM model (hwdef DRAM_MODES): the configuration's
    #                                          DRAM, or "unlimited" (a beat per cycle each way)
    dram_latency: int | None = None          # DRAM model latency (None: the mode's)
    dram_latency_max: int | None = None      # latency drawn per burst from [dram_latency, this]
    dram_bytes_per_cycle: int | None = None  # bandwidth of the channel reads and writes share
    #                                          (None: the mode's; 0: a beat per cycle each way)
    dram_seed: int = 1                       # the DRAM model's latency draw
    mem_bytes: int | None = None             # DRAM model size, a build parameter (likewise)
    trace: bool = False                      # RTL: activity trace (bench/trace.py)
    toggle_coverage: bool = False            # RTL: the toggle-coverage build (coverage.dat)
    reset_only: bool = False                 # RTL: reset and stop (a toggle baseline)
    misaligned_prog_base: bool = False       # let a verification run provoke PROG_ALIGN
    fresh: bool = True                       # batch runs: reset before this job (False: it
    #                                          starts right after the previous one)
    #                                          (a user's job is refused before any run)

    def __post_init__(self) -> None:
        cfg = load_config(self.config)       # an unknown name fails here, before any build
        if self.dram not in DRAM_MODES:
            raise ValueError(f"dram {self.dram!r}: use one of {', '.join(DRAM_MODES)}")
        bytes_per_cycle, latency = cfg.dram_model(self.dram)
        if self.dram_latency is None:
            self.dram_latency = latency
        if self.dram_bytes_per_cycle is None:
            self.dram_bytes_per_cycle = bytes_per_cycle
        if self.mem_bytes is None:
            self.mem_bytes = cfg.dram_bytes
        if self.dram_latency_max is None:
            self.dram_latency_max = self.dram_latency
        self.image = np.asarray(self.image)
        self._check(int(self.mem_bytes))

    def _check(self, mem: int) -> None:
        """Refuse, with one line naming the field, a job the DRAM model cannot hold."""
        if self.image.dtype != np.uint8 or self.image.ndim != 1:
            raise ValueError(f"job image: expected a 1-D uint8 array, got {self.image.dtype} "
                             f"of shape {self.image.shape}")
        if self.image.size > mem:
            raise ValueError(f"job image: {self.image.size} bytes do not fit the {mem}-byte "
                             f"DRAM model (mem_bytes)")
        misaligned = self.prog_base % isa.INSN_BYTES and not self.misaligned_prog_base
        if misaligned or not 0 <= self.prog_base < mem:
            raise ValueError(f"prog_base 0x{self.prog_base:x}: must be a multiple of "
                             f"{isa.INSN_BYTES} inside the {mem}-byte DRAM model")
        lat_min, lat_max = int(self.dram_latency), int(self.dram_latency_max)  # type: ignore
        if not 0 <= lat_min <= lat_max < 1 << 16:
            raise ValueError(f"dram_latency {lat_min}..{lat_max}: need 0 <= min <= max < 65536")
        if not 0 <= int(self.dram_bytes_per_cycle) < 1 << 16:  # type: ignore[arg-type]
            raise ValueError(f"dram_bytes_per_cycle {self.dram_bytes_per_cycle}: need 0..65535")
        regions = dict(self.outputs)
        if self.dram_window is not None:
            regions["dram_window"] = self.dram_window
        for name, (addr, nbytes) in regions.items():
            if addr < 0 or nbytes < 0 or addr + nbytes > mem:
                raise ValueError(f"{name} (0x{addr:x}, {nbytes} bytes): outside the {mem}-byte "
                                 f"DRAM model")

    @classmethod
    def for_program(cls, config: str, words: list[int], prog_base: int = 0,
                    data: np.ndarray | None = None, **options) -> Job:
        """A program placed at *prog_base* over *data* (DRAM bytes from 0)."""
        code = np.frombuffer(isa.to_bytes(words), dtype=np.uint8)
        base = np.zeros(0, np.uint8) if data is None else np.asarray(data, np.uint8)
        image = np.zeros(max(base.size, prog_base + code.size), dtype=np.uint8)
        image[:base.size] = base
        image[prog_base:prog_base + code.size] = code
        return cls(config=config, image=image, prog_base=prog_base, **options)

    @classmethod
    def for_schedule(cls, sched, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                     **options) -> Job:
        """An attention schedule (scheduler.Schedule) on int8 Q, K, V [batch*heads, rows, d];
        the output region is named "O"."""
        options.setdefault("timeout_cycles", sched.timeout_cycles)
        options.setdefault("dram", sched.dram)
        return cls(config=sched.cfg.name, image=sched.image(q, k, v), prog_base=sched.prog_base,
                   outputs={"O": sched.output_region()}, strict=sched.strict,
                   dram_window=(0, sched.dram_bytes), **options)

    def _meta(self) -> dict:
        """Every field but the image, as JSON values (NumPy integers become ints)."""
        meta = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "image"}
        return json.loads(json.dumps(meta, default=int))

    def digest(self) -> str:
        """A short hash of everything the job is: the default name of its run directory."""
        h = hashlib.sha1(json.dumps(self._meta(), sort_keys=True).encode())
        h.update(np.ascontiguousarray(self.image).tobytes())
        return h.hexdigest()[:12]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "image.npy", self.image)
        (directory / "job.json").write_text(json.dumps(self._meta(), indent=1) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Job:
        meta = json.loads((directory / "job.json").read_text())
        meta["outputs"] = {name: tuple(region) for name, region in meta["outputs"].items()}
        if meta["dram_window"] is not None:
            meta["dram_window"] = tuple(meta["dram_window"])
        return cls(image=np.load(directory / "image.npy"), **meta)


# Outcome.error of an RTL run that never interrupted within the job's timeout_cycles (no error
# code: the watchdog itself failed to stop it).
HANG = "HANG"
# Outcome.error of a batch job during which the simulation itself ended (an assertion fired, the
# simulator crashed); Outcome.message holds the reason.
SIM_FAILED = "SIM_FAILED"


@dataclass
class Outcome:
    backend: str
    done: bool
    error: str | None                        # ErrorCode name, None for a clean finish
    error_pc: int = 0
    error_info: int = 0
    counters: dict[str, int] = field(default_factory=dict)   # counter registers (model: those
    #                                                          it reproduces exactly)
    observed: dict[str, int] = field(default_factory=dict)   # RTL: what the simulation wrapper
    #                                    saw inside the NPU (tb/top/env.py OBSERVED); model: {}
    work: dict[str, int] = field(default_factory=dict)       # model: npu_model.semantics.Work
    outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    run_dir: str | None = None
    trace_path: str | None = None            # RTL with Job.trace: bench/trace.py
    coverage_path: str | None = None         # RTL with Job.toggle_coverage: coverage.dat
    wall_s: float = 0.0
    message: str = ""                        # SIM_FAILED: why the simulation ended

    @property
    def cycles(self) -> int | None:
        return self.counters.get("CYCLES")

    @property
    def ok(self) -> bool:
        return self.done and self.error is None

    def save(self, directory: Path) -> None:
        np.savez(directory / "outputs.npz", **self.outputs)  # type: ignore[arg-type]
        meta = asdict(self)
        meta.pop("outputs")
        (directory / "outcome.json").write_text(json.dumps(meta, indent=1, default=int) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Outcome:
        meta = json.loads((directory / "outcome.json").read_text())
        with np.load(directory / "outputs.npz") as npz:
            outputs = {name: npz[name] for name in npz.files}
        return cls(outputs=outputs, **meta)

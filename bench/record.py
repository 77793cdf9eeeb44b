"""One bench run as data: what it measured (`BenchRecord`) and what the report derives from
it (`Metrics`). results.json holds the records with their metrics; `from_dict` reads them
back (older files too: unknown keys are dropped, metrics are always derived anew)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class Metrics:
    """Figures derived from a record and the roofline (bench/report.derive)."""

    roofline: dict                         # bench.roofline.Roofline.to_dict()
    speedup_vs_flat: float | None          # against the faithful FLAT
    energy_reduction_vs_flat: float | None
    speedup_vs_serial: float | None        # against the serialization ablation
    energy_reduction_vs_serial: float | None
    matrix_util: float
    vector_util: float
    dma_in_util: float
    overlap_of_vector: float
    roofline_fraction: float
    macs_over_needed: float
    issued_matrix_cycles: float
    issued_matrix_fraction: float
    dram_over_minimum: float
    dram_only_cycles: float                # the run's DRAM bytes at the configured bandwidth
    dram_energy_share: float


@dataclass
class BenchRecord:
    config: str
    workload_name: str
    strategy: str
    workload: dict                         # scheduler.Workload.to_dict() (calibrated scales)
    tiling: str
    instructions: int
    predicted: int                         # the cost model's cycles
    prediction: dict                       # cycles, busy per queue, overlap
    counters: dict[str, int]               # every counter register of the RTL run
    toggles: dict[str, int]                # per component, reset baseline subtracted
    energy: dict[str, float]               # pJ per part (bench/energy.py)
    energy_pj: float
    energy_model: dict
    macs: int                              # MACs the program issues
    matrix_toggles_per_mac: float
    bit_exact: bool
    cosine: float
    wall_s: float
    run_dir: str
    overlaps: dict[str, int] = field(default_factory=dict)   # unit pairs busy together
    # The DRAM model it was measured with (hwdef DRAM_MODES), its bandwidth in bytes per cycle
    # shared by reads and writes (0: a beat per cycle each way) and latency. Records written
    # before these fields were measured with the unlimited model at 20 cycles.
    dram: str = "unlimited"
    dram_bytes_per_cycle: int = 0
    dram_latency: int = 20
    queue_notes: dict[str, list[str]] = field(default_factory=dict)
    # bench.tasks.source_digest() of the sources it was measured with ("" before it was kept):
    # a rerun skips a case whose record has the current digest
    source_digest: str = ""
    metrics: Metrics | None = None

    @property
    def cycles(self) -> int:
        return self.counters["CYCLES"]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.config, self.workload_name, self.strategy, self.dram

    def to_dict(self, notes: bool = True) -> dict:
        out = asdict(self)
        if not notes:
            out.pop("queue_notes")
        return out

    @classmethod
    def from_dict(cls, data: dict) -> BenchRecord:
        known = {f.name for f in fields(cls)} - {"metrics"}
        data = {k: v for k, v in data.items() if k in known}
        if "dram" not in data and data.get("strategy") == "flat":
            # Records from before the DRAM modes measured the strategy now called `serial`
            # (FLAT itself came with them).
            data["strategy"] = "serial"
        return cls(**data)

"""Energy proxy: toggles and access counts -> picojoules (docs/energy.md).

    E = sum over components of toggles x e_toggle          (logic, from toggle coverage)
      + scratchpad line accesses x e_line                  (SRAM, from SPAD_READS/WRITES)
      + DRAM bytes x e_dram_byte                           (from DRAM_READ/WRITE_BYTES)
      + cycles x p_static                                  (leakage, clock tree)

Per-access energies follow Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm): SRAM
read of 64 bits 10 pJ (8 KB array) / 20 pJ (32 KB) / 100 pJ (1 MB), i.e. about sqrt(size);
DRAM 1.3-2.6 nJ per 64 bits (midpoint used). The energy of one toggled RTL signal bit is
calibrated against the same table: on the default configuration the matrix block (engine,
array, accumulators) toggles 60.3 named signal bits per MAC issued (measured on the vit-197
mas run of the bench), and an 8-bit multiply plus add costs 0.2 + 0.03 pJ, so one toggle
~ 3.8 fJ; the same value is used for every block. The static term is an assumption
(documented, not measured): 2 pJ per cycle of logic leakage and clocking plus 0.05 pJ per
cycle per KiB of SRAM.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from hwdef import HwConfig

SRAM_64B_PJ_8KB = 10.0                 # Horowitz 2014, 45 nm
DRAM_64B_PJ = (1300.0 + 2600.0) / 2    # Horowitz 2014: 1.3-2.6 nJ per 64-bit access
MATRIX_TOGGLES_PER_MAC = 60.3          # measured: default config, vit-197, mas (docs/energy.md)
TOGGLE_PJ = (0.2 + 0.03) / MATRIX_TOGGLES_PER_MAC   # 8-bit multiply + add per MAC
STATIC_LOGIC_PJ_PER_CYCLE = 2.0
# Energy without an RTL run (EnergyModel.predicted), fitted on the bench's RTL runs (default
# and small, BERT 512, ViT 197, N = 128, the four strategies): scratchpad line accesses per
# vector and per DRAM line moved, and the vector unit's toggle energy per lane and vector
# (logic:vector / (vectors x lanes) of the default mas BERT run: 1.95 µJ over 92,160 x 16).
SPAD_PER_VECTOR = 5.1
SPAD_PER_DRAM_LINE = 0.9
VECTOR_LANE_PJ = 1.32
STATIC_SRAM_PJ_PER_CYCLE_PER_KIB = 0.05


@dataclass(frozen=True)
class EnergyModel:
    toggle_pj: float = TOGGLE_PJ
    sram_line_pj: float = 0.0
    dram_byte_pj: float = DRAM_64B_PJ / 8
    static_pj_per_cycle: float = 0.0

    @classmethod
    def for_config(cls, cfg: HwConfig) -> EnergyModel:
        bank_bytes = cfg.spad_bank_lines * cfg.line_bytes
        per_64b = SRAM_64B_PJ_8KB * math.sqrt(bank_bytes / 8192)
        sram_kib = (cfg.spad_bytes + cfg.acc_bytes) / 1024
        return cls(sram_line_pj=per_64b * cfg.line_bytes / 8,
                   static_pj_per_cycle=STATIC_LOGIC_PJ_PER_CYCLE
                   + STATIC_SRAM_PJ_PER_CYCLE_PER_KIB * sram_kib)

    def breakdown(self, toggles: dict[str, int], counters: dict[str, int]) -> dict[str, float]:
        """Picojoules per component: one entry per logic component (toggles), `sram`,
        `dram`, `static`."""
        out = {f"logic:{name}": count * self.toggle_pj for name, count in toggles.items()}
        out["sram"] = (counters["SPAD_READS"] + counters["SPAD_WRITES"]) * self.sram_line_pj
        out["dram"] = (counters["DRAM_READ_BYTES"] + counters["DRAM_WRITE_BYTES"]) \
            * self.dram_byte_pj
        out["static"] = counters["CYCLES"] * self.static_pj_per_cycle
        return out

    def predicted(self, cfg: HwConfig, work, cycles: float) -> float:
        """Picojoules of a program from its work (npu_model.semantics.Work: MACs, vectors,
        DRAM bytes) and predicted cycles, where no RTL run gives toggles and access counts
        (bench/dse.py). Logic: the MACs at the toggle calibration's 0.23 pJ each, and the
        vector lanes at VECTOR_LANE_PJ; scratchpad line accesses estimated as
        SPAD_PER_VECTOR per vector plus SPAD_PER_DRAM_LINE per DRAM line moved (fitted on the
        bench's RTL runs of default and small: -17..+32% per run on accesses, about a tenth
        of the energy);
        DRAM and static as in `breakdown`."""
        dram = work.dram_read_bytes + work.dram_write_bytes
        spad_lines = SPAD_PER_VECTOR * work.vectors + SPAD_PER_DRAM_LINE * dram / cfg.line_bytes
        logic = (work.macs * TOGGLE_PJ * MATRIX_TOGGLES_PER_MAC
                 + work.vectors * cfg.vector_lanes * VECTOR_LANE_PJ)
        return (logic + spad_lines * self.sram_line_pj + dram * self.dram_byte_pj
                + cycles * self.static_pj_per_cycle)

    def to_dict(self) -> dict:
        return asdict(self)

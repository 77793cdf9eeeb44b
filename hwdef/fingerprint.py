"""A hash of the hardware definition a program was built for.

A program image is only meaningful on the hardware whose ISA layout, numerics constants and
sizes it was built against. `fingerprint(cfg)` hashes exactly those: every value of the
configuration that the RTL or the program depends on (not its name or description), every
instruction class's opcode, queue and field layout, the enumerations the fields encode, and the
numerics constants with the exp2 table. A program bundle (scheduler/bundle.py) records it, and
a bundle whose fingerprint differs from the current definition's is refused before any run:
its words may decode differently, its buffers may not fit, or its results may follow other
rounding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

from hwdef import isa, params

FINGERPRINT_CHARS = 16       # hex digits kept (64 bits: collisions are not a concern here)
_NOT_HARDWARE = ("name", "description", "extra")

# The numerics and encoding constants of hwdef/params.py a program's results depend on.
_CONSTANTS = ("DATA_BITS", "ACC_BITS", "EXP2_FRAC_BITS", "EXP2_OUT_FRAC_BITS",
              "EXP2_SEGMENT_BITS", "RECIP_FRAC_BITS", "SHIFT_BITS", "SOFTMAX_EXP2_SHIFT",
              "VEC_OP_BITS", "SAT_MODE_BITS", "VEC_FLAG_BITS", "AXI_MAX_BURST_BEATS",
              "AXI_BOUNDARY_BYTES")


def definition(cfg: params.HwConfig) -> dict:
    """What the fingerprint hashes, as plain JSON values."""
    enums = (params.VecOp, params.SatMode, params.VecFlag, isa.Queue, isa.ElemType, isa.BMode)
    return {
        "config": {f.name: getattr(cfg, f.name) for f in fields(cfg)
                   if f.name not in _NOT_HARDWARE},
        "isa": {"insn_bits": isa.INSN_BITS, "semaphores": isa.NUM_SEMAPHORES,
                "semaphore_bits": isa.SEMAPHORE_BITS,
                "classes": [{"mnemonic": c.mnemonic, "opcode": c.opcode, "queue": c.queue.name,
                             "fields": [[f.name, f.bits, f.signed, lsb]
                                        for f, lsb in c.layout()]}
                            for c in isa.INSTRUCTIONS]},
        "enums": {e.__name__: {m.name: int(m) for m in e} for e in enums},
        "constants": {name: getattr(params, name) for name in _CONSTANTS},
        "exp2_table": params.exp2_segment_table(),
    }


def fingerprint(cfg: params.HwConfig) -> str:
    """The hardware definition of *cfg* as a short hex digest."""
    text = json.dumps(definition(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_CHARS]

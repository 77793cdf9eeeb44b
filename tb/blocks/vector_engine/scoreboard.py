"""Scoreboard of the vector engine bench: one instruction's observed behaviour against the
golden model (tb/golden/vector_engine_model.py, checks and spans from npu_model.semantics).

Per instruction: a rejected instruction gives its error code and info one cycle after the
handshake and makes no scratchpad request; an accepted one reads on a and b exactly the
model's line sequence (each 8-bit line once for its four vectors), writes one result per
destination line, releases each region of a released operand once after its last data read,
locks each destination region once (readers = lock_readers) after the last result write, and
raises done_o the cycle after its last granted access.
"""

from __future__ import annotations

from hwdef import HwConfig
from npu_model import semantics as sem
from tb.agents.engine_port import EngineOp
from tb.golden.vector_engine_model import EngineResult

PORT_A, PORT_B, PORT_D = 0, 1, 2
ENGINE_PORTS = (PORT_A, PORT_B, PORT_D)


class VectorEngineScoreboard:
    def __init__(self, cfg: HwConfig) -> None:
        self.cfg = cfg
        self.region_lines = cfg.spad_region_lines

    def check_rejected(self, op: EngineOp, res: EngineResult, what: str) -> None:
        assert op.kind == "err", f"{what}: expected error {res.error.name}, got {op.kind}"
        assert (op.code, op.info) == (int(res.error), res.info), \
            (f"{what}: error {op.code}/{op.info}, expected {res.error.name}"
             f"({int(res.error)})/{res.info}")
        assert not op.requested, f"{what}: a rejected instruction accessed the scratchpad"
        assert op.t_end == op.t_accept + 1, \
            f"{what}: err_o {op.t_end - op.t_accept} cycles after the handshake"

    def check_accesses(self, op: EngineOp, res: EngineResult, what: str) -> None:
        f = op.fields
        rl = self.region_lines
        by_port = {p: [a for a in op.accesses if a.port == p] for p in ENGINE_PORTS}
        for port, lines, regions, release in (
                (PORT_A, res.a_lines, res.a_regions, f["release_a"]),
                (PORT_B, res.b_lines, res.b_regions, f["release_b"])):
            acc = by_port[port]
            assert not any(a.write for a in acc), f"{what}: write on read port {port}"
            data = [a for a in acc if not a.last_use]
            rel = [a for a in acc if a.last_use]
            got = [a.addr for a in data]
            assert got == lines, f"{what}: port {port} read lines {got}, expected {lines}"
            want_rel = regions if release else set()
            rel_regions = [a.addr // rl for a in rel]
            assert sorted(rel_regions) == sorted(want_rel), \
                f"{what}: port {port} released regions {rel_regions}, expected {sorted(want_rel)}"
            if rel and data:
                assert min(a.cycle for a in rel) > max(a.cycle for a in data), \
                    f"{what}: port {port} released before its last data read"
        acc = by_port[PORT_D]
        assert all(a.write and not a.last_use for a in acc), f"{what}: bad access on port d"
        data = [a for a in acc if a.wstrb != 0]
        locks = [a for a in acc if a.wstrb == 0]
        assert all(a.readers == 0 for a in data), f"{what}: data write with readers"
        written = sorted({a.addr for a in data})
        assert set(written) == res.dst_lines, \
            f"{what}: wrote lines {written}, expected {sorted(res.dst_lines)}"
        per_row = sem.access(self.cfg, "VECTOR", f).write.per_row
        assert len(data) == f["rows"] * per_row, \
            f"{what}: {len(data)} result writes, expected one per line ({f['rows'] * per_row})"
        want_locks = res.d_regions if f["lock_readers"] else set()
        lock_regions = [a.addr // rl for a in locks]
        assert sorted(lock_regions) == sorted(want_locks), \
            f"{what}: lock writes to regions {lock_regions}, expected {sorted(want_locks)}"
        assert all(a.readers == f["lock_readers"] and a.addr % rl == 0
                   for a in locks), f"{what}: bad lock write"
        if locks:
            assert min(a.cycle for a in locks) > max(a.cycle for a in data), \
                f"{what}: lock written before the last result write"
        last = max(a.cycle for a in op.accesses)
        assert op.t_end == last + 1, \
            f"{what}: done_o at {op.t_end}, last access granted at {last}"

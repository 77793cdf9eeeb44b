"""Scoreboard of the matrix engine bench: one MATMUL's observed behaviour against the golden
model (tb/golden/matmul_engine_model.py; checks, lines and regions from npu_model.semantics).

A rejected instruction pulses err_o once with the model's code and info and makes no
scratchpad request. An accepted one makes exactly rows*k_tiles*n_tiles A reads and
Dim*k_tiles*n_tiles B reads of the operands' lines, one C write per output row and tile (to
the model's lines, no readers), releases each region of a released operand once after its
last read, locks each destination region once after the last C write, and has no access after
done_o."""

from __future__ import annotations

from tb.agents.engine_port import EngineOp
from tb.golden.matmul_engine_model import MatmulResult

PORT_A, PORT_B, PORT_C = 0, 1, 2
ENGINE_PORTS = (PORT_A, PORT_B, PORT_C)


class MatmulEngineScoreboard:
    def __init__(self, dim: int, region_lines: int) -> None:
        self.dim = dim
        self.region_lines = region_lines

    def check_rejected(self, op: EngineOp, res: MatmulResult, what: str) -> None:
        assert op.kind == "err", f"{what}: done_o although the instruction is rejected"
        assert (op.code, op.info) == (res.error, res.info), \
            f"{what}: err code/info {op.code}/{op.info} != expected {res.error}/{res.info}"
        assert not op.requested and not op.accesses, \
            f"{what}: a rejected instruction made scratchpad requests"

    def check_accesses(self, res: MatmulResult, op: EngineOp, f: dict, what: str) -> None:
        """Access counts, release/lock sets and their order, done after the last grant."""
        dim, rl = self.dim, self.region_lines
        end = op.t_end
        by = {p: [a for a in op.accesses if a.port == p] for p in ENGINE_PORTS}
        assert all(a.cycle < end for a in op.accesses), f"{what}: access after done"
        for port, lines, rel, nreads in (
                (PORT_A, res.a_lines, res.release_a, f["rows"] * f["k_tiles"] * f["n_tiles"]),
                (PORT_B, res.b_lines, res.release_b, dim * f["k_tiles"] * f["n_tiles"])):
            acc = by[port]
            assert not any(a.write for a in acc), f"{what}: write on read port {port}"
            data = [a for a in acc if not a.last_use]
            relr = [a for a in acc if a.last_use]
            assert len(data) == nreads, \
                f"{what}: port {port} made {len(data)} data reads, expected {nreads}"
            assert {a.addr for a in data} == lines, f"{what}: port {port} read other lines"
            got_rel = [a.addr // rl for a in relr]
            assert sorted(got_rel) == sorted(rel), \
                f"{what}: port {port} released regions {got_rel}, expected {sorted(rel)}"
            assert all(a.addr % rl == 0 for a in relr)
            if relr:
                assert min(a.cycle for a in relr) > max(a.cycle for a in data), \
                    f"{what}: port {port} released before its last read"
        acc = by[PORT_C]
        assert all(a.write for a in acc), f"{what}: read on the C port"
        data = [a for a in acc if a.wstrb != 0]
        locks = [a for a in acc if a.wstrb == 0]
        exp_writes = f["rows"] * f["n_tiles"] if f["emit"] else 0
        assert len(data) == exp_writes, \
            f"{what}: {len(data)} C writes, expected {exp_writes}"
        assert all(a.readers == 0 for a in data), f"{what}: C data write with readers"
        assert {a.addr for a in data} == res.written_lines, f"{what}: C wrote other lines"
        got_lock = [a.addr // rl for a in locks]
        assert sorted(got_lock) == sorted(res.lock), \
            f"{what}: lock writes to regions {got_lock}, expected {sorted(res.lock)}"
        assert all(a.readers == f["lock_readers"] and a.addr % rl == 0 for a in locks)
        if locks:
            assert min(a.cycle for a in locks) > max(a.cycle for a in data), \
                f"{what}: lock written before the last C write"

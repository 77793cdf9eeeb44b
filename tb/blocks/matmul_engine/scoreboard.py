"""Scoreboard of the matrix engine bench: one MATMUL's observed behaviour against the golden
model (tb/golden/matmul_engine_model.py; checks, lines and regions from npu_model.semantics).

A rejected instruction pulses err_o once with the model's code and info and makes no
scratchpad request. An accepted one makes exactly rows*k_tiles*n_tiles A reads and
Dim*k_tiles*n_tiles B reads of the operands' lines, one C write per output row and tile (to
the model's lines, no readers), releases each region of a released operand once after its
last read, locks each destination region once after the last C write, and has no access after
done_o.

A stream of instructions with several in flight (`check_stream`) must behave like the same
instructions run one at a time in program order, except in time: each retires in program order
with the model's verdict; every port serves one instruction completely (its data accesses,
then its releases or lock marks) before the next one's (docs/matmul_engine.md: a sequencer
takes the next instruction once it has finished the current one), so each port's log splits
into per-instruction slices by the model's access counts, each checked as above; an
instruction's release reads, C writes and lock marks wait until every older instruction has
retired (its done_o cycle at the earliest); and a read of a line an older instruction writes
comes after that write."""

from __future__ import annotations

from tb.agents.engine_port import EngineOp
from tb.agents.spad_port import SpadAccess
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

    def port_counts(self, res: MatmulResult, f: dict) -> dict[int, int]:
        """Accesses the instruction makes on each port (data and overwrite control); none for
        a rejected one."""
        if res.error:
            return {port: 0 for port in ENGINE_PORTS}
        tiles = f["k_tiles"] * f["n_tiles"]
        return {PORT_A: f["rows"] * tiles + len(res.release_a),
                PORT_B: self.dim * tiles + len(res.release_b),
                PORT_C: (f["rows"] * f["n_tiles"] if f["emit"] else 0) + len(res.lock)}

    def check_stream(self, results: list[MatmulResult], ops: list[EngineOp], fs: list[dict],
                     accesses: list[SpadAccess], what: str) -> None:
        """A stream offered back to back (env.run_many) against the model run in program
        order. Replaces each op's `accesses` (the env gives every grant to the oldest
        instruction in flight) by its slice of the port logs."""
        names = [f"{what} #{k}" for k in range(len(ops))]
        for name, res, op, f in zip(names, results, ops, fs):
            assert op.t_accept is not None and op.t_end is not None, f"{name}: never finished"
            if res.error:
                assert op.kind == "err", f"{name}: done_o although the instruction is rejected"
                assert (op.code, op.info) == (res.error, res.info), \
                    f"{name}: err code/info {op.code}/{op.info} != expected {res.error}/{res.info}"
            else:
                assert op.kind == "done", f"{name}: unexpected err {op.code}/{op.info} for {f}"
        ends = [op.t_end for op in ops]
        assert all(a < b for a, b in zip(ends, ends[1:])), \
            f"{what}: completions not one per instruction in program order: {ends}"
        # Split each port's log in program order by the model's access counts.
        slices: list[list[SpadAccess]] = [[] for _ in ops]
        for port in ENGINE_PORTS:
            log = [a for a in accesses if a.port == port]
            at = 0
            for k, (res, f) in enumerate(zip(results, fs)):
                n = self.port_counts(res, f)[port]
                slices[k] += log[at:at + n]
                at += n
            assert at == len(log), \
                (f"{what}: port {port} made {len(log)} accesses, the instructions "
                 f"{at} (first extra one: {log[at] if at < len(log) else None})")
        for name, res, op, f, mine in zip(names, results, ops, fs, slices):
            op.accesses = sorted(mine, key=lambda a: (a.cycle, a.port))
            if not res.error:
                self.check_accesses(res, op, f, name)
        # Program order in time.
        for k, (res, op) in enumerate(zip(results, ops)):
            if res.error:
                continue
            ordered = [a for a in op.accesses if a.last_use or a.port == PORT_C]
            for j in range(k):
                older = ops[j]
                assert older.t_end is not None
                early = [a for a in ordered if a.cycle < older.t_end]
                assert not early, \
                    (f"{names[k]}: release read / C write / lock mark {early[0]} before "
                     f"{names[j]} retired (cycle {older.t_end})")
                written: dict[int, int] = {}   # line -> cycle of its last write
                for a in older.accesses:
                    if a.port == PORT_C and a.wstrb:
                        written[a.addr] = max(written.get(a.addr, -1), a.cycle)
                raw = [a for a in op.accesses if a.port != PORT_C and not a.last_use
                       and a.addr in written and a.cycle <= written[a.addr]]
                assert not raw, \
                    (f"{names[k]}: read {raw[0]} of a line {names[j]} writes at cycle "
                     f"{written[raw[0].addr]} (read before the write)")

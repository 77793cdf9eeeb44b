"""Constrained-random NPU programs with real dependencies (issue 11).

A random program is built as a *sequential* list of instructions (the order in which the
instruction-level model runs them) and then made concurrent in one of two ways, like the
scheduler's own programs:

* the scheduler's synchronization pass (scheduler/sync.py: one semaphore pair per dependency
  between two queues), plus a few extra producer/consumer semaphore pairs (s12..s14) that add
  waits the pass would not; or
* explicit fences: the queues run freely between fences, and a full fence (a SYNC signalling s15
  in each queue, then four NOPs waiting on s15) is placed before every instruction that depends
  on an instruction of another queue since the last fence.

Operands are placed so that dependencies are real: reads favour recently written lines, DMA
moves data through a DRAM data area in both directions, the accumulators are reused with and
without accumulate. Every program starts by loading the whole scratchpad with random bytes, so
no read sees a value the model and the RTL disagree on by construction, and ends by storing
every scratchpad line it wrote to a DRAM area that is compared byte for byte.

Overwrite control (lock_readers, release flags, strict mode) is used so that no outcome depends
on timing: a locking write is fenced from everything before it, a release only reads lines of
the write that locked the region (so it waits for the lock), no write goes into a region still
awaiting reads (the RTL would wait for a release that comes later in program order), and in
strict mode a write into a region released since the last fence is fenced too. A share of
programs is deliberately illegal: one instruction (or the program's end) breaks one rule, and
the run must stop with that error. Which error the model expects comes from the model itself;
only what the sequential model cannot see (a deadlock, a semaphore overflow) is predicted here.

Everything is a function of (configuration, seed): `generate(config, seed)` returns the same
program in any process, and the program's listing records the seed (tb/crv/soak.py reruns it).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import vsc

from firmware_gen.program import load_defaults
from hwdef import HwConfig, isa, load_config
from hwdef.params import ACC_BITS, VecOp
from hwdef.regs import ErrorCode
from npu_model import semantics as sem
from runner.job import Job
from scheduler.sync import SEMAPHORE_OF, Footprint, SyncEmitter
from tb.crv.knobs import ILLEGAL_KINDS, DmaKnobs, InsnKnobs, MatmulKnobs, ProgramKnobs, VectorKnobs

PAGE = 4096
MIN_DATA_BYTES = 4 * PAGE        # DRAM data area (DMA sources and destinations), at least
PROGRAM_BYTES = 8 * PAGE         # room for the program at the window's end
# Semaphores the sync pass leaves free: the last for fences, the others for extra
# producer/consumer pairs; the last of those is never signalled in a deadlock program.
_FREE_SEMS = [s for s in range(isa.NUM_SEMAPHORES) if s not in set(SEMAPHORE_OF.values())]
FENCE_SEM = _FREE_SEMS[-1]
EXTRA_SEMS = tuple(_FREE_SEMS[:-1])
DEADLOCK_SEM = EXTRA_SEMS[-1]
WATCHDOG = 3000                  # cycles without progress before DEADLOCK
_ACC_BYTES = ACC_BITS // 8
# The error each kind of illegal instruction is built to raise (the others: their own paths).
_KIND_CODE = {"field": ErrorCode.BAD_FIELD, "spad_range": ErrorCode.SPAD_RANGE,
              "acc_range": ErrorCode.ACC_RANGE, "operand_overlap": ErrorCode.OPERAND_OVERLAP,
              "dram_range": ErrorCode.DRAM_RANGE}


@dataclass
class Expected:
    """An RTL verdict the sequential model cannot know; error_pc None: not compared."""

    code: ErrorCode
    error_pc: int | None
    info: int


@dataclass
class RandomProgram:
    config: str
    seed: int
    words: list[int]                 # the program, HALT last (or no HALT: see `kind`)
    notes: list[str]
    image: np.ndarray                # DRAM bytes from address 0 to the window's end
    prog_base: int
    window: tuple[int, int]
    outputs: dict[str, tuple[int, int]]
    strict: bool
    fences: bool
    dram_latency: tuple[int, int]
    dram_bytes_per_cycle: int
    kind: str                        # "none" (legal) or the illegal kind (ILLEGAL_KINDS)
    expected: Expected | None = None
    seq: list = field(default_factory=list, repr=False)     # the sequential items
    builder: _Builder | None = field(default=None, repr=False)

    def subset(self, keep: list[int]) -> RandomProgram:
        """The same program with only the sequential items *keep* (minimization)."""
        assert self.builder is not None
        return self.builder.assemble([self.seq[i] for i in keep])

    def job(self) -> Job:
        return Job(config=self.config, image=self.image, prog_base=self.prog_base,
                   outputs=dict(self.outputs), strict=self.strict, dram_window=self.window,
                   watchdog=WATCHDOG, timeout_cycles=400_000,
                   misaligned_prog_base=self.prog_base % isa.INSN_BYTES != 0,
                   dram_latency=self.dram_latency[0], dram_latency_max=self.dram_latency[1],
                   dram_bytes_per_cycle=self.dram_bytes_per_cycle, dram_seed=self.seed or 1)

    def listing(self) -> str:
        """Assembler input that reproduces the program. The `crv-run` comment holds how it
        runs (the data area comes back from the seed): `python -m tb.crv.soak --rerun-file`
        runs the file as written, minimized or edited by hand."""
        from firmware_gen.asm import disassemble
        run = {"config": self.config, "seed": self.seed, "kind": self.kind,
               "prog_base": self.prog_base, "window": list(self.window),
               "strict": self.strict, "fences": self.fences,
               "dram_latency": list(self.dram_latency),
               "dram_bytes_per_cycle": self.dram_bytes_per_cycle,
               "expected": None if self.expected is None else
               [self.expected.code.name, self.expected.error_pc, self.expected.info]}
        head = [f"# random program: config={self.config} seed={self.seed} kind={self.kind}, "
                f"window 0x{self.window[0]:x}+0x{self.window[1]:x}, program at "
                f"0x{self.prog_base:x}, strict={int(self.strict)}, fences={int(self.fences)}, "
                f"DRAM latency {self.dram_latency[0]}..{self.dram_latency[1]}, "
                f"{self.dram_bytes_per_cycle or 'unlimited'} B/cycle",
                "# rerun this file: python -m tb.crv.soak --rerun-file <this file>",
                f"# crv-run: {json.dumps(run)}"]
        return "\n".join(head) + "\n" + disassemble(
            self.words, addresses=True, base=self.prog_base, notes=self.notes, raw=True)

    @classmethod
    def from_listing(cls, text: str, source: str) -> RandomProgram:
        """The program of a listing written by `listing` (its first `crv-run` comment): the
        words as assembled now, the data area regenerated from the seed. Raises ValueError,
        naming *source*, for anything else."""
        from firmware_gen.asm import assemble
        marker = "# crv-run: "
        line = next((ln for ln in text.splitlines() if ln.startswith(marker)), None)
        if line is None:
            raise ValueError(f"{source}: no '{marker.strip()}' line (not a random program)")
        try:
            run = json.loads(line[len(marker):])
            cfg = load_config(str(run["config"]))
            seed, prog_base = _natural(run["seed"]), _natural(run["prog_base"])
            base, size = (_natural(v) for v in run["window"])
            lat_min, lat_max = (_natural(v) for v in run["dram_latency"])
            exp = run["expected"]
            expected = (None if exp is None else
                        Expected(ErrorCode[str(exp[0])],
                                 None if exp[1] is None else _natural(exp[1]), _natural(exp[2])))
            strict, fences, kind = bool(run["strict"]), bool(run["fences"]), str(run["kind"])
            bytes_per_cycle = _natural(run["dram_bytes_per_cycle"])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
            raise ValueError(f"{source}: bad crv-run line ({type(err).__name__}: {err})") from None
        data, out = areas(cfg, base)
        if base + size > cfg.dram_bytes or not base <= prog_base < base + size:
            raise ValueError(f"{source}: window 0x{base:x}+0x{size:x} and program at "
                             f"0x{prog_base:x} do not fit the {cfg.dram_bytes}-byte DRAM model")
        words = assemble(text, source=source)
        code = np.frombuffer(isa.to_bytes(words), dtype=np.uint8)
        at = prog_base - prog_base % isa.INSN_BYTES   # a misaligned START's code is aligned
        if at + code.size > base + size:
            raise ValueError(f"{source}: {len(words)} instructions do not fit the window")
        image = np.zeros(base + size, dtype=np.uint8)
        image[base:base + data[1]] = _Builder(cfg, seed, 1).data_bytes  # the seed's first draw
        image[at:at + code.size] = code
        return cls(config=cfg.name, seed=seed, words=words, notes=[""] * len(words),
                   image=image, prog_base=prog_base, window=(base, size),
                   outputs={"data": data, "spad": out}, strict=strict, fences=fences,
                   dram_latency=(lat_min, lat_max), dram_bytes_per_cycle=bytes_per_cycle,
                   kind=kind, expected=expected)


def _natural(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


def areas(cfg: HwConfig, base: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(address, bytes) of the DRAM data area at the window's *base* (at least the whole
    scratchpad: the preamble loads it) and of the area the epilogue stores the scratchpad to."""
    data = (base, max(MIN_DATA_BYTES, -(-cfg.spad_lines * cfg.line_bytes // PAGE) * PAGE))
    return data, (base + data[1], cfg.spad_lines * cfg.line_bytes)


def seed_of(base_seed: int, index: int) -> int:
    """The seed of program *index* of a run started with *base_seed* (stable across runs)."""
    return zlib.crc32(f"{base_seed}:{index}".encode()) & 0x7FFFFFFF


class _Overwrite:
    """Overwrite-control bookkeeping in program order, as npu_model.executor applies it, plus
    what the generator needs to keep outcomes independent of timing."""

    def __init__(self, cfg: HwConfig):
        self.region_lines = cfg.spad_region_lines
        self.pending = np.zeros(cfg.spad_regions, dtype=np.int64)
        self.lock_lines: dict[int, set[int]] = {}    # region -> lines of the locking write
        self.released_since_fence: set[int] = set()

    def regions(self, span: sem.Span) -> list[int]:
        return span.regions(self.region_lines)

    def writable(self, span: sem.Span) -> bool:
        return all(self.pending[r] == 0 for r in self.regions(span))

    def releasable(self, span: sem.Span) -> bool:
        """Every region of the span awaits a read, and the span reads a line of the write
        that locked it (so the release is ordered after the lock)."""
        lines = set(span.lines())
        return all(self.pending[r] > 0 and lines & self.lock_lines.get(r, set())
                   for r in self.regions(span))

    def apply(self, acc: sem.Access) -> None:
        for span in acc.releases:
            for region in self.regions(span):
                if self.pending[region] > 0:
                    self.pending[region] -= 1
                self.released_since_fence.add(region)
        if acc.lock_readers and acc.write is not None:
            lines = set(acc.write.lines())
            for region in self.regions(acc.write):
                self.pending[region] = acc.lock_readers
                self.lock_lines[region] = {ln for ln in lines
                                           if ln // self.region_lines == region}


class _Builder:
    """Builds one program: the sequential list, then the concurrent one."""

    def __init__(self, cfg: HwConfig, seed: int, max_insns: int):
        self.cfg, self.seed = cfg, seed
        self.rng = np.random.default_rng(seed)
        rand_state = vsc.RandState.mkFromSeed(seed)
        # pyvsc's decorator adds randomize/set_randstate, which type checkers cannot see
        self.knobs: Any = cast(Any, ProgramKnobs(max_insns))
        self.knobs.set_randstate(rand_state)
        self.knobs.randomize()
        # Rows on both sides of the array size (tiny: 4, default: 16), within the accumulators.
        self.max_rows = min(max(12, 2 * cfg.array_dim + 2), cfg.acc_lines // 3)
        self.insn_knobs: Any = cast(Any, InsnKnobs(self.max_rows))
        self.dma_knobs: Any = cast(Any, DmaKnobs())
        self.matmul_knobs: Any = cast(Any, MatmulKnobs(3))
        self.vector_knobs: Any = cast(Any, VectorKnobs())
        for knobs in (self.insn_knobs, self.dma_knobs, self.matmul_knobs, self.vector_knobs):
            knobs.set_randstate(rand_state)
        k = self.knobs
        self.kind = ILLEGAL_KINDS[int(k.illegal)]
        self.strict = bool(k.strict) or self.kind in ("ow_violation", "bad_release")
        self.fences = bool(k.fences)
        lb = cfg.line_bytes
        self.lb = lb
        self.base = int(k.window_pages) * PAGE
        self.data, self.out = areas(cfg, self.base)
        self.prog_base = self.out[0] + -(-self.out[1] // PAGE) * PAGE
        self.footprint = Footprint(cfg)
        self.ow = _Overwrite(cfg)
        self.acc_defined = np.zeros(cfg.acc_lines, dtype=bool)
        self.written: set[int] = set()          # scratchpad lines written after the preamble
        self.recent: list[sem.Span] = []
        self.seq: list[tuple[str, dict, str] | str] = []   # instructions and "FENCE"
        self.since_fence: list[tuple[isa.Queue, set, set]] = []
        self.illegal_at = -1
        self.follow = 0                          # the last MATMUL drawn: MatmulKnobs.follow
        self.expected: Expected | None = None
        self.data_bytes = self.rng.integers(0, 256, self.data[1], dtype=np.uint8)
        self.prog_offset = 0

    # ---- small helpers ------------------------------------------------------------------
    def _fields(self, mnemonic: str, given: dict) -> dict:
        if mnemonic == "DMA_LOAD":
            given = load_defaults(given)
        return {fld.name: int(given.get(fld.name, 0))
                for fld, _ in isa.BY_MNEMONIC[mnemonic].layout()[len(isa.HEADER):]}

    def _place(self, nlines: int) -> int:
        """A first line for an operand spanning *nlines* lines: often a recent write's."""
        top = self.cfg.spad_lines - nlines
        if top < 0:
            return -1
        if self.recent and self.rng.random() < 0.6:
            span = self.recent[int(self.rng.integers(len(self.recent)))]
            addr = span.addr + int(self.rng.integers(-2, 3)) * int(self.rng.integers(0, 2))
            return int(min(max(addr, 0), top))
        return int(self.rng.integers(0, top + 1))

    def _dram_addr(self, nbytes: int, corner: int) -> int:
        base, size = self.data
        if nbytes > size:
            return -1
        if corner == 1:      # straddle a 4 KiB boundary
            page = base + PAGE * int(self.rng.integers(1, size // PAGE))
            addr = page - int(self.rng.integers(1, max(2, min(nbytes, 256))))
        elif corner == 2:    # end exactly at the data area's end
            addr = base + size - nbytes
        else:
            addr = base + int(self.rng.integers(0, size - nbytes + 1))
        return int(min(max(addr, base), base + size - nbytes))

    def _scalar(self, kind: int) -> int:
        return [int(self.rng.integers(-300, 300)), int(self.rng.integers(-2**20, 2**20)),
                -2**31, 2**31 - 1, 0, -1,
                int(self.rng.integers(-2**31, 2**31))][kind]

    # ---- instructions -------------------------------------------------------------------
    def _draw(self, kind: int | None = None) -> tuple[str, dict] | None:
        """One legal-looking instruction (None: the draw did not fit; draw again); *kind*
        forces its class (InsnKnobs.kind), the rest drawn as usual."""
        k = self.insn_knobs
        k.randomize()
        kind = int(k.kind) if kind is None else kind
        lb, cfg = self.lb, self.cfg
        rows = int(k.rows)
        if kind in (0, 1):
            d = self.dma_knobs
            d.randomize()
            row_bytes = int(k.row_lines) * lb + int(k.tail) % lb
            row_bytes = max(row_bytes, 1)
            stride = row_bytes + (int(self.rng.integers(0, 40)) if d.dram_corner == 3 else 0)
            if kind == 0:
                pad_rows = rows + int(d.pad_rows) % 3
                pad_bytes = row_bytes + int(d.pad_lines) * lb + int(k.tail) % 3
                per_row = -(-pad_bytes // lb)
                pitch = per_row + int(k.pitch_slack)
                addr = self._place((pad_rows - 1) * pitch + per_row)
                dram = self._dram_addr((rows - 1) * stride + row_bytes, int(d.dram_corner))
                if addr < 0 or dram < 0:
                    return None
                return "DMA_LOAD", dict(
                    dram_addr=dram, dram_stride=stride, rows=rows, row_bytes=row_bytes,
                    spad_addr=addr, spad_pitch=pitch, pad_rows=pad_rows, pad_bytes=pad_bytes,
                    lock_readers=int(k.lock))
            per_row = -(-row_bytes // lb)
            pitch = per_row + int(k.pitch_slack)
            addr = self._place((rows - 1) * pitch + per_row)
            dram = self._dram_addr((rows - 1) * stride + row_bytes, int(d.dram_corner))
            if addr < 0 or dram < 0:
                return None
            return "DMA_STORE", dict(dram_addr=dram, dram_stride=stride, rows=rows,
                                     row_bytes=row_bytes, spad_addr=addr, spad_pitch=pitch,
                                     release_src=int(k.release))
        if kind == 2:
            m = self.matmul_knobs
            m.randomize()
            dim = cfg.array_dim
            kt, nt = int(m.k_tiles), int(m.n_tiles)
            rows = min(rows, cfg.acc_lines // nt)
            f = dict(rows=rows, k_tiles=kt, n_tiles=nt, transpose=int(m.transpose),
                     a_signed=int(m.a_signed), emit=int(m.emit))
            a_lines = -(-kt * dim // lb)
            a_pitch = a_lines + int(k.pitch_slack)
            b_rows, b_cols = sem.b_shape(f, dim)
            b_lines = -(-b_cols // lb)
            b_pitch = b_lines + int(k.pitch_slack) % 2
            acc_addr = int(self.rng.integers(0, cfg.acc_lines - nt * rows + 1))
            acc_rows = slice(acc_addr, acc_addr + nt * rows)
            accumulate = int(m.accumulate) and bool(self.acc_defined[acc_rows].all())
            f.update(a_addr=self._place((rows - 1) * a_pitch + a_lines), a_pitch=a_pitch,
                     b_addr=self._place((b_rows - 1) * b_pitch + b_lines), b_pitch=b_pitch,
                     acc_addr=acc_addr, accumulate=int(accumulate))
            if f["emit"]:
                c_lines = -(-nt * dim * _ACC_BYTES // lb)
                dst_pitch = c_lines + int(k.pitch_slack) % 2
                f.update(dst_addr=self._place((rows - 1) * dst_pitch + c_lines),
                         dst_pitch=dst_pitch, lock_readers=int(k.lock))
                if f["dst_addr"] < 0:
                    return None
            if f["a_addr"] < 0 or f["b_addr"] < 0:
                return None
            f.update(release_a=int(k.release), release_b=int(k.release) & int(m.transpose))
            self.follow = int(m.follow)
            return "MATMUL", f
        if kind == 3:
            v = self.vector_knobs
            v.randomize()
            lanes = cfg.vector_lanes
            op = int(v.op)
            nvec = max(1, int(k.row_lines))
            row_len = (nvec - 1) * lanes + (int(k.tail) % lanes or lanes)
            a_type, dst_type = int(v.a_type), int(v.dst_type)
            b_mode = int(v.b_mode)
            if VecOp(op).is_reduction:
                b_mode = isa.BMode.SCALAR
            f = dict(op=op, sat=int(v.sat), b_mode=b_mode, shift=int(v.shift),
                     scalar=self._scalar(int(v.scalar_kind)), rows=rows, row_len=row_len,
                     a_type=a_type, dst_type=dst_type, causal=int(v.causal),
                     diag=int(self.rng.integers(-2, row_len + 2)) if v.causal else 0)

            def lines_of(etype: int, count: int) -> int:
                return -(-count * lanes * (4 if etype == isa.ElemType.INT32 else 1) // lb)

            a_lines = lines_of(a_type, nvec)
            a_pitch = a_lines + int(k.pitch_slack)
            f.update(a_addr=self._place((rows - 1) * a_pitch + a_lines), a_pitch=a_pitch)
            if b_mode == isa.BMode.VECTOR:
                f.update(b_addr=self._place((rows - 1) * a_pitch + a_lines), b_pitch=a_pitch)
            elif b_mode == isa.BMode.ROW:
                f.update(b_addr=self._place(rows), b_pitch=1)
            out_vecs = 1 if VecOp(op).is_reduction else nvec
            d_lines = lines_of(dst_type, out_vecs)
            in_place = (not VecOp(op).is_reduction and dst_type == a_type
                        and self.rng.random() < 0.2)
            if in_place:
                f.update(dst_addr=f["a_addr"], dst_pitch=a_pitch)
            else:
                d_pitch = d_lines + int(k.pitch_slack) % 2
                f.update(dst_addr=self._place((rows - 1) * d_pitch + d_lines), dst_pitch=d_pitch)
            if min(f.get("a_addr", 0), f.get("b_addr", 0), f["dst_addr"]) < 0:
                return None
            f.update(release_a=int(k.release),
                     release_b=int(k.release) if b_mode != isa.BMode.SCALAR else 0,
                     lock_readers=int(k.lock))
            return "VECTOR", f
        return "SYNC", dict(target_queue=int(self.rng.integers(0, 4)))

    def _legalize(self, mnemonic: str, f: dict) -> dict | None:
        """Adjust overwrite-control use to the rules in the module docstring; None: drop."""
        cfg = self.cfg
        acc = sem.access(cfg, mnemonic, f)
        # Releases only where they are ordered after the lock they consume.
        for name, span in (("release_src", acc.reads[0] if acc.reads else None),
                           ("release_a", acc.reads[0] if acc.reads else None),
                           ("release_b", acc.reads[1] if len(acc.reads) > 1 else None)):
            if f.get(name) and (span is None or not self.ow.releasable(span)):
                f[name] = 0
        if f.get("release_a") and f.get("release_b"):    # two releases of one region
            shared = set(self.ow.regions(acc.reads[0])) & set(self.ow.regions(acc.reads[1]))
            if any(self.ow.pending[r] < 2 for r in shared):
                f["release_b"] = 0
        acc = sem.access(cfg, mnemonic, f)
        if acc.write is not None and not self.ow.writable(acc.write):
            return None
        return f

    def _queue(self, mnemonic: str, f: dict) -> isa.Queue:
        if mnemonic == "SYNC":
            return isa.Queue(f["target_queue"])
        return isa.BY_MNEMONIC[mnemonic].queue

    def _push(self, mnemonic: str, f: dict, note: str = "") -> None:
        """Append to the sequential program, with the fences that ordering needs."""
        acc = sem.access(self.cfg, mnemonic, f)
        reads, writes = self.footprint.of(mnemonic, f)
        queue = self._queue(mnemonic, f)
        fence = acc.lock_readers > 0 and acc.write is not None
        if self.strict and acc.write is not None and (
                set(self.ow.regions(acc.write)) & self.ow.released_since_fence):
            fence = True
        if self.fences and any(q != queue and (reads & w or writes & (r | w))
                               for q, r, w in self.since_fence):
            fence = True
        if fence:
            self.fence()
        self.seq.append((mnemonic, f, note))
        self.since_fence.append((queue, reads, writes))
        self.ow.apply(acc)
        if acc.write is not None:
            self.written.update(acc.write.lines())
            self.recent = (self.recent + [acc.write])[-6:]
        if mnemonic == "MATMUL":
            first = f["acc_addr"]
            self.acc_defined[first:first + f["n_tiles"] * f["rows"]] = True

    def fence(self) -> None:
        if self.seq and self.seq[-1] == "FENCE":
            return
        self.seq.append("FENCE")
        self.since_fence = []
        self.ow.released_since_fence = set()

    # ---- the program --------------------------------------------------------------------
    def build(self) -> RandomProgram:
        cfg, lb = self.cfg, self.lb
        length = int(self.knobs.length)
        # Preamble: the whole scratchpad from random bytes of the data area.
        self._push("DMA_LOAD", self._fields("DMA_LOAD", dict(
            dram_addr=self.data[0], dram_stride=lb, rows=cfg.spad_lines, row_bytes=lb,
            spad_addr=0, spad_pitch=1)), "preamble: the whole scratchpad")
        self.fence()
        self.written.clear()
        if self.kind != "none":
            self.illegal_at = int(self.rng.integers(0, length + 1))
        body = 0
        attempts = 0
        while body < length and attempts < 20 * length:
            attempts += 1
            if body == self.illegal_at and self._illegal():
                self.illegal_at = -2          # placed
                body += 1
                if self.kind == "deadlock":
                    break                     # the blocked instruction is the last one
                continue
            if not (self.strict or self.fences) and self.rng.random() < 0.04:
                body += self._overwrite_wait()
                continue
            drawn = self._draw()
            if drawn is None:
                continue
            mnemonic, given = drawn
            f = self._fields(mnemonic, given)
            if mnemonic != "SYNC":
                if sem.check(cfg, mnemonic, f, self.window()) is not None:
                    continue
                legal = self._legalize(mnemonic, f)
                if legal is None:
                    continue
                f = legal
            follow = self.follow if mnemonic == "MATMUL" else 0
            self._push(mnemonic, f)
            body += 1
            if follow and body < length and body != self.illegal_at:
                follower = self._follower(f, follow)
                if follower is not None:
                    self._push("MATMUL", follower, "follows the MATMUL before it: "
                               + ("reads what it emits" if follow == 1 else "accumulates"))
                    body += 1
        if self.illegal_at >= 0 and not self._illegal():
            self.kind = "none"               # nothing illegal could be placed: a legal program
        self._epilogue()
        return self.assemble(list(self.seq))

    def _follower(self, first: dict, mode: int) -> dict | None:
        """A legal MATMUL to place right behind *first* in the matrix queue (the sync pass puts
        no semaphore between two instructions of one queue, so the matrix engine holds both
        at once) that depends on it: mode 1 reads, as A or as B, lines *first* emits (the
        engine's read-after-write wait), mode 2 accumulates onto *first*'s accumulator rows
        (the matrix unit's in-order accumulation). None: none fitted in a few draws."""
        cfg = self.cfg
        if mode == 1 and not first["emit"]:
            return None
        written = set(sem.access(cfg, "MATMUL", first).write.lines()) if mode == 1 else set()
        for _ in range(4):
            drawn = self._draw(kind=2)
            if drawn is None:
                continue
            f = self._fields("MATMUL", drawn[1])
            if mode == 1:
                role = "a_addr" if self.rng.random() < 0.5 else "b_addr"
                f[role] = max(0, first["dst_addr"] - int(self.rng.integers(0, 3)))
            else:
                f.update(rows=first["rows"], n_tiles=first["n_tiles"],
                         acc_addr=first["acc_addr"], accumulate=1)
            if sem.check(cfg, "MATMUL", f) is not None:
                continue
            acc = sem.access(cfg, "MATMUL", f)
            if mode == 1 and not written & {ln for span in acc.reads for ln in span.lines()}:
                continue
            legal = self._legalize("MATMUL", f)
            if legal is not None:
                return legal
        return None

    def _overwrite_wait(self) -> int:
        """A pattern that makes the RTL hold a write for a release (OW_WAITS): a locking load
        fills half a region, a store reads that half back with its last-use release, and a
        VECTOR that depends only on the load (it reads one of its lines) writes the other half
        while the store may still be reading. In program order the release comes first, so the
        model sees a legal program; on the RTL the write waits. Returns instructions added."""
        cfg, lb = self.cfg, self.lb
        half = cfg.spad_region_lines // 2
        free = [r for r in range(cfg.spad_regions) if self.ow.pending[r] == 0]
        if not free or half < 1:
            return 0
        first = int(self.rng.choice(free)) * cfg.spad_region_lines
        load = self._fields("DMA_LOAD", dict(
            dram_addr=self._dram_addr(half * lb, 0), dram_stride=lb, rows=half, row_bytes=lb,
            spad_addr=first, spad_pitch=1, lock_readers=1))
        store = self._fields("DMA_STORE", dict(
            dram_addr=self._dram_addr(half * lb, 0), dram_stride=lb, rows=half, row_bytes=lb,
            spad_addr=first, spad_pitch=1, release_src=1))
        copy = self._fields("VECTOR", dict(
            op=int(VecOp.COPY), b_mode=int(isa.BMode.SCALAR), a_addr=first, a_pitch=0,
            a_type=int(isa.ElemType.INT32), dst_addr=first + half, dst_pitch=1,
            dst_type=int(isa.ElemType.INT32), rows=half, row_len=cfg.vector_lanes))
        for mnemonic, f in (("DMA_LOAD", load), ("DMA_STORE", store), ("VECTOR", copy)):
            if sem.check(cfg, mnemonic, f, self.window()) is not None:
                return 0
        self._push("DMA_LOAD", load, "overwrite wait: lock half a region")
        self._push("DMA_STORE", store, "overwrite wait: read it back, last use")
        self._push("VECTOR", copy, "overwrite wait: write the other half")
        return 3

    def window(self) -> tuple[int, int]:
        return self.base, self.prog_base + PROGRAM_BYTES - self.base

    def _epilogue(self) -> None:
        """Store every scratchpad line written since the preamble (runs of lines)."""
        lines = sorted(self.written)
        runs: list[tuple[int, int]] = []
        for line in lines:
            if runs and line == runs[-1][1]:
                runs[-1] = (runs[-1][0], line + 1)
            else:
                runs.append((line, line + 1))
        self.fence()
        for first, end in runs:
            self.seq.append(("DMA_STORE", self._fields("DMA_STORE", dict(
                dram_addr=self.out[0] + first * self.lb, dram_stride=self.lb, rows=end - first,
                row_bytes=self.lb, spad_addr=first, spad_pitch=1)), "epilogue: written lines"))

    # ---- deliberately illegal instructions ----------------------------------------------
    def _illegal(self) -> bool:
        """Place the program's one illegal instruction; False if this kind cannot go here.

        It is placed as a raw word without semaphores (its fields may be beyond what
        npu_model.semantics can describe); where its verdict depends on order (overwrite
        control, deadlock) a fence before it completes everything earlier."""
        kind, cfg = self.kind, self.cfg
        if kind in ("opcode", "reserved_bits"):
            return self._raw(self._bad_word(kind), f"illegal: {kind}")
        if kind == "prog_align":          # START at a PROG_BASE that is not a whole word
            self.prog_offset = int(self.rng.integers(1, isa.INSN_BYTES // 4)) * 4
            return True
        if kind == "sem_overflow":
            self.seq.append(("OVERFLOW", {}, "illegal: 256 signals of one semaphore"))
            return True
        # Where the kind can be a MATMUL's, half the programs make it one, right behind a legal
        # MATMUL: the matrix engine takes it while the legal one runs and must report its error
        # only after that one retired (errors in program order).
        matmul = kind in _KIND_CODE and kind != "dram_range" and \
            bool(self.knobs.matmul_before_illegal)
        for _ in range(50):
            drawn = self._draw(kind=2 if matmul else None)
            if drawn is None or drawn[0] == "SYNC":
                continue
            mnemonic, given = drawn
            f = self._fields(mnemonic, given)
            if sem.check(cfg, mnemonic, f, self.window()) is not None:
                continue
            # One rule broken at a time: no overwrite control besides the one under test.
            f.update({name: 0 for name in ("lock_readers", "release_src", "release_a",
                                           "release_b") if name in f})
            if kind == "deadlock":
                self.fence()
                word = isa.with_semaphores(isa.encode(mnemonic, **f), waits=[DEADLOCK_SEM])
                return self._raw(word, "illegal: waits on a semaphore nobody signals")
            if kind in ("ow_violation", "bad_release"):
                if mnemonic != ("DMA_LOAD" if kind == "ow_violation" else "DMA_STORE"):
                    continue
                locked = [r for r in range(cfg.spad_regions) if self.ow.pending[r] > 0]
                if kind == "ow_violation" and not locked:
                    self._lock_region()
                    continue
                free = [r for r in range(cfg.spad_regions) if self.ow.pending[r] == 0]
                if kind == "bad_release" and not free:
                    continue
                region = int(self.rng.choice(locked if kind == "ow_violation" else free))
                row_bytes = min(f["row_bytes"], self.lb)
                f.update(spad_addr=region * cfg.spad_region_lines, rows=1, row_bytes=row_bytes)
                if kind == "ow_violation":
                    f.update(pad_rows=1, pad_bytes=row_bytes, lock_readers=0)
                else:
                    f.update(release_src=1)
                # Fenced on both sides: a release running beside it (one later in program
                # order, say) would decide the verdict by timing.
                self.fence()
                self._raw(isa.encode(mnemonic, **f), f"illegal: {kind}")
                self.fence()
                return True
            if kind == "field":
                name = {"DMA_LOAD": "pad_rows", "DMA_STORE": "row_bytes", "MATMUL": "k_tiles",
                        "VECTOR": str(self.rng.choice(["op", "sat", "rows", "row_len",
                                                       "a_type", "b_mode"]))}[mnemonic]
                f[name] = {"op": int(self.rng.integers(9, 16)), "sat": 3, "a_type": 3,
                           "b_mode": 3}.get(name, 0)
            elif kind == "spad_range":
                key = {"DMA_LOAD": "spad_addr", "DMA_STORE": "spad_addr", "MATMUL": "b_addr",
                       "VECTOR": "dst_addr"}[mnemonic]
                f[key] = cfg.spad_lines - int(self.rng.integers(0, 2))
            elif kind == "acc_range":
                if mnemonic != "MATMUL":
                    continue
                f["acc_addr"] = cfg.acc_lines - int(self.rng.integers(0, f["rows"]))
            elif kind == "operand_overlap":
                if mnemonic == "MATMUL":
                    f.update(emit=1, dst_pitch=max(f["dst_pitch"], 1),
                             dst_addr=f["a_addr"] + int(self.rng.integers(0, f["a_pitch"] + 1)))
                elif mnemonic == "VECTOR":
                    f.update(dst_addr=f["a_addr"] + int(self.rng.integers(1, 3)))
                else:
                    continue
            elif kind == "dram_range":
                if mnemonic not in ("DMA_LOAD", "DMA_STORE"):
                    continue
                base, size = self.window()
                f["dram_addr"] = (base - int(self.rng.integers(1, 64)) if base and
                                  self.rng.random() < 0.5 else
                                  base + size - int(self.rng.integers(0, f["row_bytes"])))
            try:
                fault = sem.check(cfg, mnemonic, f, self.window())
            except ValueError:          # an enum value beyond the ISA's: BAD_FIELD below
                fault = sem.Fault(ErrorCode.BAD_FIELD)
            # The rule under test, not an earlier check (a range before the aliasing rule).
            if fault is None or fault.code != _KIND_CODE.get(kind, fault.code):
                continue
            if matmul:
                self._legal_matmul("a legal MATMUL right before the illegal one")
            return self._raw(isa.encode(mnemonic, **f), f"illegal: {kind}")
        return False

    def _legal_matmul(self, note: str) -> None:
        """Push a legal MATMUL (a few draws; nothing if none fits)."""
        for _ in range(10):
            drawn = self._draw(kind=2)
            if drawn is None:
                continue
            f = self._fields("MATMUL", drawn[1])
            if sem.check(self.cfg, "MATMUL", f) is not None:
                continue
            legal = self._legalize("MATMUL", f)
            if legal is not None:
                self._push("MATMUL", legal, note)
                return

    def _raw(self, word: int, note: str) -> bool:
        self.seq.append(("RAW", {"word": word}, note))
        return True

    def _lock_region(self) -> None:
        """A locking DMA_LOAD (so that an OW_VIOLATION program has a locked region)."""
        cfg = self.cfg
        region = int(self.rng.integers(0, cfg.spad_regions))
        f = self._fields("DMA_LOAD", dict(
            dram_addr=self.data[0], dram_stride=self.lb, rows=1, row_bytes=self.lb,
            spad_addr=region * cfg.spad_region_lines, spad_pitch=1, lock_readers=1))
        if self.ow.writable(sem.access(cfg, "DMA_LOAD", f).write):
            self._push("DMA_LOAD", f, "locks a region")

    def _bad_word(self, kind: str) -> int:
        if kind == "opcode":
            used = {c.opcode for c in isa.INSTRUCTIONS}
            return int(self.rng.choice([op for op in range(1 << isa.OPCODE_BITS)
                                        if op not in used]))
        cls = isa.INSTRUCTIONS[int(self.rng.integers(len(isa.INSTRUCTIONS)))]
        bit = int(self.rng.integers(cls.used_bits, isa.INSN_BITS))
        return isa.encode(cls.mnemonic) | 1 << bit

    # ---- the concurrent program ---------------------------------------------------------
    def assemble(self, seq: list) -> RandomProgram:
        """The concurrent program of the sequential items *seq* (all of this builder's, or a
        subset of them when a failing program is minimized)."""
        cfg = self.cfg
        self.expected = None
        words: list[int] = []
        notes: list[str] = []
        fence_words = [isa.encode("SYNC", target_queue=int(q), signal_mask=1 << FENCE_SEM)
                       for q in (isa.Queue.DMA_IN, isa.Queue.DMA_OUT, isa.Queue.MATRIX,
                                 isa.Queue.VECTOR)]
        fence_words += [isa.encode("NOP", wait_mask=1 << FENCE_SEM)] * 4
        emitter = SyncEmitter(cfg) if not self.fences else None
        # (kind, payload): emitter index, a raw word, or a fence
        layout: list[tuple[str, int, str]] = []
        for item in seq:
            if item == "FENCE":
                layout.append(("fence", 0, "fence"))
                continue
            mnemonic, f, note = item
            if mnemonic == "RAW":
                layout.append(("word", f["word"], note))
            elif mnemonic == "OVERFLOW":
                for _ in range(1 << isa.SEMAPHORE_BITS):
                    layout.append(("word", isa.encode("NOP", signal_mask=1 << DEADLOCK_SEM),
                                   note))
            elif mnemonic == "SYNC" or emitter is None:
                layout.append(("word", isa.encode(mnemonic, **f), note))
            else:
                emitter.emit(mnemonic, note=note, **f)
                layout.append(("insn", len(emitter.insns) - 1, note))
        if emitter is not None:
            self._extra_semaphores(emitter)
        deadlock_word_at = None
        for what, payload, note in layout:
            if what == "fence":
                words += fence_words
                notes += ["fence"] * len(fence_words)
                continue
            if what == "insn":
                assert emitter is not None
                insn = emitter.insns[payload]
                word = isa.with_semaphores(insn.word, insn.waits, insn.signals)
            else:
                word = payload
            if note.startswith("illegal: waits"):
                deadlock_word_at = len(words)
            words.append(word)
            notes.append(note)
        words.append(isa.encode("HALT"))
        notes.append("")
        base, size = self.window()
        if self.kind == "deadlock" and deadlock_word_at is not None:
            # The blocked queue head reports its whole wait mask (docs/isa.md, ERROR_INFO).
            queue = isa.BY_MNEMONIC[isa.decode(words[deadlock_word_at])[0]].queue
            self.expected = Expected(
                ErrorCode.DEADLOCK, self.prog_base + deadlock_word_at * isa.INSN_BYTES,
                1 << int(queue) << 16 | 1 << DEADLOCK_SEM)
        elif self.kind == "sem_overflow":
            self.expected = Expected(ErrorCode.SEM_OVERFLOW, None, 1 << DEADLOCK_SEM)
        code = np.frombuffer(isa.to_bytes(words), dtype=np.uint8)
        if self.prog_base + code.size > base + size:
            raise RuntimeError("random program larger than its window")   # sizes above
        image = np.zeros(base + size, dtype=np.uint8)
        image[self.data[0]:self.data[0] + self.data[1]] = self.data_bytes
        image[self.prog_base:self.prog_base + code.size] = code
        k = self.knobs
        return RandomProgram(
            config=cfg.name, seed=self.seed, words=words, notes=notes, image=image,
            prog_base=self.prog_base + self.prog_offset, window=(base, size),
            outputs={"data": self.data, "spad": self.out}, strict=self.strict,
            fences=self.fences,
            dram_latency=(int(k.lat_min), int(k.lat_min) + int(k.lat_extra)),
            dram_bytes_per_cycle=int(k.bytes_per_cycle), kind=self.kind,
            expected=self.expected, seq=seq, builder=self)

    def _extra_semaphores(self, emitter: SyncEmitter) -> None:
        """Up to three extra producer -> consumer pairs on s12..s14 (never the deadlock
        semaphore in a deadlock program): each consumer comes later in program order than its
        producer, so they only add waits and never deadlock."""
        insns = emitter.insns
        rng = np.random.default_rng(self.seed + 1)     # the same pairs when rebuilt
        sems = [s for s in EXTRA_SEMS if not (self.kind in ("deadlock", "sem_overflow")
                                              and s == DEADLOCK_SEM)]
        for sem_index in sems[:int(self.knobs.extra_sems)]:
            if len(insns) < 3:
                return
            producer = int(rng.integers(1, len(insns) - 1))
            consumer = int(rng.integers(producer + 1, len(insns)))
            insns[producer].signals.add(sem_index)
            insns[consumer].waits.add(sem_index)


def generate(config: str, seed: int, max_insns: int = 24) -> RandomProgram:
    """The random program of (*config*, *seed*)."""
    cfg = load_config(config)
    return _Builder(cfg, seed, max_insns).build()

"""Fault tests of the whole NPU (tb/sv/npu_tb_top.sv): reset in the middle of a run, CTRL
written while the NPU is busy, programs that never halt, and a bench that hangs.

The busy program is a real attention schedule (strategy "mas": DMA-in, the matrix unit and the
vector unit overlap). Every run is scored like the other top-level tests: the scoreboard
compares status, retired count and the output bytes with the instruction-level model, and the
attention output is also compared with the integer golden model. A run's counters are compared
with those of an undisturbed run of the same program: the DRAM model's latency is fixed, so a
run that nothing leaked into takes exactly the same cycles.

Python stays off the per-cycle path: it waits on timers (and samples the engines' busy bits at
a few of them) and on single edges of internal signals (START, the dispatcher's done pulse, the
register block's write strobe), never on every clock.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
import pyuvm
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from firmware_gen import Program
from hwdef import isa, regs
from hwdef.params import VecOp
from hwdef.regs import ErrorCode
from npu_model.executor import ModelError
from runner.attention import check_attention
from scheduler import Workload, build_schedule
from tb.top.attention_env import AttentionTestBase
from tb.top.env import run_on_npu

PERIOD_NS = 10                      # npu_tb_top's ClockPeriodNs
DMA_IN, DMA_OUT, MATRIX, VECTOR = (1 << int(q) for q in (isa.Queue.DMA_IN, isa.Queue.DMA_OUT,
                                                         isa.Queue.MATRIX, isa.Queue.VECTOR))
ALL_THREE = DMA_IN | MATRIX | VECTOR
INSN = isa.INSN_BYTES


class FaultTestBase(AttentionTestBase):
    """An attention schedule as the busy program, and helpers to disturb its runs."""

    def start_of_simulation_phase(self):
        super().start_of_simulation_phase()
        dim = 16 if self.cfg.name == "tiny" else 64
        wl = Workload(seq_q=64, seq_kv=64, head_dim=dim)
        self.q, self.k, self.v = self.random_inputs(wl)
        self.wl = self.calibrated(wl, self.q, self.k, self.v)
        self.sched = build_schedule(self.wl, self.cfg, "mas")
        self.image = self.sched.image(self.q, self.k, self.v)

    def cycle(self) -> int:
        return self.dut.cycle_o.value.to_unsigned()

    def busy_bits(self) -> int:
        return self.dut.u_npu.eng_busy.value.to_unsigned()

    async def read_reg(self, name: str) -> int:
        return await self.bfm.read(regs.BY_NAME[name].offset)

    async def start_busy_program(self, use_model: bool = True) -> int:
        """Load and START the attention program; returns the cycle of the START pulse."""
        await self.start_run(self.image, self.sched.prog_base, {"O": self.sched.output_region()},
                             strict=self.sched.strict, dram_window=(0, self.sched.dram_bytes),
                             use_model=use_model)
        return self.started_at

    async def finish_busy_program(self, reference: dict | None = None,
                                  timeout_cycles: int | None = None):
        """Wait for the attention run, score it (model, golden) and compare its counters with
        *reference* (an undisturbed run's)."""
        report = await self.finish_run(timeout_cycles or self.sched.timeout_cycles)
        st = report.status
        assert st["done"] == 1 and st["error"] == 0, (
            f"stopped with {report.error_code.name} at 0x{report.error_pc:x}")
        check = check_attention(self.sched, report.outputs["O"], self.q, self.k, self.v)
        assert check.mismatches == 0, (f"{check.mismatches} output bytes differ from the golden "
                                       f"model, first at {check.first_mismatch}")
        if reference is not None:
            diff = {n: (v, reference[n]) for n, v in report.counters.items()
                    if v != reference[n]}
            assert not diff, f"counters differ from the undisturbed run (got, want): {diff}"
        return report

    async def reference_run(self, samples: int = 0) -> dict:
        """An undisturbed, scored run after reset: its counters and its START/done cycles;
        with *samples*, the engines' busy bits at that many evenly spaced cycles of the run
        (`self.busy_samples`: (cycle after START, bits), one timer per sample)."""
        await self.reset()
        start_task = self._watch_rise(self.dut.u_npu.start)
        done_task = self._watch_rise(self.dut.u_npu.done)
        await self.start_busy_program()
        self.busy_samples = []
        if samples:
            step = self.sched.prediction.cycles // samples
            for _ in range(samples):
                await Timer(step * PERIOD_NS, unit="ns")
                if done_task.done():
                    break
                self.busy_samples.append((self.cycle() - self.started_at, self.busy_bits()))
        report = await self.finish_busy_program()
        self.ref_start, self.ref_done = start_task.result(), done_task.result()
        self.logger.info("reference run: %d cycles (START at %d, done at %d)",
                         report.counters["CYCLES"], self.ref_start, self.ref_done)
        return dict(report.counters)

    async def start_run(self, *args, **kwargs) -> None:
        start_task = self._watch_rise(self.dut.u_npu.start)
        await super().start_run(*args, **kwargs)
        await Timer(1, unit="ns")
        assert start_task.done(), "START was written but the NPU did not start"
        self.started_at = start_task.result()

    def _watch_rise(self, signal):
        """A task that returns the cycle of *signal*'s next rising edge (one callback)."""
        async def watch():
            await RisingEdge(signal)
            return self.cycle()
        return cocotb.start_soon(watch())

    async def wait_until(self, cycle: int) -> None:
        now = self.cycle()
        if cycle > now:
            await Timer((cycle - now) * PERIOD_NS, unit="ns")


@pyuvm.test()
class ResetMidRunTest(FaultTestBase):
    """rst_ni asserted for a few cycles at several points of an attention run, chosen from the
    busy bits sampled in an undisturbed run (the runs are deterministic): two points where
    DMA-in, the matrix unit and the vector unit are all busy, then the last sampled points
    where DMA-in, matrix and vector are busy; at least one reset with DRAM bursts in flight.
    After each, STATUS, counters and semaphores read zero, and the next run (no further reset)
    is bit-exact against the model and the golden model with exactly the undisturbed run's
    counters. The DRAM model shares rst_ni: its queues of accepted bursts are emptied, and
    start_run defines its memory again."""

    async def run_phase(self):
        self.raise_objection()
        reference = await self.reference_run(samples=64)
        length = self.ref_done - self.ref_start
        every = [c for c, bits in self.busy_samples if bits & ALL_THREE == ALL_THREE]
        assert every, f"DMA-in, matrix and vector never sampled busy together: {self.busy_samples}"
        points = [(every[0], ALL_THREE), (every[len(every) // 2], ALL_THREE)]
        for unit in (DMA_IN, MATRIX, VECTOR):   # the last sample with the unit busy, not taken
            chosen = {c for c, _ in points}
            busy = [c for c, bits in self.busy_samples if bits & unit and c not in chosen]
            assert busy, f"engine 0b{unit:04b} never sampled busy: {self.busy_samples}"
            points.append((busy[-1], unit))
        in_flight = 0
        for at, mask in points:
            started = await self.start_busy_program(use_model=False)
            await self.wait_until(started + at)
            await FallingEdge(self.dut.clk)
            assert self.busy_bits() & mask == mask, (
                f"cycle {self.cycle() - started}: busy 0b{self.busy_bits():04b}, the "
                f"undisturbed run had 0b{mask:04b} busy here")
            at = self.cycle() - started
            pending = self.dram_pending()
            in_flight += pending > 0
            self.logger.info("reset at cycle %d of %d (busy 0b%s, %d DRAM bursts pending)", at,
                             length, self.dut.u_npu.eng_busy.value, pending)
            await self.reset(cycles=3)
            assert self.dram_pending() == 0, "the DRAM model kept bursts across reset"
            assert self.dut.irq_o.value == 0
            status = await self.read_reg("STATUS")
            assert status == 0, f"STATUS 0x{status:x} after reset"
            for name in regs.COUNTERS:
                value = await self.read_reg(name)
                assert value == 0, f"{name} = {value} after reset"
            assert await self.read_reg("SEM_VALUES_LO") == 0
            await self.start_busy_program()
            await self.finish_busy_program(reference)
        assert in_flight, "no reset hit a DRAM burst in flight"
        self.drop_objection()

    def dram_pending(self) -> int:
        """Read and write bursts the DRAM model holds (stats_o.rd_pending + wr_pending, the two
        last 32-bit fields of npu_dram_model_pkg::dram_stats_t)."""
        stats = self.dut.dram_stats.value.to_unsigned()
        assert stats >> 224 == self.dut.dram_rd_bytes_o.value.to_unsigned(), "stats layout"
        return (stats & 0xFFFFFFFF) + (stats >> 32 & 0xFFFFFFFF)


@pyuvm.test()
class StartWhileBusyTest(FaultTestBase):
    """CTRL written with START while the NPU runs (docs/isa.md, CTRL): ignored as a whole.
    Writes with START alone (IRQ_EN off), START|STRICT|IRQ_EN and START|IRQ_EN at several points
    of an attention run leave it bit-exact with the undisturbed run's counters, its interrupt
    still raised and no second run. Then a START|IRQ_EN write swept over the last cycles of the
    run, one of them in the very cycle the NPU finishes: DONE and the interrupt must not be
    lost, and nothing restarts."""

    async def run_phase(self):
        self.raise_objection()
        reference = await self.reference_run()
        length = self.ref_done - self.ref_start
        ctrl = regs.BY_NAME["CTRL"].offset
        strict = regs.CTRL_STRICT if self.sched.strict else 0
        values = [regs.CTRL_START, regs.CTRL_START | regs.CTRL_IRQ_EN | (regs.CTRL_STRICT ^ strict),
                  regs.CTRL_START | regs.CTRL_IRQ_EN]
        landed = []
        for index, frac in enumerate((0.1, 0.3, 0.5, 0.7, 0.9)):
            # From reset each time: state that START does not clear (arbiter pointers, for
            # one) changes the timing of a second run, not its results.
            await self.reset()
            started = await self.start_busy_program()
            await self.wait_until(started + int(frac * length))
            call = self.cycle()
            write = self._watch_rise(self.dut.u_npu.u_ctrl_regs.do_write)
            await self.bfm.write(ctrl, values[index % len(values)])
            assert write.done()
            landed.append(write.result() - call)
            assert self.dut.u_npu.busy.value == 1, "the write was not made while busy"
            await self.finish_busy_program(reference, timeout_cycles=4 * length)
            await self.assert_no_second_run(reference)
        # The write lands a fixed number of cycles after the call (the BFM's handshake).
        latency = max(set(landed), key=landed.count)
        self.logger.info("a CTRL write lands %d cycles after the call (%s)", latency, landed)
        hits = 0
        for before in range(4, -1, -1):     # land 4, 3, 2, 1, 0 cycles before done
            await self.reset()
            started = await self.start_busy_program()
            done_task = self._watch_rise(self.dut.u_npu.done)
            write = self._watch_rise(self.dut.u_npu.u_ctrl_regs.do_write)
            await self.wait_until(started + (self.ref_done - self.ref_start) - before - latency)
            await self.bfm.write(ctrl, regs.CTRL_START | regs.CTRL_IRQ_EN | strict)
            await self.finish_busy_program(reference, timeout_cycles=4 * length)
            at, done = write.result(), done_task.result()
            self.logger.info("START written %d cycles before done", done - at)
            assert at <= done, "the sweep wrote START after the run ended"
            hits += at == done
            await self.assert_no_second_run(reference)
        assert hits > 0, "no START write landed in the cycle the NPU finished"
        self.drop_objection()

    async def assert_no_second_run(self, reference: dict) -> None:
        await Timer(200 * PERIOD_NS, unit="ns")
        status = regs.status_fields(await self.read_reg("STATUS"))
        assert status["busy"] == 0 and status["done"] == 1, f"after the run: {status}"
        assert await self.read_reg("INSN_RETIRED") == reference["INSN_RETIRED"]


# ---- programs that never halt -------------------------------------------------------------------
class NoHaltTest(FaultTestBase):
    def sled(self, size: int, prog_base: int, halt_at: int | None = None) -> np.ndarray:
        """An image of *size* bytes: a NOP at *prog_base* followed by zero words, which decode
        as NOPs too (opcode 0, no fields); with *halt_at*, a HALT there."""
        image = np.zeros(size, dtype=np.uint8)
        prog = Program()
        prog.nop()
        code = np.frombuffer(prog.to_bytes(), dtype=np.uint8)
        image[prog_base:prog_base + code.size] = code
        assert isa.decode(0)[0] == "NOP"
        if halt_at is not None:
            prog = Program()
            prog.halt()
            code = np.frombuffer(prog.to_bytes(), dtype=np.uint8)
            image[halt_at:halt_at + code.size] = code
        return image


@pyuvm.test()
class RunOffWindowTest(NoHaltTest):
    """A program without HALT runs through zero words (NOPs) to the end of its DRAM window:
    the fetch stops with DRAM_RANGE at the window's end, after retiring every instruction
    before it. The window area first holds garbage from an earlier run (which must not leak
    into this one), and that run's HALT leaves fetch bursts in flight (which must not cost the
    next run its fetch credits: it hung until the watchdog before the fix in npu_fetch.sv).
    Window ends are multiples of the fetch burst (FetchBurstBeats lines): the RTL fetches whole
    bursts only, the model any word inside the window (see the report of issue 11)."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        base = 0x4000
        for size in (0x1100, 0x800, 0x2000):
            garbage = np.zeros(base + 0x2000, dtype=np.uint8)
            garbage[base:base + 0x2000] = self.rng.integers(1, 256, 0x2000)
            halt = Program()
            halt.halt()
            garbage[:INSN] = np.frombuffer(halt.to_bytes(), dtype=np.uint8)
            await self.run_image(garbage, 0, {})     # leaves garbage in DRAM
            report = await self.run_image(self.sled(base + size, base), base, {},
                                          dram_window=(base, size))
            end = base + size // INSN * INSN
            assert report.status["error"] == 1 and report.error_code == ErrorCode.DRAM_RANGE, (
                report.status)
            assert report.error_pc == end and report.error_info == end, hex(report.error_pc)
            assert report.counters["INSN_RETIRED"] == (end - base) // INSN
        self.drop_objection()


@pyuvm.test()
class BeyondPhysicalDramTest(NoHaltTest):
    """The DRAM window reaches past the end of the DRAM model (DRAM_SIZE larger than the
    memory): a program without HALT fetches past the physical end, the DRAM model answers
    SLVERR (tb/sv/npu_dram_model.sv), and the NPU stops with AXI_ERROR at the first word past
    the end (pc and info = that address). The sequential model knows no physical size (it
    would report DRAM_RANGE at the window end), so the expected verdict is given here, like
    the deadlock tests'. A program whose HALT is the last physical word finishes cleanly even
    though fetch may read ahead past the end (fetch is speculative, docs/isa.md)."""

    async def run_phase(self):
        self.raise_objection()
        mem = self.dram_size
        base, size = mem - 0x400, 0x2000
        for latency in (1, 20):
            await self.reset(lat_min=latency)
            report = await self.run_image(self.sled(mem, base), base, {},
                                          dram_window=(base, size),
                                          model_error=ModelError(ErrorCode.AXI_ERROR, mem, mem))
            assert report.error_code == ErrorCode.AXI_ERROR
            assert report.error_pc == mem
            assert report.counters["INSN_RETIRED"] == 0x400 // INSN
            report = await self.run_image(self.sled(mem, base, halt_at=mem - INSN), base, {},
                                          dram_window=(base, size))
            assert report.status["done"] == 1 and report.status["error"] == 0, report.status
            assert report.counters["INSN_RETIRED"] == 0x400 // INSN
        self.drop_objection()


@pyuvm.test()
class LocksClearedByStartTest(FaultTestBase):
    """A program may end with a scratchpad region still awaiting reads (locked for two readers,
    read once). The next program, started without a reset as a host runs programs back to
    back, writes that region: it must run as the model says (every run starts unlocked). Before
    START cleared the counts, the write waited for a release that never came (DEADLOCK) in
    relaxed mode and was an OW_VIOLATION in strict mode."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        lb = self.cfg.line_bytes
        data = np.zeros(0x3000, dtype=np.uint8)
        data[0x1000:0x1000 + 4 * lb] = self.rng.integers(0, 256, 4 * lb)
        for strict in (False, True):
            locker = Program(0x2000)
            locker.dma_load(dram_addr=0x1000, dram_stride=lb, rows=2, row_bytes=lb,
                            spad_addr=0, spad_pitch=1, lock_readers=2, signal=[0])
            locker.dma_store(wait=[0], dram_addr=0x1800, dram_stride=lb, rows=2, row_bytes=lb,
                             spad_addr=0, spad_pitch=1, release_src=1)
            locker.halt()
            image = data.copy()
            image[0x2000:0x2000 + len(locker) * INSN] = np.frombuffer(locker.to_bytes(),
                                                                      dtype=np.uint8)
            await self.run_image(image, 0x2000, {"out": (0x1800, 2 * lb)}, strict=strict,
                                 dram_window=(0, 0x3000), watchdog=2000)
            writer = Program(0x2000)
            writer.dma_load(dram_addr=0x1000 + 2 * lb, dram_stride=lb, rows=2, row_bytes=lb,
                            spad_addr=0, spad_pitch=1, signal=[0])
            writer.dma_store(wait=[0], dram_addr=0x1800, dram_stride=lb, rows=2, row_bytes=lb,
                             spad_addr=0, spad_pitch=1)
            writer.halt()
            image = data.copy()
            image[0x2000:0x2000 + len(writer) * INSN] = np.frombuffer(writer.to_bytes(),
                                                                      dtype=np.uint8)
            report = await self.run_image(image, 0x2000, {"out": (0x1800, 2 * lb)},
                                          strict=strict, dram_window=(0, 0x3000), watchdog=2000)
            assert report.status["done"] == 1 and report.status["error"] == 0, (
                strict, report.status)
        self.drop_objection()


@pyuvm.test()
class ErrorDrainsHeldWritesTest(FaultTestBase):
    """An error stops the program while another engine's write waits for a release that is
    queued behind the failing instruction (found by the random-program soak): the NPU reports
    the error, the held write is dropped so the engine drains, and the NPU leaves BUSY; the
    next program (no reset) runs bit-exact. Before the fix the vector engine stayed busy for
    ever and no program could start again without a reset."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        lanes = self.cfg.vector_lanes
        region = self.cfg.spad_region_lines
        data = np.zeros(0x3000, dtype=np.uint8)
        data[0x1000:0x1400] = self.rng.integers(0, 256, 0x400)
        prog = Program(0x2000)
        prog.vector(op=VecOp.COPY, b_mode=isa.BMode.SCALAR, a_addr=0, a_pitch=1,
                    dst_addr=region, dst_pitch=1, rows=1, row_len=lanes, lock_readers=1,
                    signal=[0])
        bad = prog.matmul(wait=[0], a_addr=0, a_pitch=1, rows=1, b_addr=0, b_pitch=1,
                          k_tiles=0, n_tiles=1, acc_addr=0)
        prog.matmul(a_addr=region, a_pitch=1, rows=1, b_addr=0, b_pitch=1, k_tiles=1,
                    n_tiles=1, acc_addr=0, release_a=1)          # never runs: behind the error
        prog.vector(op=VecOp.COPY, b_mode=isa.BMode.SCALAR, a_addr=0, a_pitch=1,
                    dst_addr=region + 1, dst_pitch=1, rows=1, row_len=lanes)   # held
        prog.halt()
        image = data.copy()
        image[0x2000:0x2000 + len(prog) * INSN] = np.frombuffer(prog.to_bytes(), dtype=np.uint8)
        report = await self.run_image(image, 0x2000, {}, dram_window=(0, 0x3000),
                                      watchdog=2000, timeout_cycles=50_000)
        assert (report.error_code == ErrorCode.BAD_FIELD
                and report.error_pc == 0x2000 + bad * INSN), (
            report.status, hex(report.error_pc))
        await self.wait_idle(max_cycles=2000)     # the held write was dropped: not BUSY
        clean = Program(0x2000)
        clean.dma_load(dram_addr=0x1000, dram_stride=self.cfg.line_bytes, rows=4,
                       row_bytes=self.cfg.line_bytes, spad_addr=region, spad_pitch=1, signal=[0])
        clean.dma_store(wait=[0], dram_addr=0x1800, dram_stride=self.cfg.line_bytes, rows=4,
                        row_bytes=self.cfg.line_bytes, spad_addr=region, spad_pitch=1)
        clean.halt()
        image = data.copy()
        image[0x2000:0x2000 + len(clean) * INSN] = np.frombuffer(clean.to_bytes(),
                                                                 dtype=np.uint8)
        report = await self.run_image(image, 0x2000, {"out": (0x1800, 4 * self.cfg.line_bytes)},
                                      dram_window=(0, 0x3000), watchdog=2000)
        assert report.status["done"] == 1 and report.status["error"] == 0, report.status
        self.drop_objection()


@pyuvm.test()
class HangTimeoutTest(FaultTestBase):
    """A bench whose NPU never finishes fails with a clear message in bounded time: a program
    waiting forever on a semaphore with the watchdog at its maximum makes the completion
    monitor give up after timeout_cycles, naming STATUS (busy) and the busy engines. Reset
    then stops the hung NPU, and the next run is bit-exact. (The watchdog's DEADLOCK verdict
    is DeadlockTest in test_npu_top.py.)"""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        prog = Program()
        prog.vector(wait=[5], op=VecOp.COPY, a_addr=0,
                    a_pitch=1, dst_addr=16, dst_pitch=1, rows=1, row_len=4)
        prog.halt()
        image = np.frombuffer(prog.to_bytes(), dtype=np.uint8).copy()
        timeout = 20_000
        start = self.cycle()
        try:
            await self.run_image(image, 0, {}, watchdog=0xFFFFFFFF, timeout_cycles=timeout)
        except AssertionError as err:
            message = str(err)
        else:
            raise AssertionError("the hung run completed")
        waited = self.cycle() - start
        self.logger.info("monitor gave up after %d cycles: %s", waited, message)
        assert f"did not interrupt within {timeout} cycles" in message, message
        assert "'busy': 1" in message, message
        assert waited < timeout + 1000, waited
        assert self.dut.u_npu.busy.value == 1, "the NPU should still be hung"
        await self.reset(cycles=3)
        await self.start_busy_program()
        await self.finish_busy_program()
        self.drop_objection()


# ---- pytest launchers ----------------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_faults(config):
    run_on_npu(__name__, config)

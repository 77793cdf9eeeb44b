"""pyuvm environment of the NPU top level (tb/sv/npu_tb_top.sv).

Structure (pyuvm's TinyALU example, OpenTitan's DV layout):

* `HostAgent` — sequencer + `HostDriver`, which turns `RegItem`s into AXI4-Lite transactions on
  the control port through `AxiLiteHostBfm` (Python is on the clock only during a register
  access: a handful of cycles).
* `DramAgent` — preloads and reads back DRAM through the simulation model's back door
  (`tb/harness/dram.py`): whole buffers move in one clock cycle.
* `CompletionMonitor` — waits for the interrupt (no per-cycle Python), then reads STATUS, the
  error registers and every counter into a `RunReport`, published once the test has attached
  the DRAM outputs.
* `NpuScoreboard` — compares each `RunReport` and the DRAM regions a test declares as outputs
  against `npu_model/executor.NpuModel`, which executed the same program on its own.
* `RunProgramSeq` — the host's program launch: PROG_BASE, DRAM window, watchdog, CTRL.START.

A test builds a program with firmware_gen, calls `env.run(...)`, and gets the report back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
import numpy as np
import pyuvm
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge, Timer

from firmware_gen import Program
from hwdef import HwConfig, regs
from npu_model.executor import ModelError, NpuModel, RunResult
from runner.scoring import error_mismatch
from tb.harness.cocotb_utils import built_params, npu_config
from tb.harness.dram import DramBackdoor

# The bench: npu_top + the simulation-only DRAM model, clock generated in SystemVerilog.
SV = Path(__file__).resolve().parents[1] / "sv"
EXTRA_SOURCES = [SV / "npu_dram_model.sv", SV / "npu_tb_top.sv"]
TIMING_ARGS = ["--timing", "-CFLAGS", "-std=c++20 -fcoroutines"]
# The internals the environment touches (define_state, hang reports): the runner's builds make
# only these public (tb/harness/sim.py `public_only`); tests that reach further in use the
# fully public build.
PUBLIC_ONLY = SV / "npu_tb_top.vlt"


def run_on_npu(test_module: str, config: str, run_tag: str = "", **env: str) -> None:
    """pytest side of every top-level test: build npu_tb_top for *config* once (one build
    shared by all top-level modules) and run the cocotb tests of *test_module* on it."""
    from tb.harness.sim import run_cocotb
    run_cocotb("npu_tb_top", test_module=test_module, config=config,
               extra_sources=EXTRA_SOURCES, build_args=TIMING_ARGS, run_tag=run_tag,
               extra_env=env)


# ----------------------------------------------------------------------------------------------
# AXI4-Lite host bus functional model (the project's own; cocotbext-axi checks it elsewhere)
# ----------------------------------------------------------------------------------------------
class AxiLiteError(RuntimeError):
    pass


class AxiLiteHostBfm:
    def __init__(self, dut, clk, prefix: str = "s_axil_", timeout_cycles: int = 1000):
        self.dut, self.clk, self.prefix, self.timeout = dut, clk, prefix, timeout_cycles
        for name in ("awvalid_i", "wvalid_i", "bready_i", "arvalid_i", "rready_i"):
            self._sig(name).value = 0
        self._sig("wstrb_i").value = 0xF
        self.lock = cocotb.triggers.Lock()

    def _sig(self, name: str):
        return getattr(self.dut, self.prefix + name)

    async def _wait(self, name: str) -> None:
        for _ in range(self.timeout):
            await ReadOnly()
            if self._sig(name).value == 1:
                return
            await RisingEdge(self.clk)
        raise AxiLiteError(f"AXI4-Lite: no {name} within {self.timeout} cycles")

    async def write(self, addr: int, data: int) -> None:
        async with self.lock:
            await RisingEdge(self.clk)
            self._sig("awaddr_i").value = addr
            self._sig("wdata_i").value = data & 0xFFFFFFFF
            self._sig("awvalid_i").value = 1
            self._sig("wvalid_i").value = 1
            aw_done = w_done = False
            for _ in range(self.timeout):
                await ReadOnly()
                aw_done |= self._sig("awready_o").value == 1
                w_done |= self._sig("wready_o").value == 1
                await RisingEdge(self.clk)
                if aw_done:
                    self._sig("awvalid_i").value = 0
                if w_done:
                    self._sig("wvalid_i").value = 0
                if aw_done and w_done:
                    break
            else:
                raise AxiLiteError(f"AXI4-Lite write 0x{addr:x}: address/data not accepted")
            self._sig("bready_i").value = 1
            await self._wait("bvalid_o")
            resp = self._sig("bresp_o").value.to_unsigned()
            await RisingEdge(self.clk)
            self._sig("bready_i").value = 0
            if resp != 0:
                raise AxiLiteError(f"AXI4-Lite write 0x{addr:x}: BRESP {resp}")

    async def read(self, addr: int) -> int:
        async with self.lock:
            await RisingEdge(self.clk)
            self._sig("araddr_i").value = addr
            self._sig("arvalid_i").value = 1
            await self._wait("arready_o")
            await RisingEdge(self.clk)
            self._sig("arvalid_i").value = 0
            self._sig("rready_i").value = 1
            await self._wait("rvalid_o")
            data = self._sig("rdata_o").value.to_unsigned()
            resp = self._sig("rresp_o").value.to_unsigned()
            await RisingEdge(self.clk)
            self._sig("rready_i").value = 0
            if resp != 0:
                raise AxiLiteError(f"AXI4-Lite read 0x{addr:x}: RRESP {resp}")
            return data


# ----------------------------------------------------------------------------------------------
# Host agent
# ----------------------------------------------------------------------------------------------
class RegItem(pyuvm.uvm_sequence_item):
    def __init__(self, name: str, reg: str, write: bool = False, data: int = 0):
        super().__init__(name)
        self.reg, self.write, self.data = reg, write, data

    def __str__(self) -> str:
        return f"{'W' if self.write else 'R'} {self.reg} 0x{self.data:08x}"


class HostDriver(pyuvm.uvm_driver):
    def build_phase(self):
        self.bfm: AxiLiteHostBfm = pyuvm.ConfigDB().get(self, "", "HOST_BFM")

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            offset = regs.BY_NAME[item.reg].offset
            if item.write:
                await self.bfm.write(offset, item.data)
            else:
                item.data = await self.bfm.read(offset)
            self.seq_item_port.item_done()


class HostAgent(pyuvm.uvm_agent):
    def build_phase(self):
        self.seqr = pyuvm.uvm_sequencer("seqr", self)
        self.driver = HostDriver("driver", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)


class RegSeq(pyuvm.uvm_sequence):
    """A list of register accesses; read results are kept in `self.results`."""

    def __init__(self, name: str, accesses: list[tuple[str, bool, int]]):
        super().__init__(name)
        self.accesses = accesses
        self.results: dict[str, int] = {}

    async def body(self):
        for reg, write, data in self.accesses:
            item = RegItem(f"{reg}", reg, write, data)
            await self.start_item(item)
            await self.finish_item(item)
            if not write:
                self.results[reg] = item.data


class RunProgramSeq(RegSeq):
    def __init__(self, name: str, prog_base: int, dram_base: int, dram_size: int,
                 watchdog: int = 0, strict: bool = False):
        ctrl = regs.CTRL_START | regs.CTRL_IRQ_EN | (regs.CTRL_STRICT if strict else 0)
        super().__init__(name, [
            ("PROG_BASE", True, prog_base), ("DRAM_BASE", True, dram_base),
            ("DRAM_SIZE", True, dram_size), ("WATCHDOG", True, watchdog),
            ("CTRL", True, ctrl)])


# ----------------------------------------------------------------------------------------------
# Completion monitor and report
# ----------------------------------------------------------------------------------------------
@dataclass
class RunReport:
    status: dict
    error_pc: int
    error_info: int
    counters: dict
    cycles_waited: int
    outputs: dict = field(default_factory=dict)   # name -> bytes read back from DRAM
    observed: dict = field(default_factory=dict)  # the wrapper's obs_* counts (OBSERVED)

    @property
    def error_code(self) -> regs.ErrorCode:
        return regs.ErrorCode(self.status["error_code"])


# What the wrapper (tb/sv/npu_tb_top.sv) observes inside the NPU during a run, beyond the
# counter registers: the matrix engine's instructions in flight. Names as in Outcome.observed.
OBSERVED = {"MM_DUAL_CYCLES": "obs_mm_dual_cycles_o", "MM_RAW_WAIT": "obs_mm_raw_wait_o",
            "MM_ERR_BEHIND": "obs_mm_err_behind_o"}


class CompletionMonitor(pyuvm.uvm_component):
    def build_phase(self):
        self.ap = pyuvm.uvm_analysis_port("ap", self)
        self.dut = cocotb.top
        self.bfm: AxiLiteHostBfm = pyuvm.ConfigDB().get(self, "", "HOST_BFM")

    async def wait_and_collect(self, timeout_cycles: int) -> RunReport:
        start = self.dut.cycle_o.value.to_unsigned()
        if self.dut.irq_o.value != 1:
            timer = Timer(timeout_cycles * 10, unit="ns")
            fired = await First(RisingEdge(self.dut.irq_o), timer)
            if fired is timer:
                status = regs.status_fields(
                    await self.bfm.read(regs.BY_NAME["STATUS"].offset))
                raise AssertionError(
                    f"NPU did not interrupt within {timeout_cycles} cycles (STATUS "
                    f"{status}, engines busy 0b{self.dut.u_npu.eng_busy.value}): the watchdog "
                    "should have stopped it")
        waited = self.dut.cycle_o.value.to_unsigned() - start
        status = regs.status_fields(await self.bfm.read(regs.BY_NAME["STATUS"].offset))
        report = RunReport(
            status=status,
            error_pc=await self.bfm.read(regs.BY_NAME["ERROR_PC"].offset),
            error_info=await self.bfm.read(regs.BY_NAME["ERROR_INFO"].offset),
            counters={name: await self.bfm.read(regs.BY_NAME[name].offset)
                      for name in regs.COUNTERS},
            cycles_waited=waited,
            observed={name: getattr(self.dut, port).value.to_unsigned()
                      for name, port in OBSERVED.items()})
        await self.bfm.write(regs.BY_NAME["IRQ_STATUS"].offset, 1)
        return report

    def publish(self, report: RunReport) -> None:
        self.ap.write(report)


# ----------------------------------------------------------------------------------------------
# Scoreboard
# ----------------------------------------------------------------------------------------------
@dataclass
class Expectation:
    model: NpuModel | None
    result: RunResult | None
    outputs: dict          # name -> (address, nbytes)


class NpuScoreboard(pyuvm.uvm_subscriber):
    def build_phase(self):
        self.expected: Expectation | None = None
        self.checked = 0
        self.failures: list[str] = []

    def expect(self, expectation: Expectation) -> None:
        self.expected = expectation

    def write(self, report: RunReport) -> None:
        exp = self.expected
        if exp is None:
            self.failures.append("report without expectation")
            return
        errs = []
        # Without a model run (exp.result is None) a clean finish is all that is scored here.
        want_err = exp.result.error if exp.result is not None else None
        if want_err is None:
            if report.status["error"] or not report.status["done"]:
                errs.append(f"expected a clean run, got status {report.status} "
                            f"(pc 0x{report.error_pc:x}, info 0x{report.error_info:x})")
            if exp.result is not None and report.counters["INSN_RETIRED"] != exp.result.retired:
                errs.append(f"INSN_RETIRED {report.counters['INSN_RETIRED']} != "
                            f"{exp.result.retired} of the model")
        else:
            problem = error_mismatch(
                want_err.code.name, want_err.pc, want_err.info,
                report.error_code.name if report.status["error"] else None,
                report.error_pc, report.error_info)
            if problem:
                errs.append(problem)
        for name, (addr, nbytes) in exp.outputs.items():
            got = report.outputs.get(name)
            want = exp.model.dram[addr:addr + nbytes]
            if got is None:
                errs.append(f"output {name} was not read back")
            elif not np.array_equal(got, want):
                bad = np.flatnonzero(got != want)
                errs.append(f"output {name}: {bad.size} of {nbytes} bytes differ, first at "
                            f"+{bad[0]} (got {got[bad[0]]}, want {want[bad[0]]})")
        self.checked += 1
        for err in errs:
            self.logger.error(err)
        self.failures += errs


class NpuEnv(pyuvm.uvm_env):
    def build_phase(self):
        self.host = HostAgent("host", self)
        self.monitor = CompletionMonitor("monitor", self)
        self.scoreboard = NpuScoreboard("scoreboard", self)

    def connect_phase(self):
        self.monitor.ap.connect(self.scoreboard.analysis_export)


# ----------------------------------------------------------------------------------------------
# Base test: clock/reset, DRAM, and `run_program`
# ----------------------------------------------------------------------------------------------
class NpuBaseTest(pyuvm.uvm_test):
    """Builds the env; `run_program` is everything a directed test needs."""

    dram_base = 0x0

    def build_phase(self):
        self.dut = cocotb.top
        self.cfg: HwConfig = npu_config()
        self.bfm = AxiLiteHostBfm(self.dut, self.dut.clk)
        pyuvm.ConfigDB().set(None, "*", "HOST_BFM", self.bfm)
        self.env = NpuEnv("env", self)
        # The DRAM model's size is a build parameter (the benchmark builds a larger one).
        self.dram_size = int(built_params().get("MemBytes", self.cfg.dram_bytes))
        self.dram = DramBackdoor(self.dut, self.dut.clk, self.cfg.line_bytes, self.dram_size)
        # The DRAM model runs default to (hwdef DRAM_MODES): the configuration's, or
        # "unlimited" with `make sim DRAM=unlimited` (checked by runner/check_sim_args.py).
        self.dram_mode = os.environ.get("NPU_DRAM") or "config"

    async def reset(self, lat_min: int | None = None, lat_max: int | None = None,
                    bytes_per_cycle: int | None = None, seed: int = 1,
                    cycles: int = 5) -> None:
        """Reset the NPU and set the DRAM model (default: `dram_mode`'s latency and
        bandwidth). The DRAM model shares rst_ni: its queues of accepted bursts are emptied
        too (its memory is kept; `start_run` defines it before every run)."""
        dut = self.dut
        self.configure_dram(lat_min, lat_max, bytes_per_cycle, seed)
        dut.dram_load_req_i.value = 0
        dut.dram_dump_req_i.value = 0
        dut.dram_clear_req_i.value = 0
        dut.dram_dump_first_i.value = 0
        dut.dram_dump_last_i.value = 0
        dut.rst_ni.value = 0
        await ClockCycles(dut.clk, cycles)
        dut.rst_ni.value = 1
        await ClockCycles(dut.clk, 2)

    def configure_dram(self, lat_min: int | None = None, lat_max: int | None = None,
                       bytes_per_cycle: int | None = None, seed: int = 1) -> None:
        """The DRAM model's latency range, bandwidth (bytes per cycle, shared by reads and
        writes; 0: a beat per cycle each way) and the seed of its latency draws (taken at the
        next reset). Latency and bandwidth default to `dram_mode`'s."""
        dut = self.dut
        mode_bytes, mode_latency = self.cfg.dram_model(self.dram_mode)
        lat_min = mode_latency if lat_min is None else lat_min
        bytes_per_cycle = mode_bytes if bytes_per_cycle is None else bytes_per_cycle
        dut.dram_lat_min_i.value = lat_min
        dut.dram_lat_max_i.value = lat_min if lat_max is None else lat_max
        dut.dram_bytes_per_cycle_i.value = bytes_per_cycle
        dut.dram_seed_i.value = seed

    async def load_image(self, image: np.ndarray, addr: int = 0) -> None:
        lb = self.cfg.line_bytes
        start, end = addr - addr % lb, -(-(addr + image.size) // lb) * lb
        padded = np.zeros(end - start, dtype=np.uint8)
        padded[addr - start:addr - start + image.size] = image
        await self.dram.load(start, padded)

    async def read_dram(self, addr: int, nbytes: int) -> np.ndarray:
        lb = self.cfg.line_bytes
        start, end = addr - addr % lb, -(-(addr + nbytes) // lb) * lb
        data = await self.dram.dump(start, end - start)
        return data[addr - start:addr - start + nbytes]

    # ---- the defined starting state of every run ------------------------------------------
    def npu_memories(self) -> list:
        """Handles of the NPU's storage without reset (an SRAM has none): the scratchpad banks
        and the matrix unit's accumulators. The hierarchy is checked against the configuration,
        so a renamed instance fails here instead of leaving a memory uncleared."""
        npu, cfg = self.dut.u_npu, self.cfg
        mems = [(npu.u_scratchpad.g_bank[b].u_ram.mem_q, cfg.spad_bank_lines)
                for b in range(cfg.spad_banks)]
        mems.append((npu.u_matmul_engine.u_matrix.acc_mem, cfg.acc_lines))
        for mem, depth in mems:
            assert len(mem) == depth, f"{mem._path}: {len(mem)} entries, expected {depth}"
        return [mem for mem, _ in mems]

    async def define_state(self, image: np.ndarray) -> None:
        """What NpuModel assumes at the start of a run, on the RTL side: the whole DRAM model
        zero but for *image* (its non-zero extent loaded from address 0), the scratchpad and
        the accumulators zero. DRAM is cleared inside the simulator, the NPU memories through
        VPI (builds have --public-flat-rw): no clock cycle is simulated for the memories and
        a few for DRAM, however large the window."""
        for mem in self.npu_memories():
            for index in range(len(mem)):
                mem[index].value = 0
        await self.dram.clear(0, self.dram_size)
        nonzero = np.flatnonzero(image)
        if nonzero.size:
            first, last = int(nonzero[0]), int(nonzero[-1]) + 1
            await self.load_image(image[first:last], first)

    async def wait_idle(self, max_cycles: int = 10_000) -> dict:
        """STATUS once the NPU is not BUSY (polled over AXI4-Lite, a read every few cycles);
        fails if it stays busy for *max_cycles* (an engine that never drains)."""
        start = self.dut.cycle_o.value.to_unsigned()
        while True:
            status = regs.status_fields(await self.bfm.read(regs.BY_NAME["STATUS"].offset))
            if not status["busy"]:
                return status
            if self.dut.cycle_o.value.to_unsigned() - start > max_cycles:
                raise AssertionError(f"NPU still BUSY {max_cycles} cycles later (engines busy "
                                     f"0b{self.dut.u_npu.eng_busy.value}): it cannot start")

    async def run_program(self, prog: Program, dram: np.ndarray, prog_base: int,
                          outputs: dict[str, tuple[int, int]], **options) -> RunReport:
        """Place *prog* at *prog_base* in a copy of *dram* and run it (`run_image`)."""
        code = np.frombuffer(prog.to_bytes(), dtype=np.uint8)
        if prog_base + code.size > self.dram_size:
            raise ValueError(f"a program of {code.size} bytes at 0x{prog_base:x} does not fit "
                             f"the {self.dram_size}-byte DRAM model")
        image = np.zeros(max(dram.size, prog_base + code.size), dtype=np.uint8)
        image[:dram.size] = dram
        image[prog_base:prog_base + code.size] = code
        return await self.run_image(image, prog_base, outputs, **options)

    async def run_image(self, image: np.ndarray, prog_base: int,
                        outputs: dict[str, tuple[int, int]], strict: bool = False,
                        watchdog: int = 0, timeout_cycles: int = 2_000_000,
                        dram_window: tuple[int, int] | None = None,
                        model_error: ModelError | None = None,
                        use_model: bool = True, score: bool = True) -> RunReport:
        """Run the program at *prog_base* of the DRAM *image* on the model and on the RTL,
        read back *outputs* (name -> (address, bytes)) and score the run. *model_error*
        replaces the model's verdict where the sequential model cannot know it (deadlock).
        Without *use_model* (long benchmark runs whose outputs the caller checks against its
        own golden model) the scoreboard only requires a clean finish; without *score* (the
        random-program batches, compared by their launcher) nothing is scored. Both sides
        start from the same state: DRAM zero beyond the image, scratchpad and accumulators
        zero."""
        await self.start_run(image, prog_base, outputs, strict=strict, watchdog=watchdog,
                             dram_window=dram_window, model_error=model_error,
                             use_model=use_model, score=score)
        return await self.finish_run(timeout_cycles, score=score)

    async def start_run(self, image: np.ndarray, prog_base: int,
                        outputs: dict[str, tuple[int, int]], strict: bool = False,
                        watchdog: int = 0, dram_window: tuple[int, int] | None = None,
                        model_error: ModelError | None = None,
                        use_model: bool = True, score: bool = True) -> None:
        """The first half of `run_image`: the model's run and the expectation, the defined
        starting state, and START; returns as soon as the NPU runs (`finish_run` waits)."""
        base, size = dram_window if dram_window else (self.dram_base, self.dram_size)
        if use_model and score:
            # The model's DRAM covers the window and the outputs, zero beyond the image, like
            # the DRAM model after define_state.
            extent = max([image.size, base + size] + [a + n for a, n in outputs.values()])
            dram = np.zeros(extent, dtype=np.uint8)
            dram[:image.size] = image
            model = NpuModel(self.cfg, dram, dram_base=base, dram_size=size)
            model.strict = strict
            result = model.run(prog_base, max_insns=10 ** 7)
            if model_error is not None:   # what the sequential model cannot see (deadlocks)
                result.error = model_error
            self.env.scoreboard.expect(Expectation(model, result, outputs))
        else:
            model, result = None, None
            if score:
                self.env.scoreboard.expect(Expectation(None, None, {}))
        self.model_result = result
        self.run_outputs = dict(outputs)
        await self.wait_idle()
        await self.define_state(image)
        seq = RunProgramSeq("run", prog_base, base, size, watchdog=watchdog, strict=strict)
        await seq.start(self.env.host.seqr)

    async def finish_run(self, timeout_cycles: int = 2_000_000, score: bool = True) -> RunReport:
        """The second half of `run_image`: wait for the interrupt, read the report and the
        outputs, and score them."""
        report = await self.env.monitor.wait_and_collect(timeout_cycles)
        for name, (addr, nbytes) in self.run_outputs.items():
            report.outputs[name] = await self.read_dram(addr, nbytes)
        if score:
            self.env.monitor.publish(report)
        self.report = report
        return report

    def check_phase(self):
        sb = self.env.scoreboard
        assert sb.checked > 0, "the scoreboard checked nothing"
        assert not sb.failures, "; ".join(sb.failures)

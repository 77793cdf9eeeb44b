// SIMULATION ONLY (not synthesizable, lives outside rtl/): npu_tb_top with its host written in
// SystemVerilog, for a Verilator `--binary` build that runs a whole NPU job with no cocotb, no
// VPI and no Python on the simulation (runner/verilator.py builds and launches it).
//
// Theory of operation
// -------------------
// The NPU, its DRAM model and the clock are npu_tb_top's, unchanged; this module only plays the
// part the cocotb host (tb/top/env.py) plays for the "rtl" backend, in the same order:
//
//   1. Reset: the DRAM model's latency range, bandwidth and seed are set from plusargs, rst_n is
//      held low for 5 rising edges and released 2 edges before anything else happens.
//   2. Defined state: `define_state` of env.py zeroes the DRAM model, the scratchpad banks and
//      the accumulators before loading the image. Here the binary is a fresh process and the
//      build uses `--x-initial fast`, with which Verilator's generated constructor zeroes every
//      variable that has no initialiser (memories included: its `_ctor_var_reset` calls
//      VL_ZERO_RESET_W on every word of mem_q, acc_mem and the DRAM model's mem, and no
//      VL_RAND_RESET anywhere: checked in the generated C++ of this build), and
//      `+verilator+rand+reset` has no effect on such a build. So all three start at zero, as
//      the model assumes. runner/test_verilator.py checks it end to end (a MATMUL adding onto
//      the accumulators, a store of never-written scratchpad lines, DRAM beyond the image; on
//      a build with --x-initial unique and +verilator+rand+reset+2 all three differ).
//      The image's non-zero extent is then loaded through the DRAM model's back door (a
//      `dram_load_req` pulse: $readmemh of +NPU_DRAM_LOAD, only if that plusarg is given).
//   3. Host script (+npu_host=<file>): one command per line, run in order. The script is
//      written by Python from hwdef/regs.py, so no register name or offset is repeated here:
//        W <offset> <value>   AXI4-Lite write (hex)
//        R <offset>           AXI4-Lite read; the result file gets "R <offset> <value>"
//        I                    wait for irq_o, at most +npu_max_cycles cycles; the result file
//                             gets "irq <cycles waited>", or on a timeout "hang <cycles>" and
//                             "busy <engines busy>" (the script then goes on, so STATUS and
//                             the counters of a hung NPU are still read back)
//        O                    the wrapper's observation counters: "obs <port> <value>" each
//      Anything after the fields a command takes is a comment (Python writes the register's
//      name there).
//   4. Outputs: a `dram_dump_req` pulse writes DRAM words +npu_dump_first..+npu_dump_last
//      (hex word indices) to +NPU_DRAM_DUMP, only if that plusarg is given.
//   5. The result file (+npu_result=<file>) ends with "cycle <wrapper cycle count>" and "end"
//      (a file without "end" is a simulation that stopped early), then $finish.
//
// Register accesses drive the bus on falling clock edges and judge handshakes a quarter cycle
// later, so nothing this host does races the NPU's rising-edge flops; a handshake that does not
// complete within AxilTimeout cycles stops the simulation with $fatal (like the cocotb bus
// model's timeout). Nothing here runs per clock cycle: waiting for the interrupt is one event
// (fork of a `wait` and a delay), so the simulation runs at the speed of the NPU's own model.
`include "npu_ports.svh"

module npu_bench_top #(
  `NPU_TOP_PARAMS,
  parameter int unsigned MemBytes      = npu_pkg::DramBytes,
  parameter int unsigned ClockPeriodNs = 10
);
  localparam int unsigned AxilAddrBits = 8;
  localparam int unsigned AxilTimeout  = 1000;           // cycles, as tb/top/env.py's BFM
  localparam int unsigned Settle       = ClockPeriodNs / 4;   // from falling edge to sampling
  if (Settle == 0) begin : g_period_check
    $error("npu_bench_top: ClockPeriodNs %0d leaves no time between edges", ClockPeriodNs);
  end

  // ---- The simulation top: NPU, DRAM model, clock -------------------------------------------
  logic        clk;
  logic        rst_n;
  logic        irq;
  logic        s_axil_awvalid, s_axil_awready, s_axil_wvalid, s_axil_wready;
  logic        s_axil_bvalid, s_axil_bready, s_axil_arvalid, s_axil_arready;
  logic        s_axil_rvalid, s_axil_rready;
  logic [AxilAddrBits-1:0] s_axil_awaddr, s_axil_araddr;
  logic [31:0] s_axil_wdata, s_axil_rdata;
  logic [3:0]  s_axil_wstrb;
  logic [1:0]  s_axil_bresp, s_axil_rresp;
  logic [15:0] dram_lat_min, dram_lat_max, dram_bytes_per_cycle;
  logic [31:0] dram_seed, dram_dump_first, dram_dump_last;
  logic        dram_load_req, dram_dump_req;
  logic [63:0] cycle;
  logic [31:0] obs_mm_dual_cycles, obs_mm_raw_wait, obs_mm_err_behind;

  npu_tb_top #(
    `NPU_TOP_PARAM_MAP,
    .MemBytes      (MemBytes),
    .ClockPeriodNs (ClockPeriodNs)
  ) u_tb (
    .clk,
    .rst_ni                 (rst_n),
    .irq_o                  (irq),
    `NPU_AXIL_S_CONNECT(, ),
    .dram_lat_min_i         (dram_lat_min),
    .dram_lat_max_i         (dram_lat_max),
    .dram_bytes_per_cycle_i (dram_bytes_per_cycle),
    .dram_seed_i            (dram_seed),
    .dram_load_req_i        (dram_load_req),
    .dram_dump_req_i        (dram_dump_req),
    .dram_clear_req_i       (1'b0),     // the DRAM model starts zero (theory of operation, 2)
    .dram_dump_first_i      (dram_dump_first),
    .dram_dump_last_i       (dram_dump_last),
    .dram_rd_bytes_o        (),
    .dram_wr_bytes_o        (),
    .dram_protocol_errors_o (),
    .cycle_o                (cycle),
    .obs_mm_dual_cycles_o   (obs_mm_dual_cycles),
    .obs_mm_raw_wait_o      (obs_mm_raw_wait),
    .obs_mm_err_behind_o    (obs_mm_err_behind)
  );

  // ---- AXI4-Lite host ------------------------------------------------------------------------
  int          result_fd = 0;
  // Results of the timed tasks below (a task may not write its outputs after a timing control)
  logic [31:0] axil_rdata;
  logic        irq_came;

  task automatic fail(input string msg);
    if (result_fd != 0) begin
      $fwrite(result_fd, "fatal %s\n", msg);
      $fclose(result_fd);
    end
    $fatal(1, "npu_bench_top: %s", msg);
  endtask

  task automatic axil_write(input logic [AxilAddrBits-1:0] addr, input logic [31:0] data);
    logic        aw_fire, w_fire, b_fire;
    logic [1:0]  resp;
    int unsigned waited = 0;
    @(negedge clk);
    s_axil_awaddr  = addr;
    s_axil_wdata   = data;
    s_axil_awvalid = 1'b1;
    s_axil_wvalid  = 1'b1;
    // AW and W are offered together; each is dropped after the rising edge that accepted it.
    while (s_axil_awvalid || s_axil_wvalid) begin
      #(Settle);
      aw_fire = s_axil_awvalid && s_axil_awready;
      w_fire  = s_axil_wvalid && s_axil_wready;
      @(negedge clk);
      if (aw_fire) s_axil_awvalid = 1'b0;
      if (w_fire)  s_axil_wvalid  = 1'b0;
      if (++waited == AxilTimeout) fail($sformatf("AXI4-Lite write 0x%0h: not accepted", addr));
    end
    s_axil_bready = 1'b1;
    do begin
      #(Settle);
      b_fire = s_axil_bvalid;
      resp   = s_axil_bresp;
      @(negedge clk);
      if (++waited == AxilTimeout) fail($sformatf("AXI4-Lite write 0x%0h: no B", addr));
    end while (!b_fire);
    s_axil_bready = 1'b0;
    if (resp != 2'b00) fail($sformatf("AXI4-Lite write 0x%0h: BRESP %0d", addr, resp));
  endtask

  // Leaves the data read in axil_rdata.
  task automatic axil_read(input logic [AxilAddrBits-1:0] addr);
    logic        ar_fire, r_fire;
    logic [1:0]  resp;
    int unsigned waited = 0;
    @(negedge clk);
    s_axil_araddr  = addr;
    s_axil_arvalid = 1'b1;
    do begin
      #(Settle);
      ar_fire = s_axil_arready;
      @(negedge clk);
      if (++waited == AxilTimeout) fail($sformatf("AXI4-Lite read 0x%0h: not accepted", addr));
    end while (!ar_fire);
    s_axil_arvalid = 1'b0;
    s_axil_rready  = 1'b1;
    do begin
      #(Settle);
      r_fire = s_axil_rvalid;
      axil_rdata = s_axil_rdata;
      resp   = s_axil_rresp;
      @(negedge clk);
      if (++waited == AxilTimeout) fail($sformatf("AXI4-Lite read 0x%0h: no R", addr));
    end while (!r_fire);
    s_axil_rready = 1'b0;
    if (resp != 2'b00) fail($sformatf("AXI4-Lite read 0x%0h: RRESP %0d", addr, resp));
  endtask

  // Waits for the interrupt for at most max_cycles cycles; irq_came says whether it came.
  task automatic wait_irq(input longint unsigned max_cycles);
    irq_came = 1'b0;
    fork
      begin
        wait (irq === 1'b1);
        irq_came = 1'b1;
      end
      #(max_cycles * ClockPeriodNs);
    join_any
    disable fork;
  endtask

  // ---- The run -------------------------------------------------------------------------------
  initial begin
    string             host_path, result_path, line, verb;
    int                host_fd;
    logic [31:0]       arg0, arg1;
    longint unsigned   max_cycles;
    logic [63:0]       wait_start;

    rst_n          = 1'b0;
    s_axil_awvalid = 1'b0;
    s_axil_wvalid  = 1'b0;
    s_axil_bready  = 1'b0;
    s_axil_arvalid = 1'b0;
    s_axil_rready  = 1'b0;
    s_axil_awaddr  = '0;
    s_axil_araddr  = '0;
    s_axil_wdata   = '0;
    s_axil_wstrb   = 4'hf;
    dram_load_req  = 1'b0;
    dram_dump_req  = 1'b0;
    dram_dump_first = '0;
    dram_dump_last  = '0;
    dram_lat_min = '0;
    dram_lat_max = '0;
    dram_bytes_per_cycle = '0;
    dram_seed = 32'd1;
    max_cycles = 64'd2_000_000;
    void'($value$plusargs("npu_dram_lat_min=%d", dram_lat_min));
    void'($value$plusargs("npu_dram_lat_max=%d", dram_lat_max));
    void'($value$plusargs("npu_dram_bytes_per_cycle=%d", dram_bytes_per_cycle));
    void'($value$plusargs("npu_dram_seed=%d", dram_seed));
    void'($value$plusargs("npu_max_cycles=%d", max_cycles));
    // never a zero delay: the build schedules none (--no-sched-zero-delay, for speed)
    if (max_cycles == 0) max_cycles = 1;
    void'($value$plusargs("npu_dump_first=%h", dram_dump_first));
    void'($value$plusargs("npu_dump_last=%h", dram_dump_last));
    if (!$value$plusargs("npu_result=%s", result_path)) $fatal(1, "npu_bench_top: no +npu_result");
    result_fd = $fopen(result_path, "w");
    if (result_fd == 0) $fatal(1, "npu_bench_top: cannot write %s", result_path);

    // 1. Reset (the DRAM model takes its seed and settings while in reset)
    repeat (5) @(posedge clk);
    @(negedge clk);
    rst_n = 1'b1;
    repeat (2) @(posedge clk);

    // 2. The image (the rest of DRAM, the scratchpad and the accumulators start zero)
    // (back-door requests are one-cycle pulses between falling edges: one rising edge each)
    if ($test$plusargs("NPU_DRAM_LOAD=")) begin
      @(negedge clk) dram_load_req = 1'b1;
      @(negedge clk) dram_load_req = 1'b0;
    end

    // 3. The host script
    host_fd = 0;
    if ($value$plusargs("npu_host=%s", host_path)) begin
      host_fd = $fopen(host_path, "r");
      if (host_fd == 0) fail({"cannot read the host script ", host_path});
    end
    while (host_fd != 0 && $fgets(line, host_fd) > 0) begin
      // Each command is scanned with its own format: Verilator's $sscanf returns -1, not the
      // number of fields matched, when the line ends before the format does.
      if ($sscanf(line, "%s", verb) != 1) continue;     // an empty line
      case (verb)
        "W": begin
          if ($sscanf(line, "%s %h %h", verb, arg0, arg1) != 3) begin
            fail({"W needs an offset and a value: ", line});
          end
          axil_write(AxilAddrBits'(arg0), arg1);
        end
        "R": begin
          if ($sscanf(line, "%s %h", verb, arg0) != 2) fail({"R needs an offset: ", line});
          axil_read(AxilAddrBits'(arg0));
          $fwrite(result_fd, "R %0h %0h\n", arg0, axil_rdata);
        end
        "I": begin
          wait_start = cycle;
          wait_irq(max_cycles);
          if (irq_came) begin
            $fwrite(result_fd, "irq %0d\n", cycle - wait_start);
          end else begin
            $fwrite(result_fd, "hang %0d\n", cycle - wait_start);
            $fwrite(result_fd, "busy %b\n", u_tb.u_npu.eng_busy);
          end
        end
        "O": begin
          $fwrite(result_fd, "obs obs_mm_dual_cycles_o %0h\n", obs_mm_dual_cycles);
          $fwrite(result_fd, "obs obs_mm_raw_wait_o %0h\n", obs_mm_raw_wait);
          $fwrite(result_fd, "obs obs_mm_err_behind_o %0h\n", obs_mm_err_behind);
        end
        default: fail({"unknown host script command: ", line});
      endcase
    end
    if (host_fd != 0) $fclose(host_fd);

    // 4. Outputs
    if ($test$plusargs("NPU_DRAM_DUMP=")) begin
      @(negedge clk) dram_dump_req = 1'b1;
      @(negedge clk) dram_dump_req = 1'b0;
    end

    // 5. Done
    $fwrite(result_fd, "cycle %0d\nend\n", cycle);
    $fclose(result_fd);
    $finish;
  end

endmodule

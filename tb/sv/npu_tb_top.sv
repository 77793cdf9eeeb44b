// SIMULATION ONLY (not synthesizable, lives outside rtl/): the NPU with its DRAM model and a
// free-running clock, for the top-level test benches.
//
// The clock, the DRAM model and every data movement run inside the simulator; Python only
// drives reset and the AXI4-Lite control port, loads/dumps DRAM through the model's back door,
// and waits for the interrupt. Built with --timing for the clock generator.
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_tb_top #(
  `NPU_TOP_PARAMS,
  parameter int unsigned MemBytes    = npu_pkg::DramBytes,
  parameter int unsigned ClockPeriodNs = 10
) (
  output logic        clk,
  input  logic        rst_ni,
  output logic        irq_o,
  // AXI4-Lite control port, driven by the Python host agent
  `NPU_AXIL_S_PORTS(8, _i, _o),
  // DRAM model controls and statistics
  `NPU_TB_DRAM_CTRL_PORTS,
  output logic [31:0] dram_rd_bytes_o,
  output logic [31:0] dram_wr_bytes_o,
  output logic [31:0] dram_protocol_errors_o,
  output logic [63:0] cycle_o,
  // Observation of the matrix engine's instructions in flight, per run (cleared by START;
  // tb/top/env.py reads them with the counters, the random programs' coverage bins them)
  output logic [31:0] obs_mm_dual_cycles_o,   // cycles with two MATMULs handed over, not retired
  output logic [31:0] obs_mm_raw_wait_o,      // cycles a checked MATMUL waits on a RAW hazard
  output logic [31:0] obs_mm_err_behind_o     // MATMUL errors of one handed over behind another
);
  localparam int unsigned LineBits = Lanes * 32;

  initial clk = 1'b0;
  always #(ClockPeriodNs / 2) clk = ~clk;

  always_ff @(posedge clk or negedge rst_ni) begin
    if (!rst_ni) cycle_o <= '0;
    else         cycle_o <= cycle_o + 64'd1;
  end

  `NPU_AXI_TYPEDEF_ALL(IdBits, LineBits)

  axi_req_t    dram_req;
  axi_rsp_t    dram_rsp;
  npu_dram_model_pkg::dram_stats_t dram_stats;

  npu_top #(
    `NPU_TOP_PARAM_MAP
  ) u_npu (
    .clk_i (clk),
    .rst_ni,
    .irq_o,
    `NPU_AXIL_S_CONNECT(_i, _o),
    .m_axi_awid_o (dram_req.aw.id), .m_axi_awaddr_o (dram_req.aw.addr),
    .m_axi_awlen_o (dram_req.aw.len), .m_axi_awsize_o (dram_req.aw.size),
    .m_axi_awburst_o (dram_req.aw.burst), .m_axi_awcache_o (dram_req.aw.cache),
    .m_axi_awprot_o (dram_req.aw.prot), .m_axi_awvalid_o (dram_req.aw_valid),
    .m_axi_awready_i (dram_rsp.aw_ready),
    .m_axi_wdata_o (dram_req.w.data), .m_axi_wstrb_o (dram_req.w.strb),
    .m_axi_wlast_o (dram_req.w.last), .m_axi_wvalid_o (dram_req.w_valid),
    .m_axi_wready_i (dram_rsp.w_ready),
    .m_axi_bid_i (dram_rsp.b.id), .m_axi_bresp_i (dram_rsp.b.resp),
    .m_axi_bvalid_i (dram_rsp.b_valid), .m_axi_bready_o (dram_req.b_ready),
    .m_axi_arid_o (dram_req.ar.id), .m_axi_araddr_o (dram_req.ar.addr),
    .m_axi_arlen_o (dram_req.ar.len), .m_axi_arsize_o (dram_req.ar.size),
    .m_axi_arburst_o (dram_req.ar.burst), .m_axi_arcache_o (dram_req.ar.cache),
    .m_axi_arprot_o (dram_req.ar.prot), .m_axi_arvalid_o (dram_req.ar_valid),
    .m_axi_arready_i (dram_rsp.ar_ready),
    .m_axi_rid_i (dram_rsp.r.id), .m_axi_rdata_i (dram_rsp.r.data),
    .m_axi_rresp_i (dram_rsp.r.resp), .m_axi_rlast_i (dram_rsp.r.last),
    .m_axi_rvalid_i (dram_rsp.r_valid), .m_axi_rready_o (dram_req.r_ready)
  );

  `NPU_TB_DRAM_MODEL(clk, LineBits, dram_req, dram_rsp, dram_stats)

  assign dram_rd_bytes_o        = dram_stats.rd_bytes;
  assign dram_wr_bytes_o        = dram_stats.wr_bytes;
  assign dram_protocol_errors_o = dram_stats.protocol_errors;

  // ---- Matrix engine observation ------------------------------------------------------------
  // The dispatcher's hand-overs to and retirements from the matrix engine (queue 2) give the
  // instructions in flight; the read-after-write wait is the engine's own (a checked
  // instruction held back only by its hazard check: npu_matmul_engine's `raw_wait`). Each
  // error is counted if its instruction was handed over while an older one was still in
  // flight (its err_o had to wait for that one to retire).
  localparam int unsigned MatrixQueue = 32'(npu_isa_pkg::QueueMatrix);
  logic [1:0] obs_mm_inflight_q;
  logic [1:0] obs_mm_behind_q;   // per instruction in flight, oldest in bit 0
  logic       obs_mm_take, obs_mm_retire, obs_mm_raw_wait;
  logic [1:0] obs_mm_left;       // in flight after this cycle's retirement
  logic [1:0] obs_mm_behind_left;
  assign obs_mm_take   = u_npu.eng_valid[MatrixQueue] && u_npu.eng_ready[MatrixQueue];
  assign obs_mm_retire = u_npu.eng_done[MatrixQueue] || u_npu.eng_err[MatrixQueue];
  assign obs_mm_left   = obs_mm_inflight_q - 2'(obs_mm_retire);
  assign obs_mm_behind_left = obs_mm_retire ? obs_mm_behind_q >> 1 : obs_mm_behind_q;
  assign obs_mm_raw_wait = u_npu.u_matmul_engine.raw_wait;
  always_ff @(posedge clk or negedge rst_ni) begin
    if (!rst_ni) begin
      obs_mm_inflight_q    <= '0;
      obs_mm_behind_q      <= '0;
      obs_mm_dual_cycles_o <= '0;
      obs_mm_raw_wait_o    <= '0;
      obs_mm_err_behind_o  <= '0;
    end else begin
      obs_mm_inflight_q <= obs_mm_left + 2'(obs_mm_take);
      obs_mm_behind_q   <= obs_mm_behind_left;
      if (obs_mm_take) obs_mm_behind_q[obs_mm_left[0]] <= obs_mm_left != '0;
      if (u_npu.start) begin      // START only while idle: nothing in flight
        obs_mm_dual_cycles_o <= '0;
        obs_mm_raw_wait_o    <= '0;
        obs_mm_err_behind_o  <= '0;
      end else begin
        obs_mm_dual_cycles_o <= obs_mm_dual_cycles_o + 32'(obs_mm_inflight_q == 2'd2);
        obs_mm_raw_wait_o    <= obs_mm_raw_wait_o + 32'(obs_mm_raw_wait);
        obs_mm_err_behind_o  <= obs_mm_err_behind_o +
                                32'(u_npu.eng_err[MatrixQueue] && obs_mm_behind_q[0]);
      end
    end
  end

  // ---- Activity trace (+npu_trace=<file>), for timelines -----------------------------------
  // "start <cycle>" at each CTRL.START, "done <cycle>" at each interrupt, and per engine
  // (queue q: 0 DMA-in, 1 DMA-out, 2 matrix, 3 vector) "take <cycle> <q>" when the dispatcher
  // hands it an instruction and "retire <cycle> <q>" at its done_o / err_o pulse: the
  // instruction's own interval, also where the matrix engine holds two (bench/trace.py). Also
  // one line per change of the engines' busy bits, "<cycle> <busy>" with busy in binary (bit
  // q for queue q), what the busy counters count. Cycles are this wrapper's free-running
  // count; a line is written in the cycle it describes. Written by the simulator, so Python
  // stays off the per-cycle path. Off without the plusarg.
  int         trace_fd = 0;
  logic [3:0] trace_busy_q = '0;
  logic       trace_irq_q = 1'b0;
  initial begin
    string path;
    if ($value$plusargs("npu_trace=%s", path)) trace_fd = $fopen(path, "w");
  end
  always @(posedge clk) begin
    if (trace_fd != 0 && rst_ni) begin
      if (u_npu.start) $fwrite(trace_fd, "start %0d\n", cycle_o);
      if (u_npu.eng_busy != trace_busy_q) $fwrite(trace_fd, "%0d %b\n", cycle_o, u_npu.eng_busy);
      for (int q = 0; q < 4; q++) begin
        if (u_npu.eng_done[q] || u_npu.eng_err[q]) $fwrite(trace_fd, "retire %0d %0d\n", cycle_o, q);
        if (u_npu.eng_valid[q] && u_npu.eng_ready[q]) $fwrite(trace_fd, "take %0d %0d\n", cycle_o, q);
      end
      if (irq_o && !trace_irq_q) begin
        $fwrite(trace_fd, "done %0d\n", cycle_o);
        $fflush(trace_fd);
      end
      trace_busy_q <= u_npu.eng_busy;
      trace_irq_q  <= irq_o;
    end
  end
endmodule

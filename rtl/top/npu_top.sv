// The NPU: AXI4-Lite control slave, AXI4 DRAM master, completion interrupt.
//
// fetch -> dispatcher (semaphores, watchdog) -> four queues -> four engines that run
// concurrently on a shared, banked scratchpad (docs/architecture.md). Scratchpad ports:
//   0 DMA-in writes, 1 DMA-out reads, 2/3/4 matrix A/B/C, 5/6/7 vector a/b/result.
// Blocks connect through port bundles (rtl/include/npu_typedef.svh): one spad_req_t /
// spad_rsp_t pair per scratchpad port, axi_req_t / axi_rsp_t per AXI client and for the DRAM
// master, axil_req_t / axil_rsp_t for the control slave. The external ports stay flat AXI
// signals (the names SoC integration and AXI verification models bind to).
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_top #(
  `NPU_TOP_PARAMS,
  localparam int unsigned LineBits   = Lanes * 32,
  localparam int unsigned StrbBits   = LineBits / 8,
  localparam int unsigned CtrlAddrBits = 8
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  output logic                    irq_o,

  // AXI4-Lite control slave
  `NPU_AXIL_S_PORTS(CtrlAddrBits, _i, _o),

  // AXI4 DRAM master
  `NPU_AXI_M_PORTS(IdBits, LineBits, _i, _o)
);
  localparam int unsigned InsnBits    = npu_isa_pkg::InsnBits;
  localparam int unsigned NumQueues   = 4;
  localparam int unsigned Ports       = 8;
  localparam int unsigned SpadLines   = Banks * BankLines;
  localparam int unsigned AddrBits    = $clog2(SpadLines);
  localparam int unsigned NumCounters = npu_isa_pkg::NumCounters;
  localparam int unsigned CountBits   = $clog2(StrbBits + 1);
  localparam int unsigned SpadReqBits = `NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits);
  localparam int unsigned SpadRspBits = `NPU_SPAD_RSP_BITS(LineBits);
  localparam int unsigned AxiReqBits  = `NPU_AXI_REQ_BITS(IdBits, LineBits);
  localparam int unsigned AxiRspBits  = `NPU_AXI_RSP_BITS(IdBits, LineBits);

  `NPU_AXI_TYPEDEF_ALL(IdBits, LineBits)
  `NPU_AXIL_TYPEDEF_ALL(CtrlAddrBits)

  // ---------------------------------------------------------------------------------------
  // External ports <-> bundles. The bundles are the same wires as the ports, so they are kept
  // out of the bench's toggle coverage (it counts each wire once, here at the ports).
  // ---------------------------------------------------------------------------------------
  /* verilator coverage_off */
  axil_req_t             ctrl_req;
  axil_rsp_t             ctrl_rsp;
  axi_req_t              m_req;
  axi_rsp_t              m_rsp;
  logic [AxiReqBits-1:0] m_axi_req;
  logic [AxiRspBits-1:0] m_axi_rsp;
  /* verilator coverage_on */

  assign ctrl_req.aw_addr  = s_axil_awaddr_i;
  assign ctrl_req.aw_valid = s_axil_awvalid_i;
  assign ctrl_req.w_data   = s_axil_wdata_i;
  assign ctrl_req.w_strb   = s_axil_wstrb_i;
  assign ctrl_req.w_valid  = s_axil_wvalid_i;
  assign ctrl_req.b_ready  = s_axil_bready_i;
  assign ctrl_req.ar_addr  = s_axil_araddr_i;
  assign ctrl_req.ar_valid = s_axil_arvalid_i;
  assign ctrl_req.r_ready  = s_axil_rready_i;
  assign s_axil_awready_o  = ctrl_rsp.aw_ready;
  assign s_axil_wready_o   = ctrl_rsp.w_ready;
  assign s_axil_bresp_o    = ctrl_rsp.b_resp;
  assign s_axil_bvalid_o   = ctrl_rsp.b_valid;
  assign s_axil_arready_o  = ctrl_rsp.ar_ready;
  assign s_axil_rdata_o    = ctrl_rsp.r_data;
  assign s_axil_rresp_o    = ctrl_rsp.r_resp;
  assign s_axil_rvalid_o   = ctrl_rsp.r_valid;

  assign m_req           = m_axi_req;
  assign m_axi_awid_o    = m_req.aw.id;
  assign m_axi_awaddr_o  = m_req.aw.addr;
  assign m_axi_awlen_o   = m_req.aw.len;
  assign m_axi_awsize_o  = m_req.aw.size;
  assign m_axi_awburst_o = m_req.aw.burst;
  assign m_axi_awcache_o = m_req.aw.cache;
  assign m_axi_awprot_o  = m_req.aw.prot;
  assign m_axi_awvalid_o = m_req.aw_valid;
  assign m_axi_wdata_o   = m_req.w.data;
  assign m_axi_wstrb_o   = m_req.w.strb;
  assign m_axi_wlast_o   = m_req.w.last;
  assign m_axi_wvalid_o  = m_req.w_valid;
  assign m_axi_bready_o  = m_req.b_ready;
  assign m_axi_arid_o    = m_req.ar.id;
  assign m_axi_araddr_o  = m_req.ar.addr;
  assign m_axi_arlen_o   = m_req.ar.len;
  assign m_axi_arsize_o  = m_req.ar.size;
  assign m_axi_arburst_o = m_req.ar.burst;
  assign m_axi_arcache_o = m_req.ar.cache;
  assign m_axi_arprot_o  = m_req.ar.prot;
  assign m_axi_arvalid_o = m_req.ar_valid;
  assign m_axi_rready_o  = m_req.r_ready;
  assign m_rsp.aw_ready  = m_axi_awready_i;
  assign m_rsp.w_ready   = m_axi_wready_i;
  assign m_rsp.b.id      = m_axi_bid_i;
  assign m_rsp.b.resp    = m_axi_bresp_i;
  assign m_rsp.b_valid   = m_axi_bvalid_i;
  assign m_rsp.ar_ready  = m_axi_arready_i;
  assign m_rsp.r.id      = m_axi_rid_i;
  assign m_rsp.r.data    = m_axi_rdata_i;
  assign m_rsp.r.resp    = m_axi_rresp_i;
  assign m_rsp.r.last    = m_axi_rlast_i;
  assign m_rsp.r_valid   = m_axi_rvalid_i;
  assign m_axi_rsp       = m_rsp;

  // ---------------------------------------------------------------------------------------
  // Control registers
  // ---------------------------------------------------------------------------------------
  logic        start, strict, busy;
  logic [31:0] prog_base, dram_base, dram_size, watchdog_limit;
  logic        done, error;
  logic [7:0]  error_code;
  logic [2:0]  error_queue;
  logic [31:0] error_pc, error_info;
  logic [npu_isa_pkg::NumSemaphores*npu_isa_pkg::SemaphoreBits-1:0] sem_values;
  logic [NumCounters*32-1:0] counters;

  npu_ctrl_regs #(.AddrBits(CtrlAddrBits), .NumCounters(NumCounters)) u_ctrl_regs (
    .clk_i,
    .rst_ni,
    .s_req_i          (ctrl_req),
    .s_rsp_o          (ctrl_rsp),
    .start_o          (start),
    .strict_o         (strict),
    .prog_base_o      (prog_base),
    .dram_base_o      (dram_base),
    .dram_size_o      (dram_size),
    .watchdog_limit_o (watchdog_limit),
    .irq_o,
    .busy_i           (busy),
    .done_i           (done),
    .error_i          (error),
    .error_code_i     (error_code),
    .error_queue_i    (error_queue),
    .error_pc_i       (error_pc),
    .error_info_i     (error_info),
    .sem_values_lo_i  (sem_values[31:0]),
    .counters_i       (counters)
  );

  // ---------------------------------------------------------------------------------------
  // AXI4 master: fetch and DMA-in share AR/R, DMA-out owns AW/W/B
  // ---------------------------------------------------------------------------------------
  logic [AxiReqBits-1:0] fetch_axi_req, load_axi_req, store_axi_req;
  logic [AxiRspBits-1:0] fetch_axi_rsp, load_axi_rsp, store_axi_rsp;
  logic [CountBits-1:0]  dram_rd_bytes, dram_wr_bytes;

  npu_axi_master #(
    .LineBits (LineBits),
    .IdBits   (IdBits),
    .IdFetch  (IdFetch),
    .IdLoad   (IdLoad),
    .IdStore  (IdStore)
  ) u_axi_master (
    .clk_i,
    .rst_ni,
    .fetch_req_i (fetch_axi_req),
    .fetch_rsp_o (fetch_axi_rsp),
    .load_req_i  (load_axi_req),
    .load_rsp_o  (load_axi_rsp),
    .store_req_i (store_axi_req),
    .store_rsp_o (store_axi_rsp),
    .m_axi_req_o (m_axi_req),
    .m_axi_rsp_i (m_axi_rsp),
    .rd_bytes_o  (dram_rd_bytes),
    .wr_bytes_o  (dram_wr_bytes)
  );

  // ---------------------------------------------------------------------------------------
  // Fetch and dispatch
  // ---------------------------------------------------------------------------------------
  logic                insn_valid, insn_ready, halt_seen, running;
  logic [InsnBits-1:0] insn;
  logic [31:0]         insn_pc;
  logic                fetch_err, fetch_busy, fetch_beat;
  logic [7:0]          fetch_err_code;
  logic [31:0]         fetch_err_pc;

  npu_fetch #(
    .LineBits   (LineBits),
    .BurstBeats (FetchBurstBeats),
    .MaxBursts  (FetchMaxBursts),
    .IdBits     (IdBits)
  ) u_fetch (
    .clk_i,
    .rst_ni,
    .start_i      (start),
    .prog_base_i  (prog_base),
    .dram_base_i  (dram_base),
    .dram_size_i  (dram_size),
    .stop_i       (halt_seen || !running),
    .axi_req_o    (fetch_axi_req),
    .axi_rsp_i    (fetch_axi_rsp),
    .insn_valid_o (insn_valid),
    .insn_ready_i (insn_ready),
    .insn_o       (insn),
    .insn_pc_o    (insn_pc),
    .err_o        (fetch_err),
    .err_code_o   (fetch_err_code),
    .err_pc_o     (fetch_err_pc),
    .busy_o       (fetch_busy),
    .beat_o       (fetch_beat)
  );

  logic [NumQueues-1:0]          eng_valid, eng_ready, eng_done, eng_err, eng_busy, eng_stall;
  logic [NumQueues*InsnBits-1:0] eng_insn;
  logic [NumQueues*8-1:0]        eng_err_code;
  logic [NumQueues*32-1:0]       eng_err_info;
  logic                          spad_err;
  logic [7:0]                    spad_err_code;
  logic [NumQueues-1:0]          spad_err_queue, sem_wait;
  logic                          queue_full;
  logic [3:0]                    retired;

  npu_dispatch #(
    .QueueDepth     (QueueDepth),
    .MatmulInflight (MatmulInflight)
  ) u_dispatch (
    .clk_i,
    .rst_ni,
    .start_i          (start),
    .running_o        (running),
    .watchdog_limit_i (watchdog_limit),
    .insn_valid_i     (insn_valid),
    .insn_ready_o     (insn_ready),
    .insn_i           (insn),
    .insn_pc_i        (insn_pc),
    .halt_seen_o      (halt_seen),
    .fetch_err_i      (fetch_err),
    .fetch_err_code_i (fetch_err_code),
    .fetch_err_pc_i   (fetch_err_pc),
    .fetch_progress_i (fetch_beat),
    .eng_valid_o      (eng_valid),
    .eng_ready_i      (eng_ready),
    .eng_insn_o       (eng_insn),
    .eng_done_i       (eng_done),
    .eng_err_i        (eng_err),
    .eng_err_code_i   (eng_err_code),
    .eng_err_info_i   (eng_err_info),
    .eng_busy_i       (eng_busy),
    .eng_stall_i      (eng_stall),
    .spad_err_i       (spad_err),
    .spad_err_code_i  (spad_err_code),
    .spad_err_queue_i (spad_err_queue),
    .spad_err_info_i  (32'(sp_event_region)),
    .done_o           (done),
    .error_o          (error),
    .error_code_o     (error_code),
    .error_queue_o    (error_queue),
    .error_pc_o       (error_pc),
    .error_info_o     (error_info),
    .sem_values_o     (sem_values),
    .sem_wait_o       (sem_wait),
    .queue_full_o     (queue_full),
    .retired_o        (retired)
  );

  assign busy = running || fetch_busy || (|eng_busy);

  // ---------------------------------------------------------------------------------------
  // Scratchpad and its eight ports (spad_req_t / spad_rsp_t each)
  // ---------------------------------------------------------------------------------------
  logic [Ports*SpadReqBits-1:0] sp_req;
  logic [Ports*SpadRspBits-1:0] sp_rsp;
  logic [Ports-1:0]             sp_ow_violation, sp_bad_release;
  logic [15:0]                  sp_event_region;   // ERROR_INFO of OW_VIOLATION / BAD_RELEASE
  /* verilator coverage_off */
  logic [`NPU_SPAD_STATS_BITS-1:0] spad_stats;   // counted inside the scratchpad
  /* verilator coverage_on */

  // Once a program has stopped (an error), a write still waiting for a release is dropped as
  // in strict mode: its releaser may sit behind the error and never run, and the engine must
  // drain so that the NPU leaves BUSY and can start again (the dispatcher ignores scratchpad
  // errors while idle). While a program runs, CTRL.STRICT alone decides.
  npu_scratchpad_core #(
    `NPU_SPAD_PARAM_MAP,
    .Ports       (Ports)
  ) u_scratchpad (
    .clk_i,
    .rst_ni,
    .strict_i             (strict || !running),
    .req_i                (sp_req),
    .rsp_o                (sp_rsp),
    .ow_violation_o       (sp_ow_violation),
    .bad_release_o        (sp_bad_release),
    .event_region_o       (sp_event_region),
    .stat_clear_i         (start),
    .clear_locks_i        (start),
    .stats_o              (spad_stats)
  );

  // Port p belongs to queue PortQueue[p]; strict-mode scratchpad errors name that queue.
  function automatic logic [NumQueues-1:0] ports_to_queues(input logic [Ports-1:0] ports);
    ports_to_queues = {|ports[7:5], |ports[4:2], ports[1], ports[0]};
  endfunction

  always_comb begin
    spad_err       = 1'b0;
    spad_err_code  = npu_isa_pkg::ErrNone;
    spad_err_queue = '0;
    if (|sp_ow_violation) begin
      spad_err       = 1'b1;
      spad_err_code  = npu_isa_pkg::ErrOwViolation;
      spad_err_queue = ports_to_queues(sp_ow_violation);
    end else if (strict && (|sp_bad_release)) begin
      spad_err       = 1'b1;
      spad_err_code  = npu_isa_pkg::ErrBadRelease;
      spad_err_queue = ports_to_queues(sp_bad_release);
    end
  end

  // ---------------------------------------------------------------------------------------
  // Engines (queue q takes eng_insn[q]; scratchpad ports as in the header)
  // ---------------------------------------------------------------------------------------
  npu_dma_load #(
    `NPU_SPAD_PARAM_MAP,
    .MaxBursts   (DmaMaxBursts),
    .IdBits      (IdBits)
  ) u_dma_load (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT_QUEUE(0, InsnBits),
    .dram_base_i  (dram_base),
    .dram_size_i  (dram_size),
    .axi_req_o    (load_axi_req),
    .axi_rsp_i    (load_axi_rsp),
    .spad_req_o   (sp_req[0*SpadReqBits +: SpadReqBits]),
    .spad_rsp_i   (sp_rsp[0*SpadRspBits +: SpadRspBits])
  );

  npu_dma_store #(
    `NPU_SPAD_PARAM_MAP,
    .MaxBursts   (DmaMaxBursts),
    .FifoDepth   (DmaStoreFifoDepth),
    .IdBits      (IdBits)
  ) u_dma_store (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT_QUEUE(1, InsnBits),
    .dram_base_i  (dram_base),
    .dram_size_i  (dram_size),
    .axi_req_o    (store_axi_req),
    .axi_rsp_i    (store_axi_rsp),
    .spad_req_o   (sp_req[1*SpadReqBits +: SpadReqBits]),
    .spad_rsp_i   (sp_rsp[1*SpadRspBits +: SpadRspBits])
  );

  npu_matmul_engine #(
    .Dim         (Dim),
    .AccLines    (AccLines),
    .Inflight    (MatmulInflight),
    `NPU_ENGINE_SPAD_PARAM_MAP
  ) u_matmul_engine (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT_QUEUE(2, InsnBits),
    .a_req_o      (sp_req[2*SpadReqBits +: SpadReqBits]),
    .a_rsp_i      (sp_rsp[2*SpadRspBits +: SpadRspBits]),
    .b_req_o      (sp_req[3*SpadReqBits +: SpadReqBits]),
    .b_rsp_i      (sp_rsp[3*SpadRspBits +: SpadRspBits]),
    .c_req_o      (sp_req[4*SpadReqBits +: SpadReqBits]),
    .c_rsp_i      (sp_rsp[4*SpadRspBits +: SpadRspBits])
  );

  logic [npu_pkg::VecFlagBits-1:0] vector_flags;

  npu_vector_engine #(
    .Lanes       (Lanes),
    `NPU_ENGINE_SPAD_PARAM_MAP
  ) u_vector_engine (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT_QUEUE(3, InsnBits),
    .flags_o       (vector_flags),
    .flags_clear_i (start),
    .a_req_o       (sp_req[5*SpadReqBits +: SpadReqBits]),
    .a_rsp_i       (sp_rsp[5*SpadRspBits +: SpadRspBits]),
    .b_req_o       (sp_req[6*SpadReqBits +: SpadReqBits]),
    .b_rsp_i       (sp_rsp[6*SpadRspBits +: SpadRspBits]),
    .d_req_o       (sp_req[7*SpadReqBits +: SpadReqBits]),
    .d_rsp_i       (sp_rsp[7*SpadRspBits +: SpadRspBits])
  );

  // ---------------------------------------------------------------------------------------
  // Performance counters (order of hwdef/regs.py _COUNTERS), cleared by START
  // ---------------------------------------------------------------------------------------
  npu_perf_counters #(
    .NumQueues (NumQueues),
    .ByteBits  (CountBits)
  ) u_perf_counters (
    .clk_i,
    .rst_ni,
    .clear_i              (start),
    .running_i            (running),
    .retired_i            (retired),
    .eng_busy_i           (eng_busy),
    .eng_stall_i          (eng_stall),
    .sem_wait_i           (sem_wait),
    .queue_full_i         (queue_full),
    .dram_rd_bytes_i      (dram_rd_bytes),
    .dram_wr_bytes_i      (dram_wr_bytes),
    .spad_stats_i         (spad_stats),
    .vector_flags_i       (vector_flags),
    .counters_o           (counters)
  );

  logic unused;
  assign unused = ^sem_values[npu_isa_pkg::NumSemaphores*npu_isa_pkg::SemaphoreBits-1:32];
endmodule

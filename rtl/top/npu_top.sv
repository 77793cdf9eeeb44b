// The NPU: AXI4-Lite control slave, AXI4 DRAM master, completion interrupt.
//
// fetch -> dispatcher (semaphores, watchdog) -> four queues -> four engines that run
// concurrently on a shared, banked scratchpad (docs/architecture.md). Scratchpad ports:
//   0 DMA-in writes, 1 DMA-out reads, 2/3/4 matrix A/B/C, 5/6/7 vector a/b/result.
module npu_top #(
  parameter int unsigned Dim         = npu_pkg::ArrayDim,
  parameter int unsigned AccLines    = npu_pkg::AccLines,
  parameter int unsigned Lanes       = npu_pkg::VectorLanes,
  parameter int unsigned Banks       = npu_pkg::SpadBanks,
  parameter int unsigned BankLines   = npu_pkg::SpadBankLines,
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines,
  parameter int unsigned ReaderBits  = npu_pkg::SpadReaderBits,
  parameter int unsigned QueueDepth  = npu_pkg::QueueDepth,
  parameter int unsigned DmaMaxBursts      = npu_pkg::DmaMaxBursts,
  parameter int unsigned DmaStoreFifoDepth = npu_pkg::DmaStoreFifoDepth,
  parameter int unsigned FetchBurstBeats   = npu_pkg::FetchBurstBeats,
  parameter int unsigned FetchMaxBursts    = npu_pkg::FetchMaxBursts,
  parameter int unsigned IdBits      = npu_pkg::AxiIdBits,
  parameter int unsigned IdFetch = npu_pkg::AxiIdFetch,
  parameter int unsigned IdLoad = npu_pkg::AxiIdLoad,
  parameter int unsigned IdStore = npu_pkg::AxiIdStore,
  localparam int unsigned LineBits   = Lanes * 32,
  localparam int unsigned StrbBits   = LineBits / 8,
  localparam int unsigned CtrlAddrBits = 8
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  output logic                    irq_o,

  // AXI4-Lite control slave
  input  logic                    s_axil_awvalid_i,
  output logic                    s_axil_awready_o,
  input  logic [CtrlAddrBits-1:0] s_axil_awaddr_i,
  input  logic                    s_axil_wvalid_i,
  output logic                    s_axil_wready_o,
  input  logic [31:0]             s_axil_wdata_i,
  input  logic [3:0]              s_axil_wstrb_i,
  output logic                    s_axil_bvalid_o,
  input  logic                    s_axil_bready_i,
  output logic [1:0]              s_axil_bresp_o,
  input  logic                    s_axil_arvalid_i,
  output logic                    s_axil_arready_o,
  input  logic [CtrlAddrBits-1:0] s_axil_araddr_i,
  output logic                    s_axil_rvalid_o,
  input  logic                    s_axil_rready_i,
  output logic [31:0]             s_axil_rdata_o,
  output logic [1:0]              s_axil_rresp_o,

  // AXI4 DRAM master
  output logic [IdBits-1:0]       m_axi_awid_o,
  output logic [31:0]             m_axi_awaddr_o,
  output logic [7:0]              m_axi_awlen_o,
  output logic [2:0]              m_axi_awsize_o,
  output logic [1:0]              m_axi_awburst_o,
  output logic [3:0]              m_axi_awcache_o,
  output logic [2:0]              m_axi_awprot_o,
  output logic                    m_axi_awvalid_o,
  input  logic                    m_axi_awready_i,
  output logic [LineBits-1:0]     m_axi_wdata_o,
  output logic [StrbBits-1:0]     m_axi_wstrb_o,
  output logic                    m_axi_wlast_o,
  output logic                    m_axi_wvalid_o,
  input  logic                    m_axi_wready_i,
  input  logic [IdBits-1:0]       m_axi_bid_i,
  input  logic [1:0]              m_axi_bresp_i,
  input  logic                    m_axi_bvalid_i,
  output logic                    m_axi_bready_o,
  output logic [IdBits-1:0]       m_axi_arid_o,
  output logic [31:0]             m_axi_araddr_o,
  output logic [7:0]              m_axi_arlen_o,
  output logic [2:0]              m_axi_arsize_o,
  output logic [1:0]              m_axi_arburst_o,
  output logic [3:0]              m_axi_arcache_o,
  output logic [2:0]              m_axi_arprot_o,
  output logic                    m_axi_arvalid_o,
  input  logic                    m_axi_arready_i,
  input  logic [IdBits-1:0]       m_axi_rid_i,
  input  logic [LineBits-1:0]     m_axi_rdata_i,
  input  logic [1:0]              m_axi_rresp_i,
  input  logic                    m_axi_rlast_i,
  input  logic                    m_axi_rvalid_i,
  output logic                    m_axi_rready_o
);
  localparam int unsigned InsnBits    = npu_isa_pkg::InsnBits;
  localparam int unsigned NumQueues   = 4;
  localparam int unsigned Ports       = 8;
  localparam int unsigned SpadLines   = Banks * BankLines;
  localparam int unsigned AddrBits    = $clog2(SpadLines);
  localparam int unsigned NumCounters = npu_isa_pkg::NumCounters;
  localparam int unsigned CountBits   = $clog2(StrbBits + 1);

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
    .s_awvalid_i      (s_axil_awvalid_i),
    .s_awready_o      (s_axil_awready_o),
    .s_awaddr_i       (s_axil_awaddr_i),
    .s_wvalid_i       (s_axil_wvalid_i),
    .s_wready_o       (s_axil_wready_o),
    .s_wdata_i        (s_axil_wdata_i),
    .s_wstrb_i        (s_axil_wstrb_i),
    .s_bvalid_o       (s_axil_bvalid_o),
    .s_bready_i       (s_axil_bready_i),
    .s_bresp_o        (s_axil_bresp_o),
    .s_arvalid_i      (s_axil_arvalid_i),
    .s_arready_o      (s_axil_arready_o),
    .s_araddr_i       (s_axil_araddr_i),
    .s_rvalid_o       (s_axil_rvalid_o),
    .s_rready_i       (s_axil_rready_i),
    .s_rdata_o        (s_axil_rdata_o),
    .s_rresp_o        (s_axil_rresp_o),
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
  logic                fetch_ar_valid, fetch_ar_ready, fetch_r_valid, fetch_r_ready, fetch_r_last;
  logic [31:0]         fetch_ar_addr;
  logic [7:0]          fetch_ar_len;
  logic [LineBits-1:0] fetch_r_data;
  logic [1:0]          fetch_r_resp;
  logic                load_ar_valid, load_ar_ready, load_r_valid, load_r_ready, load_r_last;
  logic [31:0]         load_ar_addr;
  logic [7:0]          load_ar_len;
  logic [LineBits-1:0] load_r_data;
  logic [1:0]          load_r_resp;
  logic                store_aw_valid, store_aw_ready, store_w_valid, store_w_ready;
  logic                store_w_last, store_b_valid, store_b_ready;
  logic [31:0]         store_aw_addr;
  logic [7:0]          store_aw_len;
  logic [LineBits-1:0] store_w_data;
  logic [StrbBits-1:0] store_w_strb;
  logic [1:0]          store_b_resp;
  logic [CountBits-1:0] dram_rd_bytes, dram_wr_bytes;

  npu_axi_master #(
    .LineBits (LineBits),
    .IdBits   (IdBits),
    .IdFetch  (IdFetch),
    .IdLoad   (IdLoad),
    .IdStore  (IdStore)
  ) u_axi_master (
    .clk_i,
    .rst_ni,
    .fetch_ar_valid_i (fetch_ar_valid),
    .fetch_ar_ready_o (fetch_ar_ready),
    .fetch_ar_addr_i  (fetch_ar_addr),
    .fetch_ar_len_i   (fetch_ar_len),
    .fetch_r_valid_o  (fetch_r_valid),
    .fetch_r_ready_i  (fetch_r_ready),
    .fetch_r_data_o   (fetch_r_data),
    .fetch_r_resp_o   (fetch_r_resp),
    .fetch_r_last_o   (fetch_r_last),
    .load_ar_valid_i  (load_ar_valid),
    .load_ar_ready_o  (load_ar_ready),
    .load_ar_addr_i   (load_ar_addr),
    .load_ar_len_i    (load_ar_len),
    .load_r_valid_o   (load_r_valid),
    .load_r_ready_i   (load_r_ready),
    .load_r_data_o    (load_r_data),
    .load_r_resp_o    (load_r_resp),
    .load_r_last_o    (load_r_last),
    .store_aw_valid_i (store_aw_valid),
    .store_aw_ready_o (store_aw_ready),
    .store_aw_addr_i  (store_aw_addr),
    .store_aw_len_i   (store_aw_len),
    .store_w_valid_i  (store_w_valid),
    .store_w_ready_o  (store_w_ready),
    .store_w_data_i   (store_w_data),
    .store_w_strb_i   (store_w_strb),
    .store_w_last_i   (store_w_last),
    .store_b_valid_o  (store_b_valid),
    .store_b_ready_i  (store_b_ready),
    .store_b_resp_o   (store_b_resp),
    .m_axi_awid_o,
    .m_axi_awaddr_o,
    .m_axi_awlen_o,
    .m_axi_awsize_o,
    .m_axi_awburst_o,
    .m_axi_awcache_o,
    .m_axi_awprot_o,
    .m_axi_awvalid_o,
    .m_axi_awready_i,
    .m_axi_wdata_o,
    .m_axi_wstrb_o,
    .m_axi_wlast_o,
    .m_axi_wvalid_o,
    .m_axi_wready_i,
    .m_axi_bid_i,
    .m_axi_bresp_i,
    .m_axi_bvalid_i,
    .m_axi_bready_o,
    .m_axi_arid_o,
    .m_axi_araddr_o,
    .m_axi_arlen_o,
    .m_axi_arsize_o,
    .m_axi_arburst_o,
    .m_axi_arcache_o,
    .m_axi_arprot_o,
    .m_axi_arvalid_o,
    .m_axi_arready_i,
    .m_axi_rid_i,
    .m_axi_rdata_i,
    .m_axi_rresp_i,
    .m_axi_rlast_i,
    .m_axi_rvalid_i,
    .m_axi_rready_o,
    .rd_bytes_o       (dram_rd_bytes),
    .wr_bytes_o       (dram_wr_bytes)
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
    .MaxBursts  (FetchMaxBursts)
  ) u_fetch (
    .clk_i,
    .rst_ni,
    .start_i      (start),
    .prog_base_i  (prog_base),
    .dram_base_i  (dram_base),
    .dram_size_i  (dram_size),
    .stop_i       (halt_seen || !running),
    .ar_valid_o   (fetch_ar_valid),
    .ar_ready_i   (fetch_ar_ready),
    .ar_addr_o    (fetch_ar_addr),
    .ar_len_o     (fetch_ar_len),
    .r_valid_i    (fetch_r_valid),
    .r_ready_o    (fetch_r_ready),
    .r_data_i     (fetch_r_data),
    .r_resp_i     (fetch_r_resp),
    .r_last_i     (fetch_r_last),
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
  logic [3:0]                    retired;

  npu_dispatch #(.QueueDepth(QueueDepth)) u_dispatch (
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
    .done_o           (done),
    .error_o          (error),
    .error_code_o     (error_code),
    .error_queue_o    (error_queue),
    .error_pc_o       (error_pc),
    .error_info_o     (error_info),
    .sem_values_o     (sem_values),
    .sem_wait_o       (sem_wait),
    .retired_o        (retired)
  );

  assign busy = running || fetch_busy || (|eng_busy);

  // ---------------------------------------------------------------------------------------
  // Scratchpad and its eight ports
  // ---------------------------------------------------------------------------------------
  logic [Ports-1:0]            sp_req_valid, sp_req_ready, sp_req_write, sp_req_last_use;
  logic [Ports*AddrBits-1:0]   sp_req_addr;
  logic [Ports*LineBits-1:0]   sp_req_wdata;
  logic [Ports*StrbBits-1:0]   sp_req_wstrb;
  logic [Ports*ReaderBits-1:0] sp_req_readers;
  logic [Ports-1:0]            sp_rsp_valid, sp_ow_violation, sp_bad_release;
  logic [Ports*LineBits-1:0]   sp_rsp_rdata;
  logic [31:0] stat_reads, stat_writes, stat_conflicts, stat_ow_wait, stat_ow_violations;
  logic [31:0] stat_bad_release;

  npu_scratchpad #(
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .LineBits    (LineBits),
    .Ports       (Ports),
    .ReaderBits  (ReaderBits)
  ) u_scratchpad (
    .clk_i,
    .rst_ni,
    .strict_i             (strict),
    .req_valid_i          (sp_req_valid),
    .req_ready_o          (sp_req_ready),
    .req_write_i          (sp_req_write),
    .req_addr_i           (sp_req_addr),
    .req_wdata_i          (sp_req_wdata),
    .req_wstrb_i          (sp_req_wstrb),
    .req_readers_i        (sp_req_readers),
    .req_last_use_i       (sp_req_last_use),
    .rsp_valid_o          (sp_rsp_valid),
    .rsp_rdata_o          (sp_rsp_rdata),
    .ow_violation_o       (sp_ow_violation),
    .bad_release_o        (sp_bad_release),
    .stat_clear_i         (start),
    .stat_reads_o         (stat_reads),
    .stat_writes_o        (stat_writes),
    .stat_conflicts_o     (stat_conflicts),
    .stat_ow_wait_o       (stat_ow_wait),
    .stat_ow_violations_o (stat_ow_violations),
    .stat_bad_release_o   (stat_bad_release)
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
  // Engines
  // ---------------------------------------------------------------------------------------
  npu_dma_load #(
    .LineBits    (LineBits),
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .ReaderBits  (ReaderBits),
    .MaxBursts   (DmaMaxBursts)
  ) u_dma_load (
    .clk_i,
    .rst_ni,
    .insn_valid_i        (eng_valid[0]),
    .insn_ready_o        (eng_ready[0]),
    .insn_i              (eng_insn[0*InsnBits +: InsnBits]),
    .done_o              (eng_done[0]),
    .err_o               (eng_err[0]),
    .err_code_o          (eng_err_code[0*8 +: 8]),
    .err_info_o          (eng_err_info[0*32 +: 32]),
    .busy_o              (eng_busy[0]),
    .stall_o             (eng_stall[0]),
    .dram_base_i         (dram_base),
    .dram_size_i         (dram_size),
    .ar_valid_o          (load_ar_valid),
    .ar_ready_i          (load_ar_ready),
    .ar_addr_o           (load_ar_addr),
    .ar_len_o            (load_ar_len),
    .r_valid_i           (load_r_valid),
    .r_ready_o           (load_r_ready),
    .r_data_i            (load_r_data),
    .r_resp_i            (load_r_resp),
    .r_last_i            (load_r_last),
    .spad_req_valid_o    (sp_req_valid[0]),
    .spad_req_ready_i    (sp_req_ready[0]),
    .spad_req_write_o    (sp_req_write[0]),
    .spad_req_addr_o     (sp_req_addr[0*AddrBits +: AddrBits]),
    .spad_req_wdata_o    (sp_req_wdata[0*LineBits +: LineBits]),
    .spad_req_wstrb_o    (sp_req_wstrb[0*StrbBits +: StrbBits]),
    .spad_req_readers_o  (sp_req_readers[0*ReaderBits +: ReaderBits]),
    .spad_req_last_use_o (sp_req_last_use[0])
  );

  npu_dma_store #(
    .LineBits    (LineBits),
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .ReaderBits  (ReaderBits),
    .MaxBursts   (DmaMaxBursts),
    .FifoDepth   (DmaStoreFifoDepth)
  ) u_dma_store (
    .clk_i,
    .rst_ni,
    .insn_valid_i        (eng_valid[1]),
    .insn_ready_o        (eng_ready[1]),
    .insn_i              (eng_insn[1*InsnBits +: InsnBits]),
    .done_o              (eng_done[1]),
    .err_o               (eng_err[1]),
    .err_code_o          (eng_err_code[1*8 +: 8]),
    .err_info_o          (eng_err_info[1*32 +: 32]),
    .busy_o              (eng_busy[1]),
    .stall_o             (eng_stall[1]),
    .dram_base_i         (dram_base),
    .dram_size_i         (dram_size),
    .aw_valid_o          (store_aw_valid),
    .aw_ready_i          (store_aw_ready),
    .aw_addr_o           (store_aw_addr),
    .aw_len_o            (store_aw_len),
    .w_valid_o           (store_w_valid),
    .w_ready_i           (store_w_ready),
    .w_data_o            (store_w_data),
    .w_strb_o            (store_w_strb),
    .w_last_o            (store_w_last),
    .b_valid_i           (store_b_valid),
    .b_ready_o           (store_b_ready),
    .b_resp_i            (store_b_resp),
    .spad_req_valid_o    (sp_req_valid[1]),
    .spad_req_ready_i    (sp_req_ready[1]),
    .spad_req_write_o    (sp_req_write[1]),
    .spad_req_addr_o     (sp_req_addr[1*AddrBits +: AddrBits]),
    .spad_req_wdata_o    (sp_req_wdata[1*LineBits +: LineBits]),
    .spad_req_wstrb_o    (sp_req_wstrb[1*StrbBits +: StrbBits]),
    .spad_req_readers_o  (sp_req_readers[1*ReaderBits +: ReaderBits]),
    .spad_req_last_use_o (sp_req_last_use[1]),
    .spad_rsp_valid_i    (sp_rsp_valid[1]),
    .spad_rsp_rdata_i    (sp_rsp_rdata[1*LineBits +: LineBits])
  );

  npu_matmul_engine #(
    .Dim         (Dim),
    .AccLines    (AccLines),
    .SpadLines   (SpadLines),
    .LineBits    (LineBits),
    .RegionLines (RegionLines)
  ) u_matmul_engine (
    .clk_i,
    .rst_ni,
    .insn_valid_i     (eng_valid[2]),
    .insn_ready_o     (eng_ready[2]),
    .insn_i           (eng_insn[2*InsnBits +: InsnBits]),
    .done_o           (eng_done[2]),
    .err_o            (eng_err[2]),
    .err_code_o       (eng_err_code[2*8 +: 8]),
    .err_info_o       (eng_err_info[2*32 +: 32]),
    .busy_o           (eng_busy[2]),
    .stall_o          (eng_stall[2]),
    .a_req_valid_o    (sp_req_valid[2]),
    .a_req_ready_i    (sp_req_ready[2]),
    .a_req_write_o    (sp_req_write[2]),
    .a_req_addr_o     (sp_req_addr[2*AddrBits +: AddrBits]),
    .a_req_wdata_o    (sp_req_wdata[2*LineBits +: LineBits]),
    .a_req_wstrb_o    (sp_req_wstrb[2*StrbBits +: StrbBits]),
    .a_req_readers_o  (sp_req_readers[2*ReaderBits +: ReaderBits]),
    .a_req_last_use_o (sp_req_last_use[2]),
    .a_rsp_valid_i    (sp_rsp_valid[2]),
    .a_rsp_rdata_i    (sp_rsp_rdata[2*LineBits +: LineBits]),
    .b_req_valid_o    (sp_req_valid[3]),
    .b_req_ready_i    (sp_req_ready[3]),
    .b_req_write_o    (sp_req_write[3]),
    .b_req_addr_o     (sp_req_addr[3*AddrBits +: AddrBits]),
    .b_req_wdata_o    (sp_req_wdata[3*LineBits +: LineBits]),
    .b_req_wstrb_o    (sp_req_wstrb[3*StrbBits +: StrbBits]),
    .b_req_readers_o  (sp_req_readers[3*ReaderBits +: ReaderBits]),
    .b_req_last_use_o (sp_req_last_use[3]),
    .b_rsp_valid_i    (sp_rsp_valid[3]),
    .b_rsp_rdata_i    (sp_rsp_rdata[3*LineBits +: LineBits]),
    .c_req_valid_o    (sp_req_valid[4]),
    .c_req_ready_i    (sp_req_ready[4]),
    .c_req_write_o    (sp_req_write[4]),
    .c_req_addr_o     (sp_req_addr[4*AddrBits +: AddrBits]),
    .c_req_wdata_o    (sp_req_wdata[4*LineBits +: LineBits]),
    .c_req_wstrb_o    (sp_req_wstrb[4*StrbBits +: StrbBits]),
    .c_req_readers_o  (sp_req_readers[4*ReaderBits +: ReaderBits]),
    .c_req_last_use_o (sp_req_last_use[4]),
    .c_rsp_valid_i    (sp_rsp_valid[4]),
    .c_rsp_rdata_i    (sp_rsp_rdata[4*LineBits +: LineBits])
  );

  logic [npu_pkg::VecFlagBits-1:0] vector_flags;

  npu_vector_engine #(
    .Lanes       (Lanes),
    .SpadLines   (SpadLines),
    .LineBits    (LineBits),
    .RegionLines (RegionLines)
  ) u_vector_engine (
    .clk_i,
    .rst_ni,
    .insn_valid_i     (eng_valid[3]),
    .insn_ready_o     (eng_ready[3]),
    .insn_i           (eng_insn[3*InsnBits +: InsnBits]),
    .done_o           (eng_done[3]),
    .err_o            (eng_err[3]),
    .err_code_o       (eng_err_code[3*8 +: 8]),
    .err_info_o       (eng_err_info[3*32 +: 32]),
    .busy_o           (eng_busy[3]),
    .stall_o          (eng_stall[3]),
    .flags_o          (vector_flags),
    .flags_clear_i    (start),
    .a_req_valid_o    (sp_req_valid[5]),
    .a_req_ready_i    (sp_req_ready[5]),
    .a_req_write_o    (sp_req_write[5]),
    .a_req_addr_o     (sp_req_addr[5*AddrBits +: AddrBits]),
    .a_req_wdata_o    (sp_req_wdata[5*LineBits +: LineBits]),
    .a_req_wstrb_o    (sp_req_wstrb[5*StrbBits +: StrbBits]),
    .a_req_readers_o  (sp_req_readers[5*ReaderBits +: ReaderBits]),
    .a_req_last_use_o (sp_req_last_use[5]),
    .a_rsp_valid_i    (sp_rsp_valid[5]),
    .a_rsp_rdata_i    (sp_rsp_rdata[5*LineBits +: LineBits]),
    .b_req_valid_o    (sp_req_valid[6]),
    .b_req_ready_i    (sp_req_ready[6]),
    .b_req_write_o    (sp_req_write[6]),
    .b_req_addr_o     (sp_req_addr[6*AddrBits +: AddrBits]),
    .b_req_wdata_o    (sp_req_wdata[6*LineBits +: LineBits]),
    .b_req_wstrb_o    (sp_req_wstrb[6*StrbBits +: StrbBits]),
    .b_req_readers_o  (sp_req_readers[6*ReaderBits +: ReaderBits]),
    .b_req_last_use_o (sp_req_last_use[6]),
    .b_rsp_valid_i    (sp_rsp_valid[6]),
    .b_rsp_rdata_i    (sp_rsp_rdata[6*LineBits +: LineBits]),
    .d_req_valid_o    (sp_req_valid[7]),
    .d_req_ready_i    (sp_req_ready[7]),
    .d_req_write_o    (sp_req_write[7]),
    .d_req_addr_o     (sp_req_addr[7*AddrBits +: AddrBits]),
    .d_req_wdata_o    (sp_req_wdata[7*LineBits +: LineBits]),
    .d_req_wstrb_o    (sp_req_wstrb[7*StrbBits +: StrbBits]),
    .d_req_readers_o  (sp_req_readers[7*ReaderBits +: ReaderBits]),
    .d_req_last_use_o (sp_req_last_use[7]),
    .d_rsp_valid_i    (sp_rsp_valid[7]),
    .d_rsp_rdata_i    (sp_rsp_rdata[7*LineBits +: LineBits])
  );

  // ---------------------------------------------------------------------------------------
  // Performance counters (order of hwdef/regs.py _COUNTERS), cleared by START
  // ---------------------------------------------------------------------------------------
  logic [31:0] count_q [NumCounters];
  logic [31:0] count_inc [NumCounters];

  always_comb begin
    for (int c = 0; c < NumCounters; c++) count_inc[c] = '0;
    count_inc[npu_isa_pkg::CntCycles]      = 32'(running);
    count_inc[npu_isa_pkg::CntInsnRetired] = 32'(retired);
    for (int q = 0; q < NumQueues; q++) begin
      count_inc[npu_isa_pkg::CntDmaInBusy + q]    = 32'(eng_busy[q]);
      count_inc[npu_isa_pkg::CntDmaInStall + q]   = 32'(eng_busy[q] && eng_stall[q]);
      count_inc[npu_isa_pkg::CntDmaInSemWait + q] = 32'(sem_wait[q]);
    end
    count_inc[npu_isa_pkg::CntMatrixVectorOverlap] = 32'(eng_busy[2] && eng_busy[3]);
    count_inc[npu_isa_pkg::CntDramReadBytes]  = 32'(dram_rd_bytes);
    count_inc[npu_isa_pkg::CntDramWriteBytes] = 32'(dram_wr_bytes);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int c = 0; c < NumCounters; c++) count_q[c] <= '0;
    end else if (start) begin
      for (int c = 0; c < NumCounters; c++) count_q[c] <= '0;
    end else begin
      for (int c = 0; c < NumCounters; c++) count_q[c] <= count_q[c] + count_inc[c];
    end
  end

  always_comb begin
    for (int c = 0; c < NumCounters; c++) counters[c*32 +: 32] = count_q[c];
    // Kept by the scratchpad and the vector engine themselves (also cleared by START).
    counters[npu_isa_pkg::CntSpadReads*32 +: 32]     = stat_reads;
    counters[npu_isa_pkg::CntSpadWrites*32 +: 32]    = stat_writes;
    counters[npu_isa_pkg::CntBankConflicts*32 +: 32] = stat_conflicts;
    counters[npu_isa_pkg::CntOwWaits*32 +: 32]       = stat_ow_wait;
    counters[npu_isa_pkg::CntOwViolations*32 +: 32]  = stat_ow_violations;
    counters[npu_isa_pkg::CntVectorFlags*32 +: 32]   = 32'(vector_flags);
  end

  logic unused;
  assign unused = ^{stat_bad_release, sem_values[npu_isa_pkg::NumSemaphores*npu_isa_pkg::SemaphoreBits-1:32],
                    sp_rsp_valid[0], sp_rsp_rdata[0 +: LineBits]};
endmodule

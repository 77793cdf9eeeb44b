// SIMULATION ONLY: block test wrapper of the DRAM side (tb/blocks/test_dma.py).
//
//   npu_dma_load  --port 0 (writes)--> npu_scratchpad (3 ports) <--port 1 (reads)-- npu_dma_store
//        |  AR/R id 1                       ^ port 2: test bench (preload, readback, probes)  |
//        v                                                                            AW/W/B id 2
//   npu_axi_master <-- AR/R id 0: fetch client driven by the test bench
//        |
//   npu_dram_model (AXI4 slave memory with latency, bandwidth, back door)
//
// Besides wiring, it accumulates the AXI master's per-cycle byte counts, counts busy/stall
// cycles of both engines, and checks handshake stability: a request presented without being
// accepted (scratchpad ports 0/1, AXI AR, AW, W) must be presented unchanged in the next cycle.
// Every violation increments protocol_violations_o.
module npu_dma_tb #(
  parameter int unsigned LineBits    = npu_pkg::LineBits,
  parameter int unsigned Banks       = npu_pkg::SpadBanks,
  parameter int unsigned BankLines   = npu_pkg::SpadBankLines,
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines,
  parameter int unsigned ReaderBits  = npu_pkg::SpadReaderBits,
  parameter int unsigned MaxBursts   = npu_pkg::DmaMaxBursts,
  parameter int unsigned FifoDepth   = npu_pkg::DmaStoreFifoDepth,
  parameter int unsigned IdBits      = npu_pkg::AxiIdBits,
  parameter int unsigned MemBytes    = npu_pkg::DramBytes,
  localparam int unsigned Ports      = 3,
  localparam int unsigned AddrBits   = $clog2(Banks * BankLines),
  localparam int unsigned StrbBits   = LineBits / 8,
  localparam int unsigned InsnBits   = npu_isa_pkg::InsnBits
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,

  // DMA-load engine contract.
  input  logic                  load_insn_valid_i,
  output logic                  load_insn_ready_o,
  input  logic [InsnBits-1:0]   load_insn_i,
  output logic                  load_done_o,
  output logic                  load_err_o,
  output logic [7:0]            load_err_code_o,
  output logic [31:0]           load_err_info_o,
  output logic                  load_busy_o,
  output logic                  load_stall_o,

  // DMA-store engine contract.
  input  logic                  store_insn_valid_i,
  output logic                  store_insn_ready_o,
  input  logic [InsnBits-1:0]   store_insn_i,
  output logic                  store_done_o,
  output logic                  store_err_o,
  output logic [7:0]            store_err_code_o,
  output logic [31:0]           store_err_info_o,
  output logic                  store_busy_o,
  output logic                  store_stall_o,

  input  logic [31:0]           dram_base_i,
  input  logic [31:0]           dram_size_i,
  input  logic                  strict_i,

  // Scratchpad port 2, driven by the test bench.
  input  logic                  tb_req_valid_i,
  output logic                  tb_req_ready_o,
  input  logic                  tb_req_write_i,
  input  logic [AddrBits-1:0]   tb_req_addr_i,
  input  logic [LineBits-1:0]   tb_req_wdata_i,
  input  logic [StrbBits-1:0]   tb_req_wstrb_i,
  input  logic [ReaderBits-1:0] tb_req_readers_i,
  input  logic                  tb_req_last_use_i,
  output logic                  tb_rsp_valid_o,
  output logic [LineBits-1:0]   tb_rsp_rdata_o,

  input  logic                  stat_clear_i,
  output logic [31:0]           stat_reads_o,
  output logic [31:0]           stat_writes_o,
  output logic [31:0]           stat_conflicts_o,
  output logic [31:0]           stat_ow_wait_o,
  output logic [31:0]           stat_ow_violations_o,
  output logic [31:0]           stat_bad_release_o,

  // Fetch client of the AXI master, driven by the test bench.
  input  logic                  fetch_ar_valid_i,
  output logic                  fetch_ar_ready_o,
  input  logic [31:0]           fetch_ar_addr_i,
  input  logic [7:0]            fetch_ar_len_i,
  output logic                  fetch_r_valid_o,
  input  logic                  fetch_r_ready_i,
  output logic [LineBits-1:0]   fetch_r_data_o,
  output logic [1:0]            fetch_r_resp_o,
  output logic                  fetch_r_last_o,

  // DRAM model controls and counters.
  input  logic [15:0]           dram_lat_min_i,
  input  logic [15:0]           dram_lat_max_i,
  input  logic [15:0]           dram_bytes_per_cycle_i,
  input  logic [31:0]           dram_seed_i,
  input  logic                  dram_load_req_i,
  input  logic                  dram_dump_req_i,
  input  logic [31:0]           dram_dump_first_i,
  input  logic [31:0]           dram_dump_last_i,
  output logic [31:0]           dram_rd_bytes_o,
  output logic [31:0]           dram_wr_bytes_o,
  output logic [31:0]           dram_rd_bursts_o,
  output logic [31:0]           dram_wr_bursts_o,
  output logic [31:0]           dram_protocol_errors_o,
  output logic [31:0]           dram_max_rd_queued_o,
  output logic [31:0]           dram_rd_pending_o,
  output logic [31:0]           dram_wr_pending_o,

  // Bench counters.
  output logic [31:0]           npu_rd_bytes_o,
  output logic [31:0]           npu_wr_bytes_o,
  output logic [31:0]           load_busy_cycles_o,
  output logic [31:0]           load_stall_cycles_o,
  output logic [31:0]           store_busy_cycles_o,
  output logic [31:0]           store_stall_cycles_o,
  output logic [31:0]           protocol_violations_o
);

  localparam int unsigned CountBits = $clog2(StrbBits + 1);

  // ---- scratchpad ports ---------------------------------------------------------------------
  logic                  ld_valid, ld_ready, ld_write, ld_last_use;
  logic [AddrBits-1:0]   ld_addr;
  logic [LineBits-1:0]   ld_wdata;
  logic [StrbBits-1:0]   ld_wstrb;
  logic [ReaderBits-1:0] ld_readers;
  logic                  st_valid, st_ready, st_write, st_last_use;
  logic [AddrBits-1:0]   st_addr;
  logic [LineBits-1:0]   st_wdata;
  logic [StrbBits-1:0]   st_wstrb;
  logic [ReaderBits-1:0] st_readers;

  logic [Ports-1:0]          sp_valid, sp_ready, sp_write, sp_last_use, sp_rsp_valid;
  logic [Ports*AddrBits-1:0] sp_addr;
  logic [Ports*LineBits-1:0] sp_wdata, sp_rdata;
  logic [Ports*StrbBits-1:0] sp_wstrb;
  logic [Ports*ReaderBits-1:0] sp_readers;
  logic [Ports-1:0]          unused_viol, unused_bad;

  assign sp_valid    = {tb_req_valid_i, st_valid, ld_valid};
  assign sp_write    = {tb_req_write_i, st_write, ld_write};
  assign sp_last_use = {tb_req_last_use_i, st_last_use, ld_last_use};
  assign sp_addr     = {tb_req_addr_i, st_addr, ld_addr};
  assign sp_wdata    = {tb_req_wdata_i, st_wdata, ld_wdata};
  assign sp_wstrb    = {tb_req_wstrb_i, st_wstrb, ld_wstrb};
  assign sp_readers  = {tb_req_readers_i, st_readers, ld_readers};
  assign ld_ready       = sp_ready[0];
  assign st_ready       = sp_ready[1];
  assign tb_req_ready_o = sp_ready[2];
  assign tb_rsp_valid_o = sp_rsp_valid[2];
  assign tb_rsp_rdata_o = sp_rdata[2*LineBits +: LineBits];

  npu_scratchpad #(
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .LineBits    (LineBits),
    .Ports       (Ports),
    .ReaderBits  (ReaderBits)
  ) u_spad (
    .clk_i,
    .rst_ni,
    .strict_i,
    .req_valid_i          (sp_valid),
    .req_ready_o          (sp_ready),
    .req_write_i          (sp_write),
    .req_addr_i           (sp_addr),
    .req_wdata_i          (sp_wdata),
    .req_wstrb_i          (sp_wstrb),
    .req_readers_i        (sp_readers),
    .req_last_use_i       (sp_last_use),
    .rsp_valid_o          (sp_rsp_valid),
    .rsp_rdata_o          (sp_rdata),
    .ow_violation_o       (unused_viol),
    .bad_release_o        (unused_bad),
    .stat_clear_i,
    .stat_reads_o,
    .stat_writes_o,
    .stat_conflicts_o,
    .stat_ow_wait_o,
    .stat_ow_violations_o,
    .stat_bad_release_o
  );

  // ---- engines --------------------------------------------------------------------------------
  logic                ld_ar_valid, ld_ar_ready, ld_r_valid, ld_r_ready, ld_r_last;
  logic [31:0]         ld_ar_addr;
  logic [7:0]          ld_ar_len;
  logic [LineBits-1:0] ld_r_data;
  logic [1:0]          ld_r_resp;

  npu_dma_load #(
    .LineBits    (LineBits),
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .ReaderBits  (ReaderBits),
    .MaxBursts   (MaxBursts)
  ) u_load (
    .clk_i,
    .rst_ni,
    .insn_valid_i        (load_insn_valid_i),
    .insn_ready_o        (load_insn_ready_o),
    .insn_i              (load_insn_i),
    .done_o              (load_done_o),
    .err_o               (load_err_o),
    .err_code_o          (load_err_code_o),
    .err_info_o          (load_err_info_o),
    .busy_o              (load_busy_o),
    .stall_o             (load_stall_o),
    .dram_base_i,
    .dram_size_i,
    .ar_valid_o          (ld_ar_valid),
    .ar_ready_i          (ld_ar_ready),
    .ar_addr_o           (ld_ar_addr),
    .ar_len_o            (ld_ar_len),
    .r_valid_i           (ld_r_valid),
    .r_ready_o           (ld_r_ready),
    .r_data_i            (ld_r_data),
    .r_resp_i            (ld_r_resp),
    .r_last_i            (ld_r_last),
    .spad_req_valid_o    (ld_valid),
    .spad_req_ready_i    (ld_ready),
    .spad_req_write_o    (ld_write),
    .spad_req_addr_o     (ld_addr),
    .spad_req_wdata_o    (ld_wdata),
    .spad_req_wstrb_o    (ld_wstrb),
    .spad_req_readers_o  (ld_readers),
    .spad_req_last_use_o (ld_last_use)
  );

  logic                st_aw_valid, st_aw_ready, st_w_valid, st_w_ready, st_w_last;
  logic                st_b_valid, st_b_ready;
  logic [31:0]         st_aw_addr;
  logic [7:0]          st_aw_len;
  logic [LineBits-1:0] st_w_data;
  logic [StrbBits-1:0] st_w_strb;
  logic [1:0]          st_b_resp;

  npu_dma_store #(
    .LineBits    (LineBits),
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .ReaderBits  (ReaderBits),
    .MaxBursts   (MaxBursts),
    .FifoDepth   (FifoDepth)
  ) u_store (
    .clk_i,
    .rst_ni,
    .insn_valid_i        (store_insn_valid_i),
    .insn_ready_o        (store_insn_ready_o),
    .insn_i              (store_insn_i),
    .done_o              (store_done_o),
    .err_o               (store_err_o),
    .err_code_o          (store_err_code_o),
    .err_info_o          (store_err_info_o),
    .busy_o              (store_busy_o),
    .stall_o             (store_stall_o),
    .dram_base_i,
    .dram_size_i,
    .aw_valid_o          (st_aw_valid),
    .aw_ready_i          (st_aw_ready),
    .aw_addr_o           (st_aw_addr),
    .aw_len_o            (st_aw_len),
    .w_valid_o           (st_w_valid),
    .w_ready_i           (st_w_ready),
    .w_data_o            (st_w_data),
    .w_strb_o            (st_w_strb),
    .w_last_o            (st_w_last),
    .b_valid_i           (st_b_valid),
    .b_ready_o           (st_b_ready),
    .b_resp_i            (st_b_resp),
    .spad_req_valid_o    (st_valid),
    .spad_req_ready_i    (st_ready),
    .spad_req_write_o    (st_write),
    .spad_req_addr_o     (st_addr),
    .spad_req_wdata_o    (st_wdata),
    .spad_req_wstrb_o    (st_wstrb),
    .spad_req_readers_o  (st_readers),
    .spad_req_last_use_o (st_last_use),
    .spad_rsp_valid_i    (sp_rsp_valid[1]),
    .spad_rsp_rdata_i    (sp_rdata[LineBits +: LineBits])
  );

  // ---- AXI ------------------------------------------------------------------------------------
  logic [IdBits-1:0]   awid, bid, arid, rid;
  logic [31:0]         awaddr, araddr;
  logic [7:0]          awlen, arlen;
  logic [2:0]          awsize, arsize, awprot, arprot;
  logic [1:0]          awburst, arburst, bresp, rresp;
  logic [3:0]          awcache, arcache;
  logic                awvalid, awready, wlast, wvalid, wready, bvalid, bready;
  logic                arvalid, arready, rlast, rvalid, rready;
  logic [LineBits-1:0] wdata, rdata;
  logic [StrbBits-1:0] wstrb;
  logic [CountBits-1:0] rd_bytes, wr_bytes;

  npu_axi_master #(
    .LineBits (LineBits),
    .IdBits   (IdBits)
  ) u_axi (
    .clk_i,
    .rst_ni,
    .fetch_ar_valid_i,
    .fetch_ar_ready_o,
    .fetch_ar_addr_i,
    .fetch_ar_len_i,
    .fetch_r_valid_o,
    .fetch_r_ready_i,
    .fetch_r_data_o,
    .fetch_r_resp_o,
    .fetch_r_last_o,
    .load_ar_valid_i  (ld_ar_valid),
    .load_ar_ready_o  (ld_ar_ready),
    .load_ar_addr_i   (ld_ar_addr),
    .load_ar_len_i    (ld_ar_len),
    .load_r_valid_o   (ld_r_valid),
    .load_r_ready_i   (ld_r_ready),
    .load_r_data_o    (ld_r_data),
    .load_r_resp_o    (ld_r_resp),
    .load_r_last_o    (ld_r_last),
    .store_aw_valid_i (st_aw_valid),
    .store_aw_ready_o (st_aw_ready),
    .store_aw_addr_i  (st_aw_addr),
    .store_aw_len_i   (st_aw_len),
    .store_w_valid_i  (st_w_valid),
    .store_w_ready_o  (st_w_ready),
    .store_w_data_i   (st_w_data),
    .store_w_strb_i   (st_w_strb),
    .store_w_last_i   (st_w_last),
    .store_b_valid_o  (st_b_valid),
    .store_b_ready_i  (st_b_ready),
    .store_b_resp_o   (st_b_resp),
    .m_axi_awid_o     (awid),
    .m_axi_awaddr_o   (awaddr),
    .m_axi_awlen_o    (awlen),
    .m_axi_awsize_o   (awsize),
    .m_axi_awburst_o  (awburst),
    .m_axi_awcache_o  (awcache),
    .m_axi_awprot_o   (awprot),
    .m_axi_awvalid_o  (awvalid),
    .m_axi_awready_i  (awready),
    .m_axi_wdata_o    (wdata),
    .m_axi_wstrb_o    (wstrb),
    .m_axi_wlast_o    (wlast),
    .m_axi_wvalid_o   (wvalid),
    .m_axi_wready_i   (wready),
    .m_axi_bid_i      (bid),
    .m_axi_bresp_i    (bresp),
    .m_axi_bvalid_i   (bvalid),
    .m_axi_bready_o   (bready),
    .m_axi_arid_o     (arid),
    .m_axi_araddr_o   (araddr),
    .m_axi_arlen_o    (arlen),
    .m_axi_arsize_o   (arsize),
    .m_axi_arburst_o  (arburst),
    .m_axi_arcache_o  (arcache),
    .m_axi_arprot_o   (arprot),
    .m_axi_arvalid_o  (arvalid),
    .m_axi_arready_i  (arready),
    .m_axi_rid_i      (rid),
    .m_axi_rdata_i    (rdata),
    .m_axi_rresp_i    (rresp),
    .m_axi_rlast_i    (rlast),
    .m_axi_rvalid_i   (rvalid),
    .m_axi_rready_o   (rready),
    .rd_bytes_o       (rd_bytes),
    .wr_bytes_o       (wr_bytes)
  );

  npu_dram_model #(
    .DataBits (LineBits),
    .IdBits   (IdBits),
    .MemBytes (MemBytes)
  ) u_dram (
    .clk_i,
    .rst_ni,
    .lat_min_i         (dram_lat_min_i),
    .lat_max_i         (dram_lat_max_i),
    .bytes_per_cycle_i (dram_bytes_per_cycle_i),
    .seed_i            (dram_seed_i),
    .load_req_i        (dram_load_req_i),
    .dump_req_i        (dram_dump_req_i),
    .dump_first_i      (dram_dump_first_i),
    .dump_last_i       (dram_dump_last_i),
    .s_axi_awid_i      (awid),
    .s_axi_awaddr_i    (awaddr),
    .s_axi_awlen_i     (awlen),
    .s_axi_awsize_i    (awsize),
    .s_axi_awburst_i   (awburst),
    .s_axi_awvalid_i   (awvalid),
    .s_axi_awready_o   (awready),
    .s_axi_wdata_i     (wdata),
    .s_axi_wstrb_i     (wstrb),
    .s_axi_wlast_i     (wlast),
    .s_axi_wvalid_i    (wvalid),
    .s_axi_wready_o    (wready),
    .s_axi_bid_o       (bid),
    .s_axi_bresp_o     (bresp),
    .s_axi_bvalid_o    (bvalid),
    .s_axi_bready_i    (bready),
    .s_axi_arid_i      (arid),
    .s_axi_araddr_i    (araddr),
    .s_axi_arlen_i     (arlen),
    .s_axi_arsize_i    (arsize),
    .s_axi_arburst_i   (arburst),
    .s_axi_arvalid_i   (arvalid),
    .s_axi_arready_o   (arready),
    .s_axi_rid_o       (rid),
    .s_axi_rdata_o     (rdata),
    .s_axi_rresp_o     (rresp),
    .s_axi_rlast_o     (rlast),
    .s_axi_rvalid_o    (rvalid),
    .s_axi_rready_i    (rready),
    .rd_bytes_o        (dram_rd_bytes_o),
    .wr_bytes_o        (dram_wr_bytes_o),
    .rd_bursts_o       (dram_rd_bursts_o),
    .wr_bursts_o       (dram_wr_bursts_o),
    .protocol_errors_o (dram_protocol_errors_o),
    .max_rd_queued_o   (dram_max_rd_queued_o),
    .rd_pending_o      (dram_rd_pending_o),
    .wr_pending_o      (dram_wr_pending_o)
  );

  // ---- bench counters and handshake stability checks ---------------------------------------
  // Snapshot of every request that was presented and not accepted in the previous cycle.
  logic                  p_ld, p_st, p_ar, p_aw, p_w;
  logic [AddrBits+LineBits+StrbBits+ReaderBits+1:0] s_ld;
  logic [AddrBits:0]     s_st;
  logic [IdBits+39:0]    s_ar, s_aw;
  logic [LineBits+StrbBits:0] s_w;
  logic [31:0]           viol_q;

  wire [AddrBits+LineBits+StrbBits+ReaderBits+1:0] c_ld =
      {ld_write, ld_last_use, ld_addr, ld_wdata, ld_wstrb, ld_readers};
  wire [AddrBits:0]          c_st = {st_last_use, st_addr};
  wire [IdBits+39:0]         c_ar = {arid, araddr, arlen};
  wire [IdBits+39:0]         c_aw = {awid, awaddr, awlen};
  wire [LineBits+StrbBits:0] c_w  = {wlast, wdata, wstrb};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      npu_rd_bytes_o       <= '0;
      npu_wr_bytes_o       <= '0;
      load_busy_cycles_o   <= '0;
      load_stall_cycles_o  <= '0;
      store_busy_cycles_o  <= '0;
      store_stall_cycles_o <= '0;
      viol_q               <= '0;
      p_ld <= 1'b0;
      p_st <= 1'b0;
      p_ar <= 1'b0;
      p_aw <= 1'b0;
      p_w  <= 1'b0;
      s_ld <= '0;
      s_st <= '0;
      s_ar <= '0;
      s_aw <= '0;
      s_w  <= '0;
    end else begin
      npu_rd_bytes_o       <= npu_rd_bytes_o + 32'(rd_bytes);
      npu_wr_bytes_o       <= npu_wr_bytes_o + 32'(wr_bytes);
      load_busy_cycles_o   <= load_busy_cycles_o + 32'(load_busy_o);
      load_stall_cycles_o  <= load_stall_cycles_o + 32'(load_stall_o);
      store_busy_cycles_o  <= store_busy_cycles_o + 32'(store_busy_o);
      store_stall_cycles_o <= store_stall_cycles_o + 32'(store_stall_o);

      viol_q <= viol_q + 32'(p_ld && !(ld_valid && c_ld == s_ld))
                       + 32'(p_st && !(st_valid && c_st == s_st))
                       + 32'(p_ar && !(arvalid && c_ar == s_ar))
                       + 32'(p_aw && !(awvalid && c_aw == s_aw))
                       + 32'(p_w && !(wvalid && c_w == s_w))
                       + 32'(load_stall_o && !load_busy_o)
                       + 32'(store_stall_o && !store_busy_o)
                       + 32'(load_done_o && load_err_o)
                       + 32'(store_done_o && store_err_o);
      p_ld <= ld_valid && !ld_ready;
      p_st <= st_valid && !st_ready;
      p_ar <= arvalid && !arready;
      p_aw <= awvalid && !awready;
      p_w  <= wvalid && !wready;
      s_ld <= c_ld;
      s_st <= c_st;
      s_ar <= c_ar;
      s_aw <= c_aw;
      s_w  <= c_w;
    end
  end

  assign protocol_violations_o = viol_q;

  logic unused_tb;
  assign unused_tb = ^{unused_viol, unused_bad,
                       awcache, awprot, arcache, arprot, sp_rsp_valid[0],
                       sp_rdata[0 +: LineBits]};

endmodule

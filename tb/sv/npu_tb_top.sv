// SIMULATION ONLY (not synthesizable, lives outside rtl/): the NPU with its DRAM model and a
// free-running clock, for the top-level test benches.
//
// The clock, the DRAM model and every data movement run inside the simulator; Python only
// drives reset and the AXI4-Lite control port, loads/dumps DRAM through the model's back door,
// and waits for the interrupt. Built with --timing for the clock generator.
module npu_tb_top #(
  parameter int unsigned Dim         = npu_pkg::ArrayDim,
  parameter int unsigned AccLines    = npu_pkg::AccLines,
  parameter int unsigned Lanes       = npu_pkg::VectorLanes,
  parameter int unsigned Banks       = npu_pkg::SpadBanks,
  parameter int unsigned BankLines   = npu_pkg::SpadBankLines,
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines,
  // Microarchitecture constants, passed to npu_top (hwdef/configs.toml).
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
  parameter int unsigned MemBytes    = npu_pkg::DramBytes,
  parameter int unsigned ClockPeriodNs = 10
) (
  output logic        clk,
  input  logic        rst_ni,
  output logic        irq_o,
  // AXI4-Lite control port, driven by the Python host agent
  input  logic        s_axil_awvalid_i,
  output logic        s_axil_awready_o,
  input  logic [7:0]  s_axil_awaddr_i,
  input  logic        s_axil_wvalid_i,
  output logic        s_axil_wready_o,
  input  logic [31:0] s_axil_wdata_i,
  input  logic [3:0]  s_axil_wstrb_i,
  output logic        s_axil_bvalid_o,
  input  logic        s_axil_bready_i,
  output logic [1:0]  s_axil_bresp_o,
  input  logic        s_axil_arvalid_i,
  output logic        s_axil_arready_o,
  input  logic [7:0]  s_axil_araddr_i,
  output logic        s_axil_rvalid_o,
  input  logic        s_axil_rready_i,
  output logic [31:0] s_axil_rdata_o,
  output logic [1:0]  s_axil_rresp_o,
  // DRAM model controls and statistics
  input  logic [15:0] dram_lat_min_i,
  input  logic [15:0] dram_lat_max_i,
  input  logic [15:0] dram_bytes_per_cycle_i,
  input  logic [31:0] dram_seed_i,
  input  logic        dram_load_req_i,
  input  logic        dram_dump_req_i,
  input  logic [31:0] dram_dump_first_i,
  input  logic [31:0] dram_dump_last_i,
  output logic [31:0] dram_rd_bytes_o,
  output logic [31:0] dram_wr_bytes_o,
  output logic [31:0] dram_protocol_errors_o,
  output logic [63:0] cycle_o
);
  localparam int unsigned LineBits = Lanes * 32;
  localparam int unsigned StrbBits = LineBits / 8;

  initial clk = 1'b0;
  always #(ClockPeriodNs / 2) clk = ~clk;

  always_ff @(posedge clk or negedge rst_ni) begin
    if (!rst_ni) cycle_o <= '0;
    else         cycle_o <= cycle_o + 64'd1;
  end

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
  logic [31:0]         unused_bursts_rd, unused_bursts_wr, unused_max_queued;
  logic [31:0]         unused_rd_pending, unused_wr_pending;

  npu_top #(
    .Dim(Dim), .AccLines(AccLines), .Lanes(Lanes), .Banks(Banks), .BankLines(BankLines),
    .RegionLines(RegionLines), .ReaderBits(ReaderBits), .QueueDepth(QueueDepth),
    .DmaMaxBursts(DmaMaxBursts), .DmaStoreFifoDepth(DmaStoreFifoDepth),
    .FetchBurstBeats(FetchBurstBeats), .FetchMaxBursts(FetchMaxBursts), .IdBits(IdBits),
    .IdFetch(IdFetch), .IdLoad(IdLoad), .IdStore(IdStore)
  ) u_npu (
    .clk_i (clk),
    .rst_ni,
    .irq_o,
    .s_axil_awvalid_i, .s_axil_awready_o, .s_axil_awaddr_i, .s_axil_wvalid_i,
    .s_axil_wready_o, .s_axil_wdata_i, .s_axil_wstrb_i, .s_axil_bvalid_o, .s_axil_bready_i,
    .s_axil_bresp_o, .s_axil_arvalid_i, .s_axil_arready_o, .s_axil_araddr_i,
    .s_axil_rvalid_o, .s_axil_rready_i, .s_axil_rdata_o, .s_axil_rresp_o,
    .m_axi_awid_o (awid), .m_axi_awaddr_o (awaddr), .m_axi_awlen_o (awlen),
    .m_axi_awsize_o (awsize), .m_axi_awburst_o (awburst), .m_axi_awcache_o (awcache),
    .m_axi_awprot_o (awprot), .m_axi_awvalid_o (awvalid), .m_axi_awready_i (awready),
    .m_axi_wdata_o (wdata), .m_axi_wstrb_o (wstrb), .m_axi_wlast_o (wlast),
    .m_axi_wvalid_o (wvalid), .m_axi_wready_i (wready),
    .m_axi_bid_i (bid), .m_axi_bresp_i (bresp), .m_axi_bvalid_i (bvalid),
    .m_axi_bready_o (bready),
    .m_axi_arid_o (arid), .m_axi_araddr_o (araddr), .m_axi_arlen_o (arlen),
    .m_axi_arsize_o (arsize), .m_axi_arburst_o (arburst), .m_axi_arcache_o (arcache),
    .m_axi_arprot_o (arprot), .m_axi_arvalid_o (arvalid), .m_axi_arready_i (arready),
    .m_axi_rid_i (rid), .m_axi_rdata_i (rdata), .m_axi_rresp_i (rresp),
    .m_axi_rlast_i (rlast), .m_axi_rvalid_i (rvalid), .m_axi_rready_o (rready)
  );

  npu_dram_model #(.DataBits(LineBits), .IdBits(IdBits), .MemBytes(MemBytes)) u_dram (
    .clk_i (clk),
    .rst_ni,
    .lat_min_i         (dram_lat_min_i),
    .lat_max_i         (dram_lat_max_i),
    .bytes_per_cycle_i (dram_bytes_per_cycle_i),
    .seed_i            (dram_seed_i),
    .load_req_i        (dram_load_req_i),
    .dump_req_i        (dram_dump_req_i),
    .dump_first_i      (dram_dump_first_i),
    .dump_last_i       (dram_dump_last_i),
    .s_axi_awid_i (awid), .s_axi_awaddr_i (awaddr), .s_axi_awlen_i (awlen),
    .s_axi_awsize_i (awsize), .s_axi_awburst_i (awburst), .s_axi_awvalid_i (awvalid),
    .s_axi_awready_o (awready), .s_axi_wdata_i (wdata), .s_axi_wstrb_i (wstrb),
    .s_axi_wlast_i (wlast), .s_axi_wvalid_i (wvalid), .s_axi_wready_o (wready),
    .s_axi_bid_o (bid), .s_axi_bresp_o (bresp), .s_axi_bvalid_o (bvalid),
    .s_axi_bready_i (bready),
    .s_axi_arid_i (arid), .s_axi_araddr_i (araddr), .s_axi_arlen_i (arlen),
    .s_axi_arsize_i (arsize), .s_axi_arburst_i (arburst), .s_axi_arvalid_i (arvalid),
    .s_axi_arready_o (arready), .s_axi_rid_o (rid), .s_axi_rdata_o (rdata),
    .s_axi_rresp_o (rresp), .s_axi_rlast_o (rlast), .s_axi_rvalid_o (rvalid),
    .s_axi_rready_i (rready),
    .rd_bytes_o        (dram_rd_bytes_o),
    .wr_bytes_o        (dram_wr_bytes_o),
    .rd_bursts_o       (unused_bursts_rd),
    .wr_bursts_o       (unused_bursts_wr),
    .protocol_errors_o (dram_protocol_errors_o),
    .max_rd_queued_o   (unused_max_queued),
    .rd_pending_o      (unused_rd_pending),
    .wr_pending_o      (unused_wr_pending)
  );

  // ---- Activity trace (+npu_trace=<file>), for timelines -----------------------------------
  // One line per change of the engines' busy bits, "<cycle> <busy>" with busy in binary
  // (bit 0 DMA-in, 1 DMA-out, 2 matrix, 3 vector), "start <cycle>" at each CTRL.START and
  // "done <cycle>" at each interrupt; cycles are this wrapper's free-running count. Written
  // by the simulator, so Python stays off the per-cycle path. Off without the plusarg.
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
      if (irq_o && !trace_irq_q) begin
        $fwrite(trace_fd, "done %0d\n", cycle_o);
        $fflush(trace_fd);
      end
      trace_busy_q <= u_npu.eng_busy;
      trace_irq_q  <= irq_o;
    end
  end
endmodule

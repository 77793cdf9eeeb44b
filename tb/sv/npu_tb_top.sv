// SIMULATION ONLY (not synthesizable, lives outside rtl/): the NPU with its DRAM model and a
// free-running clock, for the top-level test benches.
//
// The clock, the DRAM model and every data movement run inside the simulator; Python only
// drives reset and the AXI4-Lite control port, loads/dumps DRAM through the model's back door,
// and waits for the interrupt. Built with --timing for the clock generator.
`include "npu_typedef.svh"

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
    .s_axi_req_i       (dram_req),
    .s_axi_rsp_o       (dram_rsp),
    .stats_o           (dram_stats)
  );

  assign dram_rd_bytes_o        = dram_stats.rd_bytes;
  assign dram_wr_bytes_o        = dram_stats.wr_bytes;
  assign dram_protocol_errors_o = dram_stats.protocol_errors;

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

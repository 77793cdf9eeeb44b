// The NPU's one AXI4 master port towards DRAM (docs/dma.md).
//
// Read clients: instruction fetch (AXI ID IdFetch) and DMA-load (IdLoad). Their AR requests are
// arbitrated round-robin into one AR register (so ARVALID/ARADDR stay stable until ARREADY,
// whatever a client does with its own valid after losing); a client's ready is its grant into
// the register. Any number of bursts of both clients may be in flight: R beats are routed back
// by RID. A beat with an unknown RID is accepted and dropped so the bus never hangs.
// Write client: DMA-store (IdStore); AW, W and B pass straight through (the engine already
// registers AW and W). Every burst is INCR with full-width beats (AxSIZE = log2(LineBits/8)).
//
// rd_bytes_o / wr_bytes_o: bytes moved on the bus this cycle (an R beat counts LineBits/8
// bytes, whatever client it belongs to; a W beat counts its strobed bytes), for the top's
// DRAM_READ_BYTES / DRAM_WRITE_BYTES counters.
module npu_axi_master #(
  parameter int unsigned LineBits = npu_pkg::LineBits,   // AXI data width
  parameter int unsigned IdBits   = npu_pkg::AxiIdBits,
  parameter int unsigned IdFetch = npu_pkg::AxiIdFetch,
  parameter int unsigned IdLoad  = npu_pkg::AxiIdLoad,
  parameter int unsigned IdStore = npu_pkg::AxiIdStore,
  localparam int unsigned StrbBits  = LineBits / 8,
  localparam int unsigned CountBits = $clog2(StrbBits + 1)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,

  // Read client 0: instruction fetch.
  input  logic                 fetch_ar_valid_i,
  output logic                 fetch_ar_ready_o,
  input  logic [31:0]          fetch_ar_addr_i,
  input  logic [7:0]           fetch_ar_len_i,
  output logic                 fetch_r_valid_o,
  input  logic                 fetch_r_ready_i,
  output logic [LineBits-1:0]  fetch_r_data_o,
  output logic [1:0]           fetch_r_resp_o,
  output logic                 fetch_r_last_o,

  // Read client 1: DMA-load.
  input  logic                 load_ar_valid_i,
  output logic                 load_ar_ready_o,
  input  logic [31:0]          load_ar_addr_i,
  input  logic [7:0]           load_ar_len_i,
  output logic                 load_r_valid_o,
  input  logic                 load_r_ready_i,
  output logic [LineBits-1:0]  load_r_data_o,
  output logic [1:0]           load_r_resp_o,
  output logic                 load_r_last_o,

  // Write client: DMA-store.
  input  logic                 store_aw_valid_i,
  output logic                 store_aw_ready_o,
  input  logic [31:0]          store_aw_addr_i,
  input  logic [7:0]           store_aw_len_i,
  input  logic                 store_w_valid_i,
  output logic                 store_w_ready_o,
  input  logic [LineBits-1:0]  store_w_data_i,
  input  logic [StrbBits-1:0]  store_w_strb_i,
  input  logic                 store_w_last_i,
  output logic                 store_b_valid_o,
  input  logic                 store_b_ready_i,
  output logic [1:0]           store_b_resp_o,

  // AXI4 master.
  output logic [IdBits-1:0]    m_axi_awid_o,
  output logic [31:0]          m_axi_awaddr_o,
  output logic [7:0]           m_axi_awlen_o,
  output logic [2:0]           m_axi_awsize_o,
  output logic [1:0]           m_axi_awburst_o,
  output logic [3:0]           m_axi_awcache_o,
  output logic [2:0]           m_axi_awprot_o,
  output logic                 m_axi_awvalid_o,
  input  logic                 m_axi_awready_i,
  output logic [LineBits-1:0]  m_axi_wdata_o,
  output logic [StrbBits-1:0]  m_axi_wstrb_o,
  output logic                 m_axi_wlast_o,
  output logic                 m_axi_wvalid_o,
  input  logic                 m_axi_wready_i,
  input  logic [IdBits-1:0]    m_axi_bid_i,
  input  logic [1:0]           m_axi_bresp_i,
  input  logic                 m_axi_bvalid_i,
  output logic                 m_axi_bready_o,
  output logic [IdBits-1:0]    m_axi_arid_o,
  output logic [31:0]          m_axi_araddr_o,
  output logic [7:0]           m_axi_arlen_o,
  output logic [2:0]           m_axi_arsize_o,
  output logic [1:0]           m_axi_arburst_o,
  output logic [3:0]           m_axi_arcache_o,
  output logic [2:0]           m_axi_arprot_o,
  output logic                 m_axi_arvalid_o,
  input  logic                 m_axi_arready_i,
  input  logic [IdBits-1:0]    m_axi_rid_i,
  input  logic [LineBits-1:0]  m_axi_rdata_i,
  input  logic [1:0]           m_axi_rresp_i,
  input  logic                 m_axi_rlast_i,
  input  logic                 m_axi_rvalid_i,
  output logic                 m_axi_rready_o,

  // Bytes moved this cycle.
  output logic [CountBits-1:0] rd_bytes_o,
  output logic [CountBits-1:0] wr_bytes_o
);

  localparam logic [IdBits-1:0] ArIdFetch = IdBits'(IdFetch);
  localparam logic [IdBits-1:0] ArIdLoad  = IdBits'(IdLoad);
  localparam logic [IdBits-1:0] AwIdStore = IdBits'(IdStore);
  localparam logic [2:0] Size      = 3'($clog2(StrbBits));
  localparam logic [1:0] BurstIncr = 2'b01;
  // Normal non-cacheable bufferable, unprivileged secure data access.
  localparam logic [3:0] Cache     = 4'b0011;
  localparam logic [2:0] Prot      = 3'b000;

  if (StrbBits < 2 || (1 << $clog2(StrbBits)) != StrbBits || StrbBits > 128) begin : g_bad_width
    $error("npu_axi_master: LineBits must be a power of two between 16 and 1024");
  end

  // ---------------------------------------------------------------------------------------
  // AR: round-robin between fetch and DMA-load into one register
  // ---------------------------------------------------------------------------------------
  logic              arv_q;
  logic [IdBits-1:0] arid_q;
  logic [31:0]       araddr_q;
  logic [7:0]        arlen_q;
  logic              last_load_q;    // the previous grant went to DMA-load
  logic              ar_free, pick_load, ar_take;

  assign ar_free   = !arv_q || m_axi_arready_i;
  // Both asking: the one not served last time; otherwise whoever asks.
  assign pick_load = load_ar_valid_i && (!fetch_ar_valid_i || !last_load_q);
  assign ar_take   = ar_free && (fetch_ar_valid_i || load_ar_valid_i);

  assign fetch_ar_ready_o = ar_free && !pick_load;
  assign load_ar_ready_o  = ar_free && pick_load;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      arv_q       <= 1'b0;
      arid_q      <= '0;
      araddr_q    <= '0;
      arlen_q     <= '0;
      last_load_q <= 1'b0;
    end else if (ar_take) begin
      arv_q       <= 1'b1;
      arid_q      <= pick_load ? ArIdLoad : ArIdFetch;
      araddr_q    <= pick_load ? load_ar_addr_i : fetch_ar_addr_i;
      arlen_q     <= pick_load ? load_ar_len_i : fetch_ar_len_i;
      last_load_q <= pick_load;
    end else if (m_axi_arready_i) begin
      arv_q       <= 1'b0;
    end
  end

  assign m_axi_arid_o    = arid_q;
  assign m_axi_araddr_o  = araddr_q;
  assign m_axi_arlen_o   = arlen_q;
  assign m_axi_arsize_o  = Size;
  assign m_axi_arburst_o = BurstIncr;
  assign m_axi_arcache_o = Cache;
  assign m_axi_arprot_o  = Prot;
  assign m_axi_arvalid_o = arv_q;

  // ---------------------------------------------------------------------------------------
  // R: route by RID
  // ---------------------------------------------------------------------------------------
  logic r_fetch, r_load;
  assign r_fetch = m_axi_rid_i == ArIdFetch;
  assign r_load  = m_axi_rid_i == ArIdLoad;

  assign fetch_r_valid_o = m_axi_rvalid_i && r_fetch;
  assign fetch_r_data_o  = m_axi_rdata_i;
  assign fetch_r_resp_o  = m_axi_rresp_i;
  assign fetch_r_last_o  = m_axi_rlast_i;
  assign load_r_valid_o  = m_axi_rvalid_i && r_load;
  assign load_r_data_o   = m_axi_rdata_i;
  assign load_r_resp_o   = m_axi_rresp_i;
  assign load_r_last_o   = m_axi_rlast_i;
  assign m_axi_rready_o  = r_fetch ? fetch_r_ready_i : (r_load ? load_r_ready_i : 1'b1);

  // ---------------------------------------------------------------------------------------
  // AW / W / B: DMA-store only
  // ---------------------------------------------------------------------------------------
  logic b_store;
  assign b_store = m_axi_bid_i == AwIdStore;

  assign m_axi_awid_o     = AwIdStore;
  assign m_axi_awaddr_o   = store_aw_addr_i;
  assign m_axi_awlen_o    = store_aw_len_i;
  assign m_axi_awsize_o   = Size;
  assign m_axi_awburst_o  = BurstIncr;
  assign m_axi_awcache_o  = Cache;
  assign m_axi_awprot_o   = Prot;
  assign m_axi_awvalid_o  = store_aw_valid_i;
  assign store_aw_ready_o = m_axi_awready_i;

  assign m_axi_wdata_o    = store_w_data_i;
  assign m_axi_wstrb_o    = store_w_strb_i;
  assign m_axi_wlast_o    = store_w_last_i;
  assign m_axi_wvalid_o   = store_w_valid_i;
  assign store_w_ready_o  = m_axi_wready_i;

  assign store_b_valid_o  = m_axi_bvalid_i && b_store;
  assign store_b_resp_o   = m_axi_bresp_i;
  assign m_axi_bready_o   = b_store ? store_b_ready_i : 1'b1;

  // ---------------------------------------------------------------------------------------
  // Byte counts
  // ---------------------------------------------------------------------------------------
  always_comb begin
    wr_bytes_o = '0;
    if (store_w_valid_i && m_axi_wready_i) begin
      for (int unsigned k = 0; k < StrbBits; k++) begin
        wr_bytes_o = wr_bytes_o + CountBits'(store_w_strb_i[k]);
      end
    end
  end
  assign rd_bytes_o = (m_axi_rvalid_i && m_axi_rready_o) ? CountBits'(StrbBits) : '0;

endmodule

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
// Every port is an AXI bundle (axi_req_t / axi_rsp_t, rtl/include/npu_typedef.svh). Clients
// leave ID, size, burst, cache and prot at zero and see zero IDs in their responses.
//
// rd_bytes_o / wr_bytes_o: bytes moved on the bus this cycle (an R beat counts LineBits/8
// bytes, whatever client it belongs to; a W beat counts its strobed bytes), for the top's
// DRAM_READ_BYTES / DRAM_WRITE_BYTES counters.
`include "npu_typedef.svh"

module npu_axi_master #(
  parameter int unsigned LineBits = npu_pkg::LineBits,   // AXI data width
  parameter int unsigned IdBits   = npu_pkg::AxiIdBits,
  parameter int unsigned IdFetch  = npu_pkg::AxiIdFetch,
  parameter int unsigned IdLoad   = npu_pkg::AxiIdLoad,
  parameter int unsigned IdStore  = npu_pkg::AxiIdStore,
  localparam int unsigned StrbBits   = LineBits / 8,
  localparam int unsigned CountBits  = $clog2(StrbBits + 1),
  localparam int unsigned AxiReqBits = `NPU_AXI_REQ_BITS(IdBits, LineBits),
  localparam int unsigned AxiRspBits = `NPU_AXI_RSP_BITS(IdBits, LineBits)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,

  // Read client 0: instruction fetch (AR, R).
  input  logic [AxiReqBits-1:0] fetch_req_i,
  output logic [AxiRspBits-1:0] fetch_rsp_o,
  // Read client 1: DMA-load (AR, R).
  input  logic [AxiReqBits-1:0] load_req_i,
  output logic [AxiRspBits-1:0] load_rsp_o,
  // Write client: DMA-store (AW, W, B).
  input  logic [AxiReqBits-1:0] store_req_i,
  output logic [AxiRspBits-1:0] store_rsp_o,

  // AXI4 master.
  output logic [AxiReqBits-1:0] m_axi_req_o,
  input  logic [AxiRspBits-1:0] m_axi_rsp_i,

  // Bytes moved this cycle.
  output logic [CountBits-1:0]  rd_bytes_o,
  output logic [CountBits-1:0]  wr_bytes_o
);

  `NPU_AXI_TYPEDEF_ALL(IdBits, LineBits)

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

  // Struct views of the bundle ports: the same wires as the ports, kept out of toggle coverage.
  // Read clients drive no write channel and the write client no read channel; clients leave
  // the ID and burst attributes to this block.
  /* verilator coverage_off */
  /* verilator lint_off UNUSEDSIGNAL */
  axi_req_t fetch_req, load_req, store_req;
  axi_rsp_t m_rsp;
  /* verilator lint_on UNUSEDSIGNAL */
  axi_rsp_t fetch_rsp, load_rsp, store_rsp;
  axi_req_t m_req;
  /* verilator coverage_on */

  assign fetch_req   = fetch_req_i;
  assign load_req    = load_req_i;
  assign store_req   = store_req_i;
  assign m_rsp       = m_axi_rsp_i;
  assign fetch_rsp_o = fetch_rsp;
  assign load_rsp_o  = load_rsp;
  assign store_rsp_o = store_rsp;
  assign m_axi_req_o = m_req;

  // ---------------------------------------------------------------------------------------
  // AR: round-robin between fetch and DMA-load into one register
  // ---------------------------------------------------------------------------------------
  logic              arv_q;
  logic [IdBits-1:0] arid_q;
  logic [31:0]       araddr_q;
  logic [7:0]        arlen_q;
  logic              last_load_q;    // the previous grant went to DMA-load
  logic              ar_free, pick_load, ar_take;

  assign ar_free   = !arv_q || m_rsp.ar_ready;
  // Both asking: the one not served last time; otherwise whoever asks.
  assign pick_load = load_req.ar_valid && (!fetch_req.ar_valid || !last_load_q);
  assign ar_take   = ar_free && (fetch_req.ar_valid || load_req.ar_valid);

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
      araddr_q    <= pick_load ? load_req.ar.addr : fetch_req.ar.addr;
      arlen_q     <= pick_load ? load_req.ar.len : fetch_req.ar.len;
      last_load_q <= pick_load;
    end else if (m_rsp.ar_ready) begin
      arv_q       <= 1'b0;
    end
  end

  assign m_req.ar.id    = arid_q;
  assign m_req.ar.addr  = araddr_q;
  assign m_req.ar.len   = arlen_q;
  assign m_req.ar.size  = Size;
  assign m_req.ar.burst = BurstIncr;
  assign m_req.ar.cache = Cache;
  assign m_req.ar.prot  = Prot;
  assign m_req.ar_valid = arv_q;

  // ---------------------------------------------------------------------------------------
  // R: route by RID
  // ---------------------------------------------------------------------------------------
  logic r_fetch, r_load;
  assign r_fetch = m_rsp.r.id == ArIdFetch;
  assign r_load  = m_rsp.r.id == ArIdLoad;

  // Each client sees its own AR ready and R beats (with ID 0); nothing of the write side.
  always_comb begin
    fetch_rsp          = '0;
    fetch_rsp.ar_ready = ar_free && !pick_load;
    fetch_rsp.r.data   = m_rsp.r.data;
    fetch_rsp.r.resp   = m_rsp.r.resp;
    fetch_rsp.r.last   = m_rsp.r.last;
    fetch_rsp.r_valid  = m_rsp.r_valid && r_fetch;
    load_rsp           = '0;
    load_rsp.ar_ready  = ar_free && pick_load;
    load_rsp.r.data    = m_rsp.r.data;
    load_rsp.r.resp    = m_rsp.r.resp;
    load_rsp.r.last    = m_rsp.r.last;
    load_rsp.r_valid   = m_rsp.r_valid && r_load;
  end

  assign m_req.r_ready = r_fetch ? fetch_req.r_ready : (r_load ? load_req.r_ready : 1'b1);

  // ---------------------------------------------------------------------------------------
  // AW / W / B: DMA-store only
  // ---------------------------------------------------------------------------------------
  logic b_store;
  assign b_store = m_rsp.b.id == AwIdStore;

  assign m_req.aw.id    = AwIdStore;
  assign m_req.aw.addr  = store_req.aw.addr;
  assign m_req.aw.len   = store_req.aw.len;
  assign m_req.aw.size  = Size;
  assign m_req.aw.burst = BurstIncr;
  assign m_req.aw.cache = Cache;
  assign m_req.aw.prot  = Prot;
  assign m_req.aw_valid = store_req.aw_valid;
  assign m_req.w        = store_req.w;
  assign m_req.w_valid  = store_req.w_valid;
  assign m_req.b_ready  = b_store ? store_req.b_ready : 1'b1;

  always_comb begin
    store_rsp          = '0;
    store_rsp.aw_ready = m_rsp.aw_ready;
    store_rsp.w_ready  = m_rsp.w_ready;
    store_rsp.b.resp   = m_rsp.b.resp;
    store_rsp.b_valid  = m_rsp.b_valid && b_store;
  end

  // ---------------------------------------------------------------------------------------
  // Byte counts
  // ---------------------------------------------------------------------------------------
  always_comb begin
    wr_bytes_o = '0;
    if (store_req.w_valid && m_rsp.w_ready) begin
      for (int unsigned k = 0; k < StrbBits; k++) begin
        wr_bytes_o = wr_bytes_o + CountBits'(store_req.w.strb[k]);
      end
    end
  end
  assign rd_bytes_o = (m_rsp.r_valid && m_req.r_ready) ? CountBits'(StrbBits) : '0;

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions: AXI4 master rules (A3.2.1: once VALID is asserted it stays asserted, with
  // its payload unchanged, until the handshake) -------------------------------------------------
  `NPU_ASSERT(AxiArHeld_A, m_req.ar_valid && !m_rsp.ar_ready |=> m_req.ar_valid,
              "ARVALID dropped before ARREADY")
  `NPU_ASSERT(AxiArStable_A, m_req.ar_valid && !m_rsp.ar_ready |=> $stable(m_req.ar),
              "AR payload changed before ARREADY")
  `NPU_ASSERT(AxiAwHeld_A, m_req.aw_valid && !m_rsp.aw_ready |=> m_req.aw_valid,
              "AWVALID dropped before AWREADY")
  `NPU_ASSERT(AxiAwStable_A, m_req.aw_valid && !m_rsp.aw_ready |=> $stable(m_req.aw),
              "AW payload changed before AWREADY")
  `NPU_ASSERT(AxiWHeld_A, m_req.w_valid && !m_rsp.w_ready |=> m_req.w_valid,
              "WVALID dropped before WREADY")
  `NPU_ASSERT(AxiWStable_A, m_req.w_valid && !m_rsp.w_ready |=> $stable(m_req.w),
              "W payload changed before WREADY")
  // AR arbitration: the register is loaded only from a client that requests.
  `NPU_ASSERT(AxiArGntOnlyReq_A,
              ar_take |-> (pick_load ? load_req.ar_valid : fetch_req.ar_valid),
              "AR register loaded from a client that does not request")
`endif

endmodule

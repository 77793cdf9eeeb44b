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
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_dma_tb #(
  `NPU_SPAD_PARAMS,
  parameter int unsigned MaxBursts   = npu_pkg::DmaMaxBursts,
  parameter int unsigned FifoDepth   = npu_pkg::DmaStoreFifoDepth,
  parameter int unsigned IdBits      = npu_pkg::AxiIdBits,
  parameter int unsigned MemBytes    = npu_pkg::DramBytes,
  localparam int unsigned Ports      = 3,
  localparam int unsigned InsnBits   = npu_isa_pkg::InsnBits
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,

  // DMA-load and DMA-store engine contracts.
  `NPU_ENGINE_PORTS(load_, logic [InsnBits-1:0]),
  `NPU_ENGINE_PORTS(store_, logic [InsnBits-1:0]),

  input  logic [31:0]           dram_base_i,
  input  logic [31:0]           dram_size_i,
  input  logic                  strict_i,

  // Scratchpad port 2, driven by the test bench.
  `NPU_TB_SPAD_HOST_PORTS(tb_),

  input  logic                  stat_clear_i,
  `NPU_SPAD_STAT_PORTS,

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
  `NPU_TB_DRAM_CTRL_PORTS,
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

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF
  `NPU_AXI_TYPEDEF_ALL(IdBits, LineBits)

  // ---- scratchpad: port 0 DMA-load, 1 DMA-store, 2 test bench --------------------------------
  spad_req_t [Ports-1:0] sp_req;
  spad_rsp_t [Ports-1:0] sp_rsp;
  spad_stats_t           stats;
  logic [Ports-1:0]      unused_viol, unused_bad;
  logic [15:0]           unused_region;

  `NPU_TB_SPAD_HOST_ASSIGN(tb_, sp_req[2], sp_rsp[2])

  `NPU_TB_SPAD_CORE(sp_req, sp_rsp, unused_viol, unused_bad, unused_region, stat_clear_i, stats)
  `NPU_SPAD_STAT_ASSIGN(stats)

  // ---- engines --------------------------------------------------------------------------------
  axi_req_t fetch_req, load_req, store_req, m_req;
  axi_rsp_t fetch_rsp, load_rsp, store_rsp, m_rsp;

  npu_dma_load #(
    `NPU_SPAD_PARAM_MAP,
    .MaxBursts   (MaxBursts),
    .IdBits      (IdBits)
  ) u_load (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT(load_),
    .dram_base_i,
    .dram_size_i,
    .axi_req_o    (load_req),
    .axi_rsp_i    (load_rsp),
    .spad_req_o   (sp_req[0]),
    .spad_rsp_i   (sp_rsp[0])
  );

  npu_dma_store #(
    `NPU_SPAD_PARAM_MAP,
    .MaxBursts   (MaxBursts),
    .FifoDepth   (FifoDepth),
    .IdBits      (IdBits)
  ) u_store (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT(store_),
    .dram_base_i,
    .dram_size_i,
    .axi_req_o    (store_req),
    .axi_rsp_i    (store_rsp),
    .spad_req_o   (sp_req[1]),
    .spad_rsp_i   (sp_rsp[1])
  );

  // ---- AXI: the test bench's fetch client, the master and the DRAM model ---------------------
  logic [CountBits-1:0] rd_bytes, wr_bytes;
  npu_dram_model_pkg::dram_stats_t dram_stats;
  // R channel on the DRAM side, probed by tb/blocks/test_dma.py (RID order of interleaved reads).
  logic                 rvalid, rready;
  logic [IdBits-1:0]    rid;

  assign rvalid = m_rsp.r_valid;
  assign rready = m_req.r_ready;
  assign rid    = m_rsp.r.id;

  always_comb begin
    fetch_req          = '0;
    fetch_req.ar.addr  = fetch_ar_addr_i;
    fetch_req.ar.len   = fetch_ar_len_i;
    fetch_req.ar_valid = fetch_ar_valid_i;
    fetch_req.r_ready  = fetch_r_ready_i;
  end
  assign fetch_ar_ready_o = fetch_rsp.ar_ready;
  assign fetch_r_valid_o  = fetch_rsp.r_valid;
  assign fetch_r_data_o   = fetch_rsp.r.data;
  assign fetch_r_resp_o   = fetch_rsp.r.resp;
  assign fetch_r_last_o   = fetch_rsp.r.last;

  npu_axi_master #(
    .LineBits (LineBits),
    .IdBits   (IdBits)
  ) u_axi (
    .clk_i,
    .rst_ni,
    .fetch_req_i (fetch_req),
    .fetch_rsp_o (fetch_rsp),
    .load_req_i  (load_req),
    .load_rsp_o  (load_rsp),
    .store_req_i (store_req),
    .store_rsp_o (store_rsp),
    .m_axi_req_o (m_req),
    .m_axi_rsp_i (m_rsp),
    .rd_bytes_o  (rd_bytes),
    .wr_bytes_o  (wr_bytes)
  );

  `NPU_TB_DRAM_MODEL(clk_i, LineBits, m_req, m_rsp, dram_stats)

  assign dram_rd_bytes_o        = dram_stats.rd_bytes;
  assign dram_wr_bytes_o        = dram_stats.wr_bytes;
  assign dram_rd_bursts_o       = dram_stats.rd_bursts;
  assign dram_wr_bursts_o       = dram_stats.wr_bursts;
  assign dram_protocol_errors_o = dram_stats.protocol_errors;
  assign dram_max_rd_queued_o   = dram_stats.max_rd_queued;
  assign dram_rd_pending_o      = dram_stats.rd_pending;
  assign dram_wr_pending_o      = dram_stats.wr_pending;

  // ---- bench counters and handshake stability checks ---------------------------------------
  // Snapshot of every request that was presented and not accepted in the previous cycle.
  logic                  p_ld, p_st, p_ar, p_aw, p_w;
  logic [AddrBits+LineBits+StrbBits+ReaderBits+1:0] s_ld;
  logic [AddrBits:0]     s_st;
  logic [IdBits+39:0]    s_ar, s_aw;
  logic [LineBits+StrbBits:0] s_w;
  logic [31:0]           viol_q;

  wire [AddrBits+LineBits+StrbBits+ReaderBits+1:0] c_ld =
      {sp_req[0].write, sp_req[0].last_use, sp_req[0].addr, sp_req[0].wdata, sp_req[0].wstrb,
       sp_req[0].readers};
  wire [AddrBits:0]          c_st = {sp_req[1].last_use, sp_req[1].addr};
  wire [IdBits+39:0]         c_ar = {m_req.ar.id, m_req.ar.addr, m_req.ar.len};
  wire [IdBits+39:0]         c_aw = {m_req.aw.id, m_req.aw.addr, m_req.aw.len};
  wire [LineBits+StrbBits:0] c_w  = {m_req.w.last, m_req.w.data, m_req.w.strb};

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

      viol_q <= viol_q + 32'(p_ld && !(sp_req[0].valid && c_ld == s_ld))
                       + 32'(p_st && !(sp_req[1].valid && c_st == s_st))
                       + 32'(p_ar && !(m_req.ar_valid && c_ar == s_ar))
                       + 32'(p_aw && !(m_req.aw_valid && c_aw == s_aw))
                       + 32'(p_w && !(m_req.w_valid && c_w == s_w))
                       + 32'(load_stall_o && !load_busy_o)
                       + 32'(store_stall_o && !store_busy_o)
                       + 32'(load_done_o && load_err_o)
                       + 32'(store_done_o && store_err_o);
      p_ld <= sp_req[0].valid && !sp_rsp[0].ready;
      p_st <= sp_req[1].valid && !sp_rsp[1].ready;
      p_ar <= m_req.ar_valid && !m_rsp.ar_ready;
      p_aw <= m_req.aw_valid && !m_rsp.aw_ready;
      p_w  <= m_req.w_valid && !m_rsp.w_ready;
      s_ld <= c_ld;
      s_st <= c_st;
      s_ar <= c_ar;
      s_aw <= c_aw;
      s_w  <= c_w;
    end
  end

  assign protocol_violations_o = viol_q;

  logic unused_tb;
  assign unused_tb = ^{unused_viol, unused_bad, unused_region};

endmodule

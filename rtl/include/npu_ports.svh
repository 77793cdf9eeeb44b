// Port lists and port connections that several modules repeat, as macros (one place to edit).
//
// The engine contract (docs/architecture.md "Engine contract") is the same nine signals on all
// four engines, the dispatcher side of npu_top and the test bench wrappers; the external AXI4 /
// AXI4-Lite port lists and npu_top's parameter list are repeated by the wrappers that must keep
// the same flat names for cocotb. Macros rather than struct ports because those names are what
// benches and SoC integration bind to. `Pfx` prefixes a signal name (empty for none); `I` / `O`
// are the input / output suffixes (`_i` / `_o`, or empty for cocotbext-axi's plain names).
// The SIMULATION ONLY section at the end serves tb/sv (whose only include path is this folder).
`ifndef NPU_PORTS_SVH
`define NPU_PORTS_SVH

// ---- Scratchpad geometry ---------------------------------------------------------------------
// The parameters of the scratchpad's size and port format and the widths they imply, the same
// in the scratchpad, the DMA engines and the engine wrappers (hwdef/configs.toml).
`define NPU_SPAD_PARAMS                                      \
  parameter int unsigned Banks       = npu_pkg::SpadBanks,       \
  parameter int unsigned BankLines   = npu_pkg::SpadBankLines,   \
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines, \
  parameter int unsigned LineBits    = npu_pkg::LineBits,        \
  parameter int unsigned ReaderBits  = npu_pkg::SpadReaderBits,  \
  localparam int unsigned AddrBits   = $clog2(Banks * BankLines), \
  localparam int unsigned StrbBits   = LineBits / 8

// Parameter overrides of an npu_scratchpad(_core) / npu_dma_load / npu_dma_store instance, and
// of an engine's scratchpad side (npu_matmul_engine / npu_vector_engine), from the same names.
`define NPU_SPAD_PARAM_MAP                                   \
  .Banks       (Banks),                                      \
  .BankLines   (BankLines),                                  \
  .RegionLines (RegionLines),                                \
  .LineBits    (LineBits),                                   \
  .ReaderBits  (ReaderBits)

`define NPU_ENGINE_SPAD_PARAM_MAP                            \
  .SpadLines   (SpadLines),                                  \
  .LineBits    (LineBits),                                   \
  .RegionLines (RegionLines),                                \
  .ReaderBits  (ReaderBits)

// Scratchpad statistics as flat 32-bit outputs (the spad_stats_t fields) and their assignment.
`define NPU_SPAD_STAT_PORTS                                  \
  output logic [31:0] stat_reads_o,                          \
  output logic [31:0] stat_writes_o,                         \
  output logic [31:0] stat_conflicts_o,                      \
  output logic [31:0] stat_ow_wait_o,                        \
  output logic [31:0] stat_ow_violations_o,                  \
  output logic [31:0] stat_bad_release_o

`define NPU_SPAD_STAT_ASSIGN(Stats)                          \
  assign stat_reads_o         = Stats.reads;                 \
  assign stat_writes_o        = Stats.writes;                \
  assign stat_conflicts_o     = Stats.conflicts;             \
  assign stat_ow_wait_o       = Stats.ow_wait;               \
  assign stat_ow_violations_o = Stats.ow_violations;         \
  assign stat_bad_release_o   = Stats.bad_release;

// ---- Engine contract -------------------------------------------------------------------------
// One instruction is accepted on insn_valid && insn_ready; done (or err, with err_code an
// npu_isa_pkg::error_e and err_info the offending value) retires it; busy while any work is in
// flight, stall while busy and waiting.
`define NPU_ENGINE_PORTS(Pfx, InsnT)                         \
  input  logic        Pfx``insn_valid_i,                     \
  output logic        Pfx``insn_ready_o,                     \
  input  InsnT        Pfx``insn_i,                           \
  output logic        Pfx``done_o,                           \
  output logic        Pfx``err_o,                            \
  output logic [7:0]  Pfx``err_code_o,                       \
  output logic [31:0] Pfx``err_info_o,                       \
  output logic        Pfx``busy_o,                           \
  output logic        Pfx``stall_o

// An engine instance whose contract goes to same-named ports of the enclosing module.
`define NPU_ENGINE_CONNECT(Pfx)                              \
  .insn_valid_i (Pfx``insn_valid_i),                         \
  .insn_ready_o (Pfx``insn_ready_o),                         \
  .insn_i       (Pfx``insn_i),                               \
  .done_o       (Pfx``done_o),                               \
  .err_o        (Pfx``err_o),                                \
  .err_code_o   (Pfx``err_code_o),                           \
  .err_info_o   (Pfx``err_info_o),                           \
  .busy_o       (Pfx``busy_o),                               \
  .stall_o      (Pfx``stall_o)

// An engine instance on queue Q of the dispatcher's packed eng_* vectors (npu_top).
`define NPU_ENGINE_CONNECT_QUEUE(Q, InsnBits)                \
  .insn_valid_i (eng_valid[Q]),                              \
  .insn_ready_o (eng_ready[Q]),                              \
  .insn_i       (eng_insn[(Q)*(InsnBits) +: (InsnBits)]),    \
  .done_o       (eng_done[Q]),                               \
  .err_o        (eng_err[Q]),                                \
  .err_code_o   (eng_err_code[(Q)*8 +: 8]),                  \
  .err_info_o   (eng_err_info[(Q)*32 +: 32]),                \
  .busy_o       (eng_busy[Q]),                               \
  .stall_o      (eng_stall[Q])

// ---- npu_top's parameters (also those of its simulation wrappers) ----------------------------
`define NPU_TOP_PARAMS                                                  \
  parameter int unsigned Dim               = npu_pkg::ArrayDim,         \
  parameter int unsigned AccLines          = npu_pkg::AccLines,         \
  parameter int unsigned Lanes             = npu_pkg::VectorLanes,      \
  parameter int unsigned Banks             = npu_pkg::SpadBanks,        \
  parameter int unsigned BankLines         = npu_pkg::SpadBankLines,    \
  parameter int unsigned RegionLines       = npu_pkg::SpadRegionLines,  \
  /* Microarchitecture constants (hwdef/configs.toml). */               \
  parameter int unsigned ReaderBits        = npu_pkg::SpadReaderBits,   \
  parameter int unsigned QueueDepth        = npu_pkg::QueueDepth,       \
  parameter int unsigned MatmulInflight    = npu_pkg::MatmulInflight,   \
  parameter int unsigned DmaMaxBursts      = npu_pkg::DmaMaxBursts,     \
  parameter int unsigned DmaStoreFifoDepth = npu_pkg::DmaStoreFifoDepth,\
  parameter int unsigned FetchBurstBeats   = npu_pkg::FetchBurstBeats,  \
  parameter int unsigned FetchMaxBursts    = npu_pkg::FetchMaxBursts,   \
  parameter int unsigned IdBits            = npu_pkg::AxiIdBits,        \
  parameter int unsigned IdFetch           = npu_pkg::AxiIdFetch,       \
  parameter int unsigned IdLoad            = npu_pkg::AxiIdLoad,        \
  parameter int unsigned IdStore           = npu_pkg::AxiIdStore

`define NPU_TOP_PARAM_MAP                                                              \
  .Dim(Dim), .AccLines(AccLines), .Lanes(Lanes), .Banks(Banks), .BankLines(BankLines), \
  .RegionLines(RegionLines), .ReaderBits(ReaderBits), .QueueDepth(QueueDepth),         \
  .MatmulInflight(MatmulInflight),                                                     \
  .DmaMaxBursts(DmaMaxBursts), .DmaStoreFifoDepth(DmaStoreFifoDepth),                  \
  .FetchBurstBeats(FetchBurstBeats), .FetchMaxBursts(FetchMaxBursts), .IdBits(IdBits), \
  .IdFetch(IdFetch), .IdLoad(IdLoad), .IdStore(IdStore)

// ---- External AXI4-Lite slave and AXI4 master port lists -------------------------------------
`define NPU_AXIL_S_PORTS(AddrBits, I, O)                     \
  input  logic                  s_axil_awvalid``I,           \
  output logic                  s_axil_awready``O,           \
  input  logic [(AddrBits)-1:0] s_axil_awaddr``I,            \
  input  logic                  s_axil_wvalid``I,            \
  output logic                  s_axil_wready``O,            \
  input  logic [31:0]           s_axil_wdata``I,             \
  input  logic [3:0]            s_axil_wstrb``I,             \
  output logic                  s_axil_bvalid``O,            \
  input  logic                  s_axil_bready``I,            \
  output logic [1:0]            s_axil_bresp``O,             \
  input  logic                  s_axil_arvalid``I,           \
  output logic                  s_axil_arready``O,           \
  input  logic [(AddrBits)-1:0] s_axil_araddr``I,            \
  output logic                  s_axil_rvalid``O,            \
  input  logic                  s_axil_rready``I,            \
  output logic [31:0]           s_axil_rdata``O,             \
  output logic [1:0]            s_axil_rresp``O

`define NPU_AXI_M_PORTS(IdBits, DataBits, I, O)              \
  output logic [(IdBits)-1:0]     m_axi_awid``O,             \
  output logic [31:0]             m_axi_awaddr``O,           \
  output logic [7:0]              m_axi_awlen``O,            \
  output logic [2:0]              m_axi_awsize``O,           \
  output logic [1:0]              m_axi_awburst``O,          \
  output logic [3:0]              m_axi_awcache``O,          \
  output logic [2:0]              m_axi_awprot``O,           \
  output logic                    m_axi_awvalid``O,          \
  input  logic                    m_axi_awready``I,          \
  output logic [(DataBits)-1:0]   m_axi_wdata``O,            \
  output logic [(DataBits)/8-1:0] m_axi_wstrb``O,            \
  output logic                    m_axi_wlast``O,            \
  output logic                    m_axi_wvalid``O,           \
  input  logic                    m_axi_wready``I,           \
  input  logic [(IdBits)-1:0]     m_axi_bid``I,              \
  input  logic [1:0]              m_axi_bresp``I,            \
  input  logic                    m_axi_bvalid``I,           \
  output logic                    m_axi_bready``O,           \
  output logic [(IdBits)-1:0]     m_axi_arid``O,             \
  output logic [31:0]             m_axi_araddr``O,           \
  output logic [7:0]              m_axi_arlen``O,            \
  output logic [2:0]              m_axi_arsize``O,           \
  output logic [1:0]              m_axi_arburst``O,          \
  output logic [3:0]              m_axi_arcache``O,          \
  output logic [2:0]              m_axi_arprot``O,           \
  output logic                    m_axi_arvalid``O,          \
  input  logic                    m_axi_arready``I,          \
  input  logic [(IdBits)-1:0]     m_axi_rid``I,              \
  input  logic [(DataBits)-1:0]   m_axi_rdata``I,            \
  input  logic [1:0]              m_axi_rresp``I,            \
  input  logic                    m_axi_rlast``I,            \
  input  logic                    m_axi_rvalid``I,           \
  output logic                    m_axi_rready``O

// npu_top's AXI4-Lite ports to the enclosing module's same-named ones with suffixes I / O.
`define NPU_AXIL_S_CONNECT(I, O)                                                      \
  .s_axil_awvalid_i (s_axil_awvalid``I), .s_axil_awready_o (s_axil_awready``O),       \
  .s_axil_awaddr_i  (s_axil_awaddr``I),  .s_axil_wvalid_i  (s_axil_wvalid``I),        \
  .s_axil_wready_o  (s_axil_wready``O),  .s_axil_wdata_i   (s_axil_wdata``I),         \
  .s_axil_wstrb_i   (s_axil_wstrb``I),   .s_axil_bvalid_o  (s_axil_bvalid``O),        \
  .s_axil_bready_i  (s_axil_bready``I),  .s_axil_bresp_o   (s_axil_bresp``O),         \
  .s_axil_arvalid_i (s_axil_arvalid``I), .s_axil_arready_o (s_axil_arready``O),       \
  .s_axil_araddr_i  (s_axil_araddr``I),  .s_axil_rvalid_o  (s_axil_rvalid``O),        \
  .s_axil_rready_i  (s_axil_rready``I),  .s_axil_rdata_o   (s_axil_rdata``O),         \
  .s_axil_rresp_o   (s_axil_rresp``O)

// npu_top's AXI4 master ports to the enclosing module's same-named ones with suffixes I / O.
`define NPU_AXI_M_CONNECT(I, O)                                                 \
  .m_axi_awid_o (m_axi_awid``O),       .m_axi_awaddr_o (m_axi_awaddr``O),       \
  .m_axi_awlen_o (m_axi_awlen``O),     .m_axi_awsize_o (m_axi_awsize``O),       \
  .m_axi_awburst_o (m_axi_awburst``O), .m_axi_awcache_o (m_axi_awcache``O),     \
  .m_axi_awprot_o (m_axi_awprot``O),   .m_axi_awvalid_o (m_axi_awvalid``O),     \
  .m_axi_awready_i (m_axi_awready``I), .m_axi_wdata_o (m_axi_wdata``O),         \
  .m_axi_wstrb_o (m_axi_wstrb``O),     .m_axi_wlast_o (m_axi_wlast``O),         \
  .m_axi_wvalid_o (m_axi_wvalid``O),   .m_axi_wready_i (m_axi_wready``I),       \
  .m_axi_bid_i (m_axi_bid``I),         .m_axi_bresp_i (m_axi_bresp``I),         \
  .m_axi_bvalid_i (m_axi_bvalid``I),   .m_axi_bready_o (m_axi_bready``O),       \
  .m_axi_arid_o (m_axi_arid``O),       .m_axi_araddr_o (m_axi_araddr``O),       \
  .m_axi_arlen_o (m_axi_arlen``O),     .m_axi_arsize_o (m_axi_arsize``O),       \
  .m_axi_arburst_o (m_axi_arburst``O), .m_axi_arcache_o (m_axi_arcache``O),     \
  .m_axi_arprot_o (m_axi_arprot``O),   .m_axi_arvalid_o (m_axi_arvalid``O),     \
  .m_axi_arready_i (m_axi_arready``I), .m_axi_rid_i (m_axi_rid``I),             \
  .m_axi_rdata_i (m_axi_rdata``I),     .m_axi_rresp_i (m_axi_rresp``I),         \
  .m_axi_rlast_i (m_axi_rlast``I),     .m_axi_rvalid_i (m_axi_rvalid``I),       \
  .m_axi_rready_o (m_axi_rready``O)

// ---- SIMULATION ONLY: pieces of the tb/sv wrappers --------------------------------------------
// A scratchpad port driven by the cocotb bench: Pfx``req_* in, Pfx``rsp_* out.
`define NPU_TB_SPAD_HOST_PORTS(Pfx)                          \
  input  logic                  Pfx``req_valid_i,            \
  output logic                  Pfx``req_ready_o,            \
  input  logic                  Pfx``req_write_i,            \
  input  logic [AddrBits-1:0]   Pfx``req_addr_i,             \
  input  logic [LineBits-1:0]   Pfx``req_wdata_i,            \
  input  logic [StrbBits-1:0]   Pfx``req_wstrb_i,            \
  input  logic [ReaderBits-1:0] Pfx``req_readers_i,          \
  input  logic                  Pfx``req_last_use_i,         \
  output logic                  Pfx``rsp_valid_o,            \
  output logic [LineBits-1:0]   Pfx``rsp_rdata_o

`define NPU_TB_SPAD_HOST_ASSIGN(Pfx, Req, Rsp)                                          \
  assign Req = '{valid: Pfx``req_valid_i, write: Pfx``req_write_i,                      \
                 addr: Pfx``req_addr_i, wdata: Pfx``req_wdata_i,                        \
                 wstrb: Pfx``req_wstrb_i, readers: Pfx``req_readers_i,                  \
                 last_use: Pfx``req_last_use_i};                                        \
  assign Pfx``req_ready_o = Rsp.ready;                                                  \
  assign Pfx``rsp_valid_o = Rsp.rvalid;                                                 \
  assign Pfx``rsp_rdata_o = Rsp.rdata;

// npu_scratchpad_core named u_spad, with the enclosing module's Banks ... ReaderBits, Ports.
`define NPU_TB_SPAD_CORE(Req, Rsp, OwViolation, BadRelease, EventRegion, StatClear, Stats) \
  npu_scratchpad_core #(                                     \
    `NPU_SPAD_PARAM_MAP,                                     \
    .Ports       (Ports)                                     \
  ) u_spad (                                                 \
    .clk_i,                                                  \
    .rst_ni,                                                 \
    .strict_i,                                               \
    .req_i          (Req),                                   \
    .rsp_o          (Rsp),                                   \
    .ow_violation_o (OwViolation),                           \
    .bad_release_o  (BadRelease),                            \
    .event_region_o (EventRegion),                           \
    .stat_clear_i   (StatClear),                             \
    .clear_locks_i  (StatClear),                             \
    .stats_o        (Stats)                                  \
  );

// npu_dram_model's controls as dram_* ports of the enclosing module, and the model named
// u_dram connected to them.
`define NPU_TB_DRAM_CTRL_PORTS                               \
  input  logic [15:0] dram_lat_min_i,                        \
  input  logic [15:0] dram_lat_max_i,                        \
  input  logic [15:0] dram_bytes_per_cycle_i,                \
  input  logic [31:0] dram_seed_i,                           \
  input  logic        dram_load_req_i,                       \
  input  logic        dram_dump_req_i,                       \
  input  logic        dram_clear_req_i,                      \
  input  logic [31:0] dram_dump_first_i,                     \
  input  logic [31:0] dram_dump_last_i

`define NPU_TB_DRAM_MODEL(Clk, DramBits, Req, Rsp, Stats)                                \
  npu_dram_model #(.DataBits(DramBits), .IdBits(IdBits), .MemBytes(MemBytes)) u_dram (   \
    .clk_i             (Clk),                                                            \
    .rst_ni,                                                                             \
    .lat_min_i         (dram_lat_min_i),                                                 \
    .lat_max_i         (dram_lat_max_i),                                                 \
    .bytes_per_cycle_i (dram_bytes_per_cycle_i),                                         \
    .seed_i            (dram_seed_i),                                                    \
    .load_req_i        (dram_load_req_i),                                                \
    .dump_req_i        (dram_dump_req_i),                                                \
    .clear_req_i       (dram_clear_req_i),                                               \
    .dump_first_i      (dram_dump_first_i),                                              \
    .dump_last_i       (dram_dump_last_i),                                               \
    .s_axi_req_i       (Req),                                                            \
    .s_axi_rsp_o       (Rsp),                                                            \
    .stats_o           (Stats)                                                           \
  );

// Per-port request observation of a Ports-port scratchpad (port p at [p] / [p*W +: W]).
`define NPU_TB_SPAD_OBS_PORTS                                \
  output logic [Ports-1:0]            req_valid_o,           \
  output logic [Ports-1:0]            req_ready_o,           \
  output logic [Ports-1:0]            req_write_o,           \
  output logic [Ports-1:0]            req_last_use_o,        \
  output logic [Ports*ReaderBits-1:0] req_readers_o,         \
  output logic [Ports*AddrBits-1:0]   req_addr_o,            \
  output logic [Ports*StrbBits-1:0]   req_wstrb_o

`define NPU_TB_SPAD_OBS_ASSIGN(Req, Rsp)                                         \
  assign req_valid_o[p]                            = Req[p].valid;              \
  assign req_ready_o[p]                            = Rsp[p].ready;              \
  assign req_write_o[p]                            = Req[p].write;              \
  assign req_last_use_o[p]                         = Req[p].last_use;           \
  assign req_readers_o[p*ReaderBits +: ReaderBits] = Req[p].readers;            \
  assign req_addr_o[p*AddrBits +: AddrBits]        = Req[p].addr;               \
  assign req_wstrb_o[p*StrbBits +: StrbBits]       = Req[p].wstrb;

`endif  // NPU_PORTS_SVH

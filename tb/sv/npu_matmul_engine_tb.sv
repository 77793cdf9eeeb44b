// SIMULATION ONLY (test bench wrapper, not part of the NPU's RTL; lives outside rtl/).
//
// npu_matmul_engine connected to a 4-port npu_scratchpad: ports 0, 1, 2 are the engine's
// A, B and C ports, port 3 is a host port that the cocotb bench (tb/blocks/
// test_matmul_engine.py) drives to preload and read back lines and to probe overwrite control.
// The engine's per-port grants are brought out so the bench can count accesses and cycles.
`include "npu_typedef.svh"

module npu_matmul_engine_tb #(
  parameter int unsigned Dim         = npu_pkg::ArrayDim,
  parameter int unsigned AccLines    = npu_pkg::AccLines,
  parameter int unsigned Banks       = npu_pkg::SpadBanks,
  parameter int unsigned BankLines   = npu_pkg::SpadBankLines,
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines,
  parameter int unsigned LineBits    = npu_pkg::LineBits,
  parameter int unsigned ReaderBits  = npu_pkg::SpadReaderBits,
  localparam int unsigned SpadLines  = Banks * BankLines,
  localparam int unsigned AddrBits   = $clog2(SpadLines),
  localparam int unsigned StrbBits   = LineBits / 8,
  localparam int unsigned Ports      = 4
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic                      strict_i,

  // Engine control.
  input  logic                      insn_valid_i,
  output logic                      insn_ready_o,
  input  npu_isa_pkg::matmul_insn_t insn_i,
  output logic                      done_o,
  output logic                      err_o,
  output logic [7:0]                err_code_o,
  output logic [31:0]               err_info_o,
  output logic                      busy_o,
  output logic                      stall_o,

  // Host port (scratchpad port 3).
  input  logic                      host_req_valid_i,
  output logic                      host_req_ready_o,
  input  logic                      host_req_write_i,
  input  logic [AddrBits-1:0]       host_req_addr_i,
  input  logic [LineBits-1:0]       host_req_wdata_i,
  input  logic [StrbBits-1:0]       host_req_wstrb_i,
  input  logic [ReaderBits-1:0]     host_req_readers_i,
  input  logic                      host_req_last_use_i,
  output logic                      host_rsp_valid_o,
  output logic [LineBits-1:0]       host_rsp_rdata_o,

  // Observation.
  output logic [Ports-1:0]          req_valid_o,     // per port: request presented
  output logic [Ports-1:0]          req_ready_o,     // per port: granted
  output logic [Ports-1:0]          req_write_o,
  output logic [Ports-1:0]          req_last_use_o,
  output logic [Ports*ReaderBits-1:0] req_readers_o,
  output logic [Ports*AddrBits-1:0] req_addr_o,
  output logic [Ports*StrbBits-1:0] req_wstrb_o,
  output logic [Ports-1:0]          ow_violation_o,
  output logic [Ports-1:0]          bad_release_o,
  output logic [31:0]               stat_reads_o,
  output logic [31:0]               stat_writes_o,
  output logic [31:0]               stat_conflicts_o,
  output logic [31:0]               stat_ow_wait_o,
  output logic [31:0]               stat_ow_violations_o,
  output logic [31:0]               stat_bad_release_o
);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF

  spad_req_t [Ports-1:0] req;
  spad_rsp_t [Ports-1:0] rsp;
  spad_stats_t           stats;

  npu_matmul_engine #(
    .Dim         (Dim),
    .AccLines    (AccLines),
    .SpadLines   (SpadLines),
    .LineBits    (LineBits),
    .RegionLines (RegionLines),
    .ReaderBits  (ReaderBits)
  ) u_engine (
    .clk_i,
    .rst_ni,
    .insn_valid_i,
    .insn_ready_o,
    .insn_i,
    .done_o,
    .err_o,
    .err_code_o,
    .err_info_o,
    .busy_o,
    .stall_o,
    .a_req_o (req[0]),
    .a_rsp_i (rsp[0]),
    .b_req_o (req[1]),
    .b_rsp_i (rsp[1]),
    .c_req_o (req[2]),
    .c_rsp_i (rsp[2])
  );

  // Host port: scratchpad port 3.
  assign req[3] = '{valid: host_req_valid_i, write: host_req_write_i, addr: host_req_addr_i,
                    wdata: host_req_wdata_i, wstrb: host_req_wstrb_i,
                    readers: host_req_readers_i, last_use: host_req_last_use_i};
  assign host_req_ready_o = rsp[3].ready;
  assign host_rsp_valid_o = rsp[3].rvalid;
  assign host_rsp_rdata_o = rsp[3].rdata;

  npu_scratchpad_core #(
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
    .req_i                (req),
    .rsp_o                (rsp),
    .ow_violation_o,
    .bad_release_o,
    .stat_clear_i         (1'b0),
    .stats_o              (stats)
  );

  assign stat_reads_o         = stats.reads;
  assign stat_writes_o        = stats.writes;
  assign stat_conflicts_o     = stats.conflicts;
  assign stat_ow_wait_o       = stats.ow_wait;
  assign stat_ow_violations_o = stats.ow_violations;
  assign stat_bad_release_o   = stats.bad_release;

  // Observation, port p at [p] / [p*W +: W].
  for (genvar p = 0; p < Ports; p++) begin : g_obs
    assign req_valid_o[p]                          = req[p].valid;
    assign req_ready_o[p]                          = rsp[p].ready;
    assign req_write_o[p]                          = req[p].write;
    assign req_last_use_o[p]                       = req[p].last_use;
    assign req_readers_o[p*ReaderBits +: ReaderBits] = req[p].readers;
    assign req_addr_o[p*AddrBits +: AddrBits]      = req[p].addr;
    assign req_wstrb_o[p*StrbBits +: StrbBits]     = req[p].wstrb;
  end

endmodule

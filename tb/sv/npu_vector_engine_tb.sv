// SIMULATION ONLY (test bench wrapper, not part of the NPU's RTL; lives outside rtl/).
//
// npu_vector_engine connected to a 4-port npu_scratchpad: ports 0, 1, 2 are the engine's a, b
// and result (d) ports, port 3 is a host port that the cocotb bench (tb/blocks/
// test_vector_engine.py) drives to preload and read back lines and to probe overwrite control.
// Every port's request and grant are brought out so the bench can check the access pattern
// (no access for a rejected instruction, release and lock accesses, stable requests) and count
// cycles.
`include "npu_typedef.svh"

module npu_vector_engine_tb #(
  parameter int unsigned Lanes       = npu_pkg::VectorLanes,
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
  input  logic                            clk_i,
  input  logic                            rst_ni,
  input  logic                            strict_i,

  // Engine control.
  input  logic                            insn_valid_i,
  output logic                            insn_ready_o,
  input  logic [255:0]                    insn_i,        // npu_isa_pkg::vector_insn_t
  output logic                            done_o,
  output logic                            err_o,
  output logic [7:0]                      err_code_o,
  output logic [31:0]                     err_info_o,
  output logic                            busy_o,
  output logic                            stall_o,
  output logic [npu_pkg::VecFlagBits-1:0] flags_o,
  input  logic                            flags_clear_i,

  // Host port (scratchpad port 3).
  input  logic                            host_req_valid_i,
  output logic                            host_req_ready_o,
  input  logic                            host_req_write_i,
  input  logic [AddrBits-1:0]             host_req_addr_i,
  input  logic [LineBits-1:0]             host_req_wdata_i,
  input  logic [StrbBits-1:0]             host_req_wstrb_i,
  input  logic [ReaderBits-1:0]           host_req_readers_i,
  input  logic                            host_req_last_use_i,
  output logic                            host_rsp_valid_o,
  output logic [LineBits-1:0]             host_rsp_rdata_o,

  // Observation, port p at [p] / [p*W +: W].
  output logic [Ports-1:0]                req_valid_o,
  output logic [Ports-1:0]                req_ready_o,
  output logic [Ports-1:0]                req_write_o,
  output logic [Ports-1:0]                req_last_use_o,
  output logic [Ports*ReaderBits-1:0]     req_readers_o,
  output logic [Ports*AddrBits-1:0]       req_addr_o,
  output logic [Ports*StrbBits-1:0]       req_wstrb_o,
  output logic [Ports*LineBits-1:0]       req_wdata_o,
  output logic [Ports-1:0]                ow_violation_o,
  output logic [Ports-1:0]                bad_release_o,
  output logic [31:0]                     stat_reads_o,
  output logic [31:0]                     stat_writes_o,
  output logic [31:0]                     stat_conflicts_o,
  output logic [31:0]                     stat_ow_wait_o,
  output logic [31:0]                     stat_ow_violations_o,
  output logic [31:0]                     stat_bad_release_o
);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF

  spad_req_t [Ports-1:0] req;
  spad_rsp_t [Ports-1:0] rsp;
  spad_stats_t           stats;

  npu_vector_engine #(
    .Lanes       (Lanes),
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
    .flags_o,
    .flags_clear_i,
    .a_req_o (req[0]),
    .a_rsp_i (rsp[0]),
    .b_req_o (req[1]),
    .b_rsp_i (rsp[1]),
    .d_req_o (req[2]),
    .d_rsp_i (rsp[2])
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
    assign req_wdata_o[p*LineBits +: LineBits]     = req[p].wdata;
  end

endmodule

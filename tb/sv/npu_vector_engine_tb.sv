// SIMULATION ONLY (test bench wrapper, not part of the NPU's RTL; lives outside rtl/).
//
// npu_vector_engine connected to a 4-port npu_scratchpad: ports 0, 1, 2 are the engine's a, b
// and result (d) ports, port 3 is a host port that the cocotb bench (tb/blocks/
// test_vector_engine.py) drives to preload and read back lines and to probe overwrite control.
// Every port's request and grant are brought out so the bench can check the access pattern
// (no access for a rejected instruction, release and lock accesses, stable requests) and count
// cycles.
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_vector_engine_tb #(
  parameter int unsigned Lanes       = npu_pkg::VectorLanes,
  `NPU_SPAD_PARAMS,
  localparam int unsigned SpadLines  = Banks * BankLines,
  localparam int unsigned Ports      = 4
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  input  logic                            strict_i,

  // Engine control (insn_i: npu_isa_pkg::vector_insn_t).
  `NPU_ENGINE_PORTS(, logic [255:0]),
  output logic [npu_pkg::VecFlagBits-1:0] flags_o,
  input  logic                            flags_clear_i,

  // Host port (scratchpad port 3).
  `NPU_TB_SPAD_HOST_PORTS(host_),

  // Observation, port p at [p] / [p*W +: W].
  `NPU_TB_SPAD_OBS_PORTS,
  output logic [Ports*LineBits-1:0]       req_wdata_o,
  output logic [Ports-1:0]                ow_violation_o,
  output logic [Ports-1:0]                bad_release_o,
  `NPU_SPAD_STAT_PORTS
);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF

  spad_req_t [Ports-1:0] req;
  spad_rsp_t [Ports-1:0] rsp;
  spad_stats_t           stats;
  logic [15:0]           unused_region;   // the NPU reports it; this bench does not

  npu_vector_engine #(
    .Lanes       (Lanes),
    `NPU_ENGINE_SPAD_PARAM_MAP
  ) u_engine (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT(),
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
  `NPU_TB_SPAD_HOST_ASSIGN(host_, req[3], rsp[3])

  `NPU_TB_SPAD_CORE(req, rsp, ow_violation_o, bad_release_o, unused_region, 1'b0, stats)
  `NPU_SPAD_STAT_ASSIGN(stats)

  // Observation, port p at [p] / [p*W +: W].
  for (genvar p = 0; p < Ports; p++) begin : g_obs
    `NPU_TB_SPAD_OBS_ASSIGN(req, rsp)
    assign req_wdata_o[p*LineBits +: LineBits]     = req[p].wdata;
  end

endmodule

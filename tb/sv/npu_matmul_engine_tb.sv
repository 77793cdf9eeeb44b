// SIMULATION ONLY (test bench wrapper, not part of the NPU's RTL; lives outside rtl/).
//
// npu_matmul_engine connected to a 4-port npu_scratchpad: ports 0, 1, 2 are the engine's
// A, B and C ports, port 3 is a host port that the cocotb bench (tb/blocks/
// test_matmul_engine.py) drives to preload and read back lines and to probe overwrite control.
// The engine's per-port grants are brought out so the bench can count accesses and cycles.
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_matmul_engine_tb #(
  parameter int unsigned Dim         = npu_pkg::ArrayDim,
  parameter int unsigned AccLines    = npu_pkg::AccLines,
  parameter int unsigned Inflight    = npu_pkg::MatmulInflight,
  `NPU_SPAD_PARAMS,
  localparam int unsigned SpadLines  = Banks * BankLines,
  localparam int unsigned Ports      = 4
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic                      strict_i,

  // Engine control.
  `NPU_ENGINE_PORTS(, npu_isa_pkg::matmul_insn_t),

  // Host port (scratchpad port 3).
  `NPU_TB_SPAD_HOST_PORTS(host_),

  // Observation.
  `NPU_TB_SPAD_OBS_PORTS,
  output logic [Ports-1:0]          ow_violation_o,
  output logic [Ports-1:0]          bad_release_o,
  `NPU_SPAD_STAT_PORTS
);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF

  spad_req_t [Ports-1:0] req;
  spad_rsp_t [Ports-1:0] rsp;
  spad_stats_t           stats;
  logic [15:0]           unused_region;   // the NPU reports it; this bench does not

  npu_matmul_engine #(
    .Dim         (Dim),
    .Inflight    (Inflight),
    .AccLines    (AccLines),
    `NPU_ENGINE_SPAD_PARAM_MAP
  ) u_engine (
    .clk_i,
    .rst_ni,
    `NPU_ENGINE_CONNECT(),
    .a_req_o (req[0]),
    .a_rsp_i (rsp[0]),
    .b_req_o (req[1]),
    .b_rsp_i (rsp[1]),
    .c_req_o (req[2]),
    .c_rsp_i (rsp[2])
  );

  // Host port: scratchpad port 3.
  `NPU_TB_SPAD_HOST_ASSIGN(host_, req[3], rsp[3])

  `NPU_TB_SPAD_CORE(req, rsp, ow_violation_o, bad_release_o, unused_region, 1'b0, stats)
  `NPU_SPAD_STAT_ASSIGN(stats)

  // Observation, port p at [p] / [p*W +: W].
  for (genvar p = 0; p < Ports; p++) begin : g_obs
    `NPU_TB_SPAD_OBS_ASSIGN(req, rsp)
  end

endmodule

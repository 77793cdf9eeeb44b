// SIMULATION ONLY (lives outside rtl/): npu_top with plain AXI signal names (no _i/_o
// suffixes) and an active-high reset, so cocotbext-axi's AxiRam and AxiLiteMaster, an
// implementation independent of the project's own bus models, can attach to it by prefix.
`include "npu_ports.svh"

module npu_axi_ext_tb #(
  `NPU_TOP_PARAMS,
  localparam int unsigned LineBits   = Lanes * 32
) (
  input  logic clk,
  input  logic rst,
  output logic irq,
  `NPU_AXIL_S_PORTS(8, , ),
  `NPU_AXI_M_PORTS(IdBits, LineBits, , )
);
  npu_top #(
    `NPU_TOP_PARAM_MAP
  ) u_npu (
    .clk_i (clk),
    .rst_ni (!rst),
    .irq_o (irq),
    `NPU_AXIL_S_CONNECT(, ),
    `NPU_AXI_M_CONNECT(, )
  );
endmodule

// Control and status registers behind an AXI4-Lite slave (32-bit data, byte offsets from
// hwdef/regs.py via npu_isa_pkg). One outstanding read and one outstanding write; a write needs
// its AW and W beats (in either order), a read answers the cycle after AR. Unknown offsets read 0
// and answer OKAY (writes to them are ignored).
`include "npu_typedef.svh"

module npu_ctrl_regs #(
  parameter int unsigned AddrBits = 8,
  parameter int unsigned NumCounters = npu_isa_pkg::NumCounters,
  localparam int unsigned AxilReqBits = `NPU_AXIL_REQ_BITS(AddrBits),
  localparam int unsigned AxilRspBits = `NPU_AXIL_RSP_BITS
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,

  // AXI4-Lite slave (axil_req_t / axil_rsp_t)
  input  logic [AxilReqBits-1:0]      s_req_i,
  output logic [AxilRspBits-1:0]      s_rsp_o,

  // To the core
  output logic                        start_o,        // pulse
  output logic                        strict_o,
  output logic [31:0]                 prog_base_o,
  output logic [31:0]                 dram_base_o,
  output logic [31:0]                 dram_size_o,
  output logic [31:0]                 watchdog_limit_o,
  output logic                        irq_o,

  // From the core
  input  logic                        busy_i,
  input  logic                        done_i,         // pulse
  input  logic                        error_i,        // pulse
  input  logic [7:0]                  error_code_i,
  input  logic [2:0]                  error_queue_i,
  input  logic [31:0]                 error_pc_i,
  input  logic [31:0]                 error_info_i,
  input  logic [31:0]                 sem_values_lo_i,
  input  logic [NumCounters*32-1:0]   counters_i
);

  `NPU_AXIL_TYPEDEF_ALL(AddrBits)

  // Struct views of the bundle ports and the response registers behind them: the same wires
  // as the ports, kept out of toggle coverage.
  /* verilator coverage_off */
  axil_req_t   s_req;
  axil_rsp_t   s_rsp;
  logic        bvalid_q, rvalid_q;
  logic [31:0] rdata_q;
  /* verilator coverage_on */

  assign s_req         = s_req_i;
  assign s_rsp_o       = s_rsp;
  assign s_rsp.b_valid = bvalid_q;
  assign s_rsp.r_valid = rvalid_q;
  assign s_rsp.r_data  = rdata_q;
  localparam logic [31:0] DefaultWatchdog = 32'd65536;

  logic        strict_q, irq_en_q, done_q, error_q, irq_pending_q;
  logic [7:0]  error_code_q;
  logic [2:0]  error_queue_q;
  logic [31:0] prog_base_q, dram_base_q, dram_size_q, watchdog_q, error_pc_q, error_info_q;

  // ---- write channel ------------------------------------------------------------------------
  logic                aw_held_q, w_held_q;
  logic [AddrBits-1:0] aw_addr_q;
  logic [31:0]         w_data_q;
  logic [3:0]          w_strb_q;
  logic                do_write;
  logic [AddrBits-1:0] wr_addr;
  logic [31:0]         wr_data, wr_mask;

  assign s_rsp.aw_ready = !aw_held_q && !bvalid_q;
  assign s_rsp.w_ready  = !w_held_q && !bvalid_q;
  assign do_write    = (aw_held_q || (s_req.aw_valid && s_rsp.aw_ready)) &&
                       (w_held_q || (s_req.w_valid && s_rsp.w_ready));
  assign wr_addr     = aw_held_q ? aw_addr_q : s_req.aw_addr;
  assign wr_data     = w_held_q ? w_data_q : s_req.w_data;
  for (genvar b = 0; b < 4; b++) begin : g_mask
    assign wr_mask[b*8 +: 8] = {8{w_held_q ? w_strb_q[b] : s_req.w_strb[b]}};
  end

  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] data,
                                        input logic [31:0] mask);
    merge = (old & ~mask) | (data & mask);
  endfunction

  // While BUSY a CTRL write is ignored as a whole: START does not restart the program, STRICT
  // and IRQ_EN keep the running program's values, and DONE/ERROR/the pending interrupt are not
  // cleared (a START write in the cycle the program finished used to clear the DONE being set,
  // so no interrupt came; one without IRQ_EN switched the running program's interrupt off).
  logic ctrl_write, write_start;
  assign ctrl_write  = do_write && wr_addr == AddrBits'(npu_isa_pkg::RegCtrl) && !busy_i;
  assign write_start = ctrl_write && wr_mask[0] && wr_data[0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      aw_held_q   <= 1'b0;
      w_held_q    <= 1'b0;
      aw_addr_q   <= '0;
      w_data_q    <= '0;
      w_strb_q    <= '0;
      bvalid_q    <= 1'b0;
      strict_q    <= 1'b0;
      irq_en_q    <= 1'b0;
      prog_base_q <= '0;
      dram_base_q <= '0;
      dram_size_q <= '0;
      watchdog_q  <= '0;
    end else begin
      if (bvalid_q && s_req.b_ready) bvalid_q <= 1'b0;
      if (do_write) begin
        aw_held_q  <= 1'b0;
        w_held_q   <= 1'b0;
        bvalid_q <= 1'b1;
        unique case (wr_addr)
          AddrBits'(npu_isa_pkg::RegCtrl): begin
            if (ctrl_write && wr_mask[0]) begin
              strict_q <= wr_data[1];
              irq_en_q <= wr_data[2];
            end
          end
          AddrBits'(npu_isa_pkg::RegProgBase): prog_base_q <= merge(prog_base_q, wr_data, wr_mask);
          AddrBits'(npu_isa_pkg::RegDramBase): dram_base_q <= merge(dram_base_q, wr_data, wr_mask);
          AddrBits'(npu_isa_pkg::RegDramSize): dram_size_q <= merge(dram_size_q, wr_data, wr_mask);
          AddrBits'(npu_isa_pkg::RegWatchdog): watchdog_q  <= merge(watchdog_q, wr_data, wr_mask);
          default: ;
        endcase
      end else begin
        if (s_req.aw_valid && s_rsp.aw_ready) begin
          aw_held_q <= 1'b1;
          aw_addr_q <= s_req.aw_addr;
        end
        if (s_req.w_valid && s_rsp.w_ready) begin
          w_held_q <= 1'b1;
          w_data_q <= s_req.w_data;
          w_strb_q <= s_req.w_strb;
        end
      end
    end
  end
  assign s_rsp.b_resp = 2'b00;

  // ---- status --------------------------------------------------------------------------------
  logic irq_clear;
  assign irq_clear = do_write && wr_addr == AddrBits'(npu_isa_pkg::RegIrqStatus) &&
                     wr_mask[0] && wr_data[0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      done_q        <= 1'b0;
      error_q       <= 1'b0;
      error_code_q  <= '0;
      error_queue_q <= '0;
      error_pc_q    <= '0;
      error_info_q  <= '0;
      irq_pending_q <= 1'b0;
    end else begin
      if (write_start) begin
        done_q        <= 1'b0;
        error_q       <= 1'b0;
        error_code_q  <= '0;
        error_queue_q <= '0;
        error_pc_q    <= '0;
        error_info_q  <= '0;
        irq_pending_q <= 1'b0;
      end else begin
        if (done_i) done_q <= 1'b1;
        if (error_i && !error_q) begin
          error_q       <= 1'b1;
          error_code_q  <= error_code_i;
          error_queue_q <= error_queue_i;
          error_pc_q    <= error_pc_i;
          error_info_q  <= error_info_i;
        end
        if (done_i || error_i) irq_pending_q <= 1'b1;
        else if (irq_clear) irq_pending_q <= 1'b0;
      end
    end
  end

  assign start_o          = write_start;
  assign strict_o         = strict_q;
  assign prog_base_o      = prog_base_q;
  assign dram_base_o      = dram_base_q;
  assign dram_size_o      = dram_size_q;
  assign watchdog_limit_o = watchdog_q == '0 ? DefaultWatchdog : watchdog_q;
  assign irq_o            = irq_pending_q && irq_en_q;

  // ---- read channel -------------------------------------------------------------------------
  logic [31:0] rd_value;
  always_comb begin
    rd_value = '0;
    unique case (s_req.ar_addr)
      AddrBits'(npu_isa_pkg::RegCtrl):        rd_value = {29'd0, irq_en_q, strict_q, 1'b0};
      AddrBits'(npu_isa_pkg::RegStatus):      rd_value = {13'd0, error_queue_q, error_code_q,
                                                          5'd0, error_q, done_q, busy_i};
      AddrBits'(npu_isa_pkg::RegProgBase):    rd_value = prog_base_q;
      AddrBits'(npu_isa_pkg::RegDramBase):    rd_value = dram_base_q;
      AddrBits'(npu_isa_pkg::RegDramSize):    rd_value = dram_size_q;
      AddrBits'(npu_isa_pkg::RegWatchdog):    rd_value = watchdog_q;
      AddrBits'(npu_isa_pkg::RegErrorPc):     rd_value = error_pc_q;
      AddrBits'(npu_isa_pkg::RegErrorInfo):   rd_value = error_info_q;
      AddrBits'(npu_isa_pkg::RegSemValuesLo): rd_value = sem_values_lo_i;
      AddrBits'(npu_isa_pkg::RegIrqStatus):   rd_value = {31'd0, irq_pending_q};
      default: begin
        for (int c = 0; c < NumCounters; c++) begin
          if (s_req.ar_addr == AddrBits'(npu_isa_pkg::RegCycles) + AddrBits'(4 * c)) begin
            rd_value = counters_i[c*32 +: 32];
          end
        end
      end
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rvalid_q <= 1'b0;
      rdata_q  <= '0;
    end else if (s_req.ar_valid && s_rsp.ar_ready) begin
      rvalid_q <= 1'b1;
      rdata_q  <= rd_value;
    end else if (s_req.r_ready) begin
      rvalid_q <= 1'b0;
    end
  end
  assign s_rsp.ar_ready = !rvalid_q;
  assign s_rsp.r_resp   = 2'b00;

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions: AXI4-Lite slave rules (B and R held, unchanged, until taken) ------------
  `NPU_ASSERT(CtrlBHeld_A, s_rsp.b_valid && !s_req.b_ready |=> s_rsp.b_valid && $stable(s_rsp.b_resp),
              "BVALID dropped or BRESP changed before BREADY")
  `NPU_ASSERT(CtrlRHeld_A,
              s_rsp.r_valid && !s_req.r_ready |=> s_rsp.r_valid && $stable({s_rsp.r_data, s_rsp.r_resp}),
              "RVALID dropped or R payload changed before RREADY")
  `NPU_ASSERT(CtrlDoneErrExcl_A, !(done_i && error_i), "done and error in the same cycle")
  `NPU_ASSERT(CtrlStartIdle_A, start_o |-> !busy_i, "START while busy")
`endif

endmodule

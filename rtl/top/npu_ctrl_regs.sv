// Control and status registers behind an AXI4-Lite slave (32-bit data, byte offsets from
// hwdef/regs.py via npu_isa_pkg). One outstanding read and one outstanding write; a write needs
// its AW and W beats (in either order), a read answers the cycle after AR. Unknown offsets read 0
// and answer OKAY (writes to them are ignored).
module npu_ctrl_regs #(
  parameter int unsigned AddrBits = 8,
  parameter int unsigned NumCounters = npu_isa_pkg::NumCounters
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,

  // AXI4-Lite slave
  input  logic                        s_awvalid_i,
  output logic                        s_awready_o,
  input  logic [AddrBits-1:0]         s_awaddr_i,
  input  logic                        s_wvalid_i,
  output logic                        s_wready_o,
  input  logic [31:0]                 s_wdata_i,
  input  logic [3:0]                  s_wstrb_i,
  output logic                        s_bvalid_o,
  input  logic                        s_bready_i,
  output logic [1:0]                  s_bresp_o,
  input  logic                        s_arvalid_i,
  output logic                        s_arready_o,
  input  logic [AddrBits-1:0]         s_araddr_i,
  output logic                        s_rvalid_o,
  input  logic                        s_rready_i,
  output logic [31:0]                 s_rdata_o,
  output logic [1:0]                  s_rresp_o,

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

  assign s_awready_o = !aw_held_q && !s_bvalid_o;
  assign s_wready_o  = !w_held_q && !s_bvalid_o;
  assign do_write    = (aw_held_q || (s_awvalid_i && s_awready_o)) &&
                       (w_held_q || (s_wvalid_i && s_wready_o));
  assign wr_addr     = aw_held_q ? aw_addr_q : s_awaddr_i;
  assign wr_data     = w_held_q ? w_data_q : s_wdata_i;
  for (genvar b = 0; b < 4; b++) begin : g_mask
    assign wr_mask[b*8 +: 8] = {8{w_held_q ? w_strb_q[b] : s_wstrb_i[b]}};
  end

  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] data,
                                        input logic [31:0] mask);
    merge = (old & ~mask) | (data & mask);
  endfunction

  logic write_start;
  assign write_start = do_write && wr_addr == AddrBits'(npu_isa_pkg::RegCtrl) &&
                       wr_mask[0] && wr_data[0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      aw_held_q   <= 1'b0;
      w_held_q    <= 1'b0;
      aw_addr_q   <= '0;
      w_data_q    <= '0;
      w_strb_q    <= '0;
      s_bvalid_o  <= 1'b0;
      strict_q    <= 1'b0;
      irq_en_q    <= 1'b0;
      prog_base_q <= '0;
      dram_base_q <= '0;
      dram_size_q <= '0;
      watchdog_q  <= '0;
    end else begin
      if (s_bvalid_o && s_bready_i) s_bvalid_o <= 1'b0;
      if (do_write) begin
        aw_held_q  <= 1'b0;
        w_held_q   <= 1'b0;
        s_bvalid_o <= 1'b1;
        unique case (wr_addr)
          AddrBits'(npu_isa_pkg::RegCtrl): begin
            if (wr_mask[0]) begin
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
        if (s_awvalid_i && s_awready_o) begin
          aw_held_q <= 1'b1;
          aw_addr_q <= s_awaddr_i;
        end
        if (s_wvalid_i && s_wready_o) begin
          w_held_q <= 1'b1;
          w_data_q <= s_wdata_i;
          w_strb_q <= s_wstrb_i;
        end
      end
    end
  end
  assign s_bresp_o = 2'b00;

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

  // START is ignored while a program runs.
  assign start_o          = write_start && !busy_i;
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
    unique case (s_araddr_i)
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
          if (s_araddr_i == AddrBits'(npu_isa_pkg::RegCycles) + AddrBits'(4 * c)) begin
            rd_value = counters_i[c*32 +: 32];
          end
        end
      end
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s_rvalid_o <= 1'b0;
      s_rdata_o  <= '0;
    end else if (s_arvalid_i && s_arready_o) begin
      s_rvalid_o <= 1'b1;
      s_rdata_o  <= rd_value;
    end else if (s_rready_i) begin
      s_rvalid_o <= 1'b0;
    end
  end
  assign s_arready_o = !s_rvalid_o;
  assign s_rresp_o   = 2'b00;
endmodule

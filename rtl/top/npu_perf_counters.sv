// Performance counters of the NPU (hwdef/regs.py _COUNTERS; docs/architecture.md), read through
// the control registers.
//
// Event counters (32 bit, wrap around) count per cycle: cycles while running, instructions
// retired, per queue busy / stalled (busy without progress) / waiting on a semaphore, cycles in
// which the matrix and vector engines are both busy, DRAM bytes read and written. clear_i
// (START) zeroes them and wins over the events of the same cycle. The scratchpad's access
// statistics and the vector engine's sticky flags are kept by those blocks themselves (also
// cleared by START); this block only places them in the counter array.
`include "npu_typedef.svh"

module npu_perf_counters #(
  parameter int unsigned NumQueues   = 4,
  parameter int unsigned ByteBits    = 7,   // width of the per-cycle DRAM byte counts
  localparam int unsigned NumCounters = npu_isa_pkg::NumCounters,
  localparam int unsigned StatsBits   = `NPU_SPAD_STATS_BITS
) (
  // Every port is a wire of npu_top (or its clock and reset), counted there by the bench's
  // toggle coverage; only the counters themselves are counted here (bench/toggles.py maps
  // this instance to npu_top's component).
  /* verilator coverage_off */
  input  logic                            clk_i,
  input  logic                            rst_ni,
  input  logic                            clear_i,

  // Events of this cycle.
  input  logic                            running_i,
  input  logic [3:0]                      retired_i,
  input  logic [NumQueues-1:0]            eng_busy_i,
  input  logic [NumQueues-1:0]            eng_stall_i,
  input  logic [NumQueues-1:0]            sem_wait_i,
  input  logic                            queue_full_i,
  input  logic [ByteBits-1:0]             dram_rd_bytes_i,
  input  logic [ByteBits-1:0]             dram_wr_bytes_i,

  // Counters kept elsewhere.
  input  logic [StatsBits-1:0]            spad_stats_i,   // spad_stats_t
  input  logic [npu_pkg::VecFlagBits-1:0] vector_flags_i,

  output logic [NumCounters*32-1:0]       counters_o
  /* verilator coverage_on */
);

  `NPU_SPAD_STATS_TYPEDEF

  // Struct view of spad_stats_i (bad releases have no counter: strict mode reports them).
  /* verilator coverage_off */
  /* verilator lint_off UNUSEDSIGNAL */
  spad_stats_t spad_stats;
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator coverage_on */

  assign spad_stats = spad_stats_i;

  logic [31:0] count_q [NumCounters];
  logic [31:0] count_inc [NumCounters];

  always_comb begin
    for (int c = 0; c < NumCounters; c++) count_inc[c] = '0;
    count_inc[npu_isa_pkg::CntCycles]      = 32'(running_i);
    count_inc[npu_isa_pkg::CntInsnRetired] = 32'(retired_i);
    for (int q = 0; q < NumQueues; q++) begin
      count_inc[npu_isa_pkg::CntDmaInBusy + q]    = 32'(eng_busy_i[q]);
      count_inc[npu_isa_pkg::CntDmaInStall + q]   = 32'(eng_busy_i[q] && eng_stall_i[q]);
      count_inc[npu_isa_pkg::CntDmaInSemWait + q] = 32'(sem_wait_i[q]);
    end
    count_inc[npu_isa_pkg::CntMatrixVectorOverlap] = 32'(eng_busy_i[2] && eng_busy_i[3]);
    count_inc[npu_isa_pkg::CntDramReadBytes]  = 32'(dram_rd_bytes_i);
    count_inc[npu_isa_pkg::CntDramWriteBytes] = 32'(dram_wr_bytes_i);
    count_inc[npu_isa_pkg::CntQueueFull]      = 32'(queue_full_i);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int c = 0; c < NumCounters; c++) count_q[c] <= '0;
    end else if (clear_i) begin
      for (int c = 0; c < NumCounters; c++) count_q[c] <= '0;
    end else begin
      for (int c = 0; c < NumCounters; c++) count_q[c] <= count_q[c] + count_inc[c];
    end
  end

  always_comb begin
    for (int c = 0; c < NumCounters; c++) counters_o[c*32 +: 32] = count_q[c];
    counters_o[npu_isa_pkg::CntSpadReads*32 +: 32]     = spad_stats.reads;
    counters_o[npu_isa_pkg::CntSpadWrites*32 +: 32]    = spad_stats.writes;
    counters_o[npu_isa_pkg::CntBankConflicts*32 +: 32] = spad_stats.conflicts;
    counters_o[npu_isa_pkg::CntOwWaits*32 +: 32]       = spad_stats.ow_wait;
    counters_o[npu_isa_pkg::CntOwViolations*32 +: 32]  = spad_stats.ow_violations;
    counters_o[npu_isa_pkg::CntVectorFlags*32 +: 32]   = 32'(vector_flags_i);
  end

endmodule

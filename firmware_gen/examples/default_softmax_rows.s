# Hand-written example for the `default` configuration (16x16 array, 16 lanes, 64-byte lines):
# the softmax chain of docs/numerics.md on 4 rows of 40 int32 scores (a ragged row: 3 vectors,
# the last one 8 lanes wide), from scores to uint8 weights and their row sums.
# Run it:   make sim PROGRAM=firmware_gen/examples/default_softmax_rows.s CONFIG=default
#
# Scores are the runner's random bytes at 0x10000 read as int32 (row pitch 3 lines).

dma_load  dram_addr=0x10000 dram_stride=192 rows=4 row_bytes=192 spad_addr=0x000 spad_pitch=3 \
          pad_rows=4 pad_bytes=192 signal=s0
# m = rowmax(S)
vector    wait=s0 op=RMAX a_addr=0x000 a_pitch=3 dst_addr=0x040 dst_pitch=1 rows=4 row_len=40 \
          signal=s1
# x = S - m  (b = the row's maximum, broadcast)
vector    wait=s1 op=SUB b_mode=ROW a_addr=0x000 a_pitch=3 b_addr=0x040 b_pitch=1 \
          dst_addr=0x080 dst_pitch=3 rows=4 row_len=40 signal=s2
# t = round(x * M / 2^SH): a tiny scale so the random int32 differences stay in range
vector    wait=s2 op=MULSHR b_mode=SCALAR scalar=1 shift=20 a_addr=0x080 a_pitch=3 \
          dst_addr=0x080 dst_pitch=3 rows=4 row_len=40 signal=s3
# P = min(255, round(2^(t/1024) * 256)) as uint8
vector    wait=s3 op=EXP2 shift=7 sat=UINT8 a_addr=0x080 a_pitch=3 dst_addr=0x0c0 dst_pitch=1 \
          dst_type=UINT8 rows=4 row_len=40 signal=s4
# l = rowsum(P)
vector    wait=s4 op=RSUM a_type=UINT8 a_addr=0x0c0 a_pitch=1 dst_addr=0x100 dst_pitch=1 \
          rows=4 row_len=40 signal=s5,s6
dma_store wait=s5 dram_addr=0x20000 dram_stride=64 rows=4 row_bytes=64 spad_addr=0x0c0 \
          spad_pitch=1
dma_store wait=s6 dram_addr=0x20100 dram_stride=64 rows=4 row_bytes=64 spad_addr=0x100 \
          spad_pitch=1
halt

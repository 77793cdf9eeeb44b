# Hand-written example for the `tiny` configuration (4x4 array, 4 lanes, 16-byte lines).
# Run it:   make sim PROGRAM=firmware_gen/examples/tiny_matmul_relu.s CONFIG=tiny
#
# The runner fills DRAM 0x10000..0x1ffff with random bytes, runs the program on the RTL and on
# the golden model, and compares DRAM 0x20000..0x2ffff byte for byte.
#
# A = 8 x 8 int8 at 0x10000, B = 8 x 4 int8 at 0x10100.
# C = A·B (int32, 8 x 4) to 0x20000, relu(C) = max(C, 0) to 0x20100.

dma_load  dram_addr=0x10000 dram_stride=8 rows=8 row_bytes=8 spad_addr=0x00 spad_pitch=1 \
          pad_rows=8 pad_bytes=8 signal=s0
dma_load  dram_addr=0x10100 dram_stride=4 rows=8 row_bytes=4 spad_addr=0x10 spad_pitch=1 \
          pad_rows=8 pad_bytes=4 signal=s1
matmul    wait=s0,s1 a_addr=0x00 a_pitch=1 rows=8 b_addr=0x10 b_pitch=1 k_tiles=2 n_tiles=1 \
          a_signed=1 emit=1 dst_addr=0x20 dst_pitch=1 signal=s2,s4
vector    wait=s2 op=MAX b_mode=SCALAR scalar=0 a_addr=0x20 a_pitch=1 dst_addr=0x30 \
          dst_pitch=1 rows=8 row_len=4 signal=s3
dma_store wait=s4 dram_addr=0x20000 dram_stride=16 rows=8 row_bytes=16 spad_addr=0x20 \
          spad_pitch=1
dma_store wait=s3 dram_addr=0x20100 dram_stride=16 rows=8 row_bytes=16 spad_addr=0x30 \
          spad_pitch=1
halt

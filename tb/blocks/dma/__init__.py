"""Bench of the DMA engines and the AXI master (tests: tb/blocks/test_dma.py).

* `env`       - agents on the wrapper, DRAM back door, shadows, per-instruction checks.
* `sequences` - instruction fields and random ragged blocks.
"""

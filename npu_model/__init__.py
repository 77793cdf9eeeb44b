"""The executable reference of the NPU: what every program must do, bit for bit.

* `numerics`  - the integer arithmetic of docs/numerics.md (exp2, reciprocal, saturation...),
                its constants re-derived from the formulas, never taken from generated tables.
* `semantics` - one definition per instruction of what it checks, reads, writes, locks and
                releases, its row lengths and its work (MACs, vectors, DRAM bytes). The
                executor, the scheduler's synchronization and cost model and the bench use it.
* `executor`  - the instruction-level model: runs a program in program order on DRAM, the
                scratchpad and the accumulators (the RTL must leave DRAM as it does).
* `attention` - the attention contract: integer reference, float64 reference, quantization.

Block-level stream and cycle models (one per RTL block) stay in tb/golden/.
"""

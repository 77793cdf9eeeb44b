"""Reusable block-bench agents (cocotb): bus models bound to a signal prefix of a tb/sv wrapper.

* `spad_port`   - scratchpad-port driver and monitor (request/grant, read data a cycle later).
* `engine_port` - engine host-port driver (issue an instruction, await done_o / err_o).

Each agent is passive about time: a bench that already runs one clocked loop calls `drive()`
just after the rising edge and `sample(cycle)` in ReadOnly; a bench that drives a port only now
and then lets the agent run its own short loop (only while it has work), or, for completions,
waits on edges of done_o / err_o (no per-cycle Python).
"""

"""Measurement bench: cycles, utilization, toggles, energy and roofline of the attention
strategies on the RTL (`make bench`, docs/energy.md, docs/bench.md)."""

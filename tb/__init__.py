"""Verification bench: golden models, cocotb/pyuvm test benches and the simulation harness."""

"""Shared test-bench infrastructure: building and running RTL in Verilator from pytest."""

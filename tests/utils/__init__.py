"""Helpers shared by the test modules (and the benchmarks), one module per concern."""

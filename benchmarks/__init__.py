"""Benchmarks behind `riskflow bench`; results are recorded in docs/performance.md."""

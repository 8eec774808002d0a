"""Benchmarks: each bench/*_bench.py module has a main() that prints its figures."""

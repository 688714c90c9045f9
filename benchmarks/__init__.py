"""Benchmarks (not tests): they print numbers and save them to bench-results/."""

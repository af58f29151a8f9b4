"""Reproducible engine benchmarks (`make bench`); not part of the test suite."""

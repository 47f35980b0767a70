"""What development, the tests and the benchmarks run, and production never does."""

"""Detection-quality benchmarks on public fraud data sets, scored against published results."""

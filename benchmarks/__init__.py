"""The benchmark suite: the quality benchmark and the speed benchmarks (see README.md)."""

"""Benchmarks of the pruning engine; ``python -m bench`` runs them, BENCHMARKS.md holds figures."""

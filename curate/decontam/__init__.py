"""Benchmark contamination: reading evaluation files and the n-gram index of their items."""

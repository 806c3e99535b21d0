"""Deduplication: exact (normalised text hash) and near-duplicate (MinHash LSH), both bounded in
memory.

The recipe stages ``exact_dedup`` and ``minhash`` (``curate/stages``) drive the modules here:
``normalize`` and ``kernels`` (hashing), ``signatures`` (the MinHash definition), ``corpus``
(the per-shard pass), ``spills`` (external sort), ``clusters`` and ``unionfind`` (grouping),
``droplist`` (what the per-document pass looks up), ``index`` (dedup against an earlier corpus)
and ``pipeline`` (the passes in order, resumable).
"""

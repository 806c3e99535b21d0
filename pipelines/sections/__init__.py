"""Runners for the recipe sections that follow curation (bpe, shard, train)."""

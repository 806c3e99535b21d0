"""Data-quality ablations: the same model trained on differently curated data, compared on one
text."""

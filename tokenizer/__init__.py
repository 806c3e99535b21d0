"""BPE training (fast, through HF tokenizers, and a didactic pure-Python one), evaluation,
and sharding of curated documents into memory-mapped token arrays."""

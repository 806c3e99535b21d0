"""Text helpers shared by the filter stages: word splitting, n-gram repetition, word lists, language
ID."""

"""Dedup cluster sizes in the report: one row per size, power-of-two bins when sizes are many."""

from __future__ import annotations

from collections import Counter

from scratchlm.pipelines.report.sections import MAX_SIZE_ROWS, _size_rows


def test_few_sizes_get_a_row_each_with_clusters_from_dropped_documents() -> None:
    # a cluster of k documents keeps one and drops k - 1
    assert _size_rows(Counter({2: 40, 3: 10, 7: 12})) == [("2", 40, 40), ("3", 5, 10), ("7", 2, 12)]


def test_many_sizes_are_binned_and_no_document_is_lost() -> None:
    sizes = Counter({k: 2 * (k - 1) for k in range(2, 2 + MAX_SIZE_ROWS + 10)})
    rows = _size_rows(sizes)
    assert [r[0] for r in rows] == ["2", "3", "4", "5-8", "9-16", "17-32"]
    assert sum(r[2] for r in rows) == sum(sizes.values())
    assert sum(r[1] for r in rows) == 2 * len(sizes)

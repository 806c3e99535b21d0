"""Shared text analysis: the splits stages share are the ones each would compute alone, computed
once per text, recomputed when the text changes, and never written."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest

from quality_corpus import fortunes, prose, web_all
from scratchlm.curate.document import Document
from scratchlm.curate.stages.c4_badwords import C4Badwords
from scratchlm.curate.stages.c4_quality import C4Quality
from scratchlm.curate.stages.fineweb_quality import FinewebQuality
from scratchlm.curate.stages.gopher_quality import GopherQuality
from scratchlm.curate.stages.gopher_repetition import GopherRepetition
from scratchlm.curate.text import analysis
from scratchlm.curate.text.analysis import (
    lines_of,
    ngrams_of,
    nonempty_lines_of,
    paragraphs_of,
    pieces_of,
    words_of,
)
from scratchlm.curate.text.repetition import NgramIndex
from scratchlm.curate.text.words import split_nonempty_lines, split_paragraphs, split_words
from scratchlm.curate.writer import DOC_SCHEMA, ShardWriter

CITED = (
    "Paris is the capital of France.[1] It lies on the Seine, a long river.[citation needed]\n"
    "  [2] The city has many old bridges and some new ones. \n"
    "Its museums hold art from many ages and places.[edit]\nshort line\n"
    "The Louvre is the largest of them, by far.\nIt opened in 1793, after the revolution.\n"
)


def _chain() -> list:
    return [GopherRepetition(), GopherQuality(), C4Quality(), FinewebQuality(), C4Badwords()]


def _corpus() -> list[Document]:
    return [*web_all()[:150], *fortunes()[:150], prose("brown/ca01"), Document("cited", CITED * 3)]


def test_every_split_is_the_one_its_function_gives(tmp_path):
    for doc in _corpus():
        text = doc.text
        assert pieces_of(doc) == text.split() and words_of(doc) == split_words(text)
        assert lines_of(doc) == text.splitlines()
        assert nonempty_lines_of(doc) == split_nonempty_lines(text)
        assert paragraphs_of(doc) == split_paragraphs(text)


def test_a_chain_sharing_the_analysis_decides_and_annotates_as_stages_called_alone():
    """Each stage on a fresh copy of the document (nothing shared) against the same stages on one
    document flowing through them all, as in a fused segment."""
    for shared in _corpus():
        alone = Document(shared.id, shared.text, dict(shared.meta))
        for stage in _chain():
            fresh = Document(alone.id, alone.text, dict(alone.meta))
            expected, got = stage(fresh), stage(shared)
            assert type(got) is type(expected) and (not isinstance(got, str) or got == expected), (
                shared.id
            )
            alone = expected if isinstance(expected, Document) else fresh
            shared = got if isinstance(got, Document) else shared
            assert (shared.text, shared.meta) == (alone.text, alone.meta), (shared.id, stage)
            if isinstance(got, str):
                break


def test_the_words_are_split_once_per_text_and_again_when_the_text_changes(monkeypatch):
    calls = []
    split = analysis.words_of_pieces
    monkeypatch.setattr(
        analysis, "words_of_pieces", lambda pieces: calls.append(1) or split(pieces)
    )
    doc = prose("brown/ca01")
    for stage in (GopherRepetition(), GopherQuality(), FinewebQuality()):
        assert stage(doc) is None
    assert len(calls) == 1
    doc.text = doc.text.upper()  # a stage that rewrites the text in place
    assert words_of(doc) == split_words(doc.text) and len(calls) == 2


def test_c4_hands_the_kept_texts_words_on_exactly():
    kept = C4Quality()(Document("cited", CITED * 3))
    assert isinstance(kept, Document) and "[1]" not in kept.text
    assert kept.analysis is not None and kept.analysis.text is kept.text
    assert kept.analysis.pieces == kept.text.split() and kept.analysis.words == split_words(
        kept.text
    )


def test_the_analysis_is_never_written_and_a_document_still_pickles(tmp_path):
    doc = prose("brown/ca01")
    ngrams_of(doc)
    writer = ShardWriter(tmp_path / "part.parquet")
    writer.write(doc)
    writer.close()
    assert pq.read_table(tmp_path / "part.parquet").schema.names == DOC_SCHEMA.names
    again = pickle.loads(pickle.dumps(doc))
    assert (again.id, again.text, again.meta) == (doc.id, doc.text, doc.meta) and words_of(
        again
    ) == words_of(doc)


@pytest.mark.parametrize("order", [[5, 2, 7], [3, 3, 1, 4]])
def test_a_shared_ngram_index_answers_in_any_order(order):
    words = split_words(prose("brown/ca01").text)
    shared = NgramIndex(words)
    for n in order:
        assert np.array_equal(shared.keys(n), NgramIndex(words).keys(n))


def test_gophers_one_pass_over_the_tokens_counts_as_the_two_definitions():
    from scratchlm.curate.stages.gopher_quality import _words_and_lettered
    from scratchlm.curate.text.words import is_word

    for doc in _corpus():
        tokens = [*split_words(doc.text), "½", "Ⅻ", "x1", "1990", "...", "𝔘𝔫𝔦", "𝟙"]
        words, lettered = _words_and_lettered(tokens)
        assert words == [t for t in tokens if is_word(t)]
        assert lettered == sum(1 for t in tokens if any(c.isalpha() for c in t))

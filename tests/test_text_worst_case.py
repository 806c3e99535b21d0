"""The changes that made text code linear keep its outputs: each is checked against the form it replaced."""
from __future__ import annotations

import unicodedata

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.dedup.normalize import GRAPHEME_JOINER, STREAM_SAFE_RUN, Normalization, prenormalize

# letters, precomposed letters, marks of two combining classes, characters decomposing to marks
_MARKED = st.lists(st.sampled_from(["a", "B", " ", "é", "İ", "ﬁ", "\u0301", "\u0316", "\u0344", "\u0f73",
                                     "\u0316\u0301" * 8]), max_size=30).map("".join)


def _stream_safe(text: str) -> str:
    """A grapheme joiner after every 30 consecutive characters that decompose to a non-starter."""
    out, run = [], 0
    for ch in text:
        if run == STREAM_SAFE_RUN and unicodedata.combining(unicodedata.normalize("NFKD", ch)[0]):
            out.append(GRAPHEME_JOINER)
            run = 0
        run = run + 1 if unicodedata.combining(unicodedata.normalize("NFKD", ch)[0]) else 0
        out.append(ch)
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.lists(_MARKED, min_size=1, max_size=4))
def test_nfkc_is_arrows_on_stream_safe_text(texts):
    """Unchanged where no run of marks exceeds 30; beyond, as if a joiner followed every 30th mark."""
    lowered = pc.utf8_lower(pa.array(texts))
    expected = pc.utf8_normalize(pa.array([_stream_safe(t) for t in lowered.to_pylist()]), form="NFKC")
    assert prenormalize(pa.array(texts), Normalization()).to_pylist() == expected.to_pylist()


def test_only_long_runs_of_marks_change():
    texts = ["plain ascii", "e" + "\u0301" * STREAM_SAFE_RUN, "e" + "\u0316\u0301" * 40, None]
    plain = pc.utf8_normalize(pc.utf8_lower(pa.array(texts)), form="NFKC").to_pylist()
    got = prenormalize(pa.array(texts), Normalization()).to_pylist()
    assert got[:2] == plain[:2] and got[3] is None
    assert got[2].count(GRAPHEME_JOINER) == 2 and got[2].replace(GRAPHEME_JOINER, "") != plain[2]

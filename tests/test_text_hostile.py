"""Every piece of curation code that reads document text, on generated and adversarial text: it
answers without raising and its work grows linearly with the text's length."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adversarial import FAMILIES, TEXT_STAGES, grows_linearly, text_functions
from scratchlm.curate.document import Document
from scratchlm.curate.text.clean import clean_text


@pytest.fixture(scope="module")
def functions(tmp_path_factory) -> dict:
    return text_functions(tmp_path_factory.mktemp("hostile"))


NAMES = sorted(TEXT_STAGES) + [
    "exact_hash",
    "fused_chain",
    "html_extraction",
    "minhash_signature",
    "text_clean",
]

# Unicode of every kind (lone surrogates and control characters included, which st.characters
# leaves out by default), with the characters that tokenizers and patterns treat specially made
# frequent; runs of one punctuation character glued between words; tokens of up to 200,000
# characters
_SPECIAL = list(".-,'’/:@_[* \n\t\u0301\ufffd1a+") + ["\ud800", "\udfff", "\x00", "\x1b", "\x7f"]
_MIXED = st.text(st.one_of(st.characters(), st.sampled_from(_SPECIAL)), max_size=400)
_WORD = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
_GLUED = st.builds(
    lambda left, char, count, right: left + char * count + right,
    _WORD,
    st.sampled_from(list(".-,'/:=_@*[!?") + ["\ud800", "\x00"]),
    st.integers(1, 20_000),
    _WORD,
)
_LONG_TOKEN = st.builds(lambda unit, count: unit * count, _WORD, st.integers(1, 20_000))
_TEXT = st.lists(st.one_of(_MIXED, _GLUED, _LONG_TOKEN), min_size=1, max_size=4).map(" ".join)


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_TEXT)
def test_any_text_gets_an_answer(functions, name, text):
    result = functions[name](text if name == "text_clean" else clean_text(text)[0])
    if name in TEXT_STAGES:
        assert result is None or isinstance(result, (str, Document))


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", NAMES)
def test_work_grows_linearly_with_hostile_text(functions, name, family):
    assert grows_linearly(functions[name], family, n=25_000)

"""Every piece of curation code that reads document text, on generated and adversarial text: it
answers without raising and its work grows linearly with the text's length."""
from __future__ import annotations

import pytest
from adversarial import FAMILIES, TEXT_STAGES, grows_linearly, text_functions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.document import Document
from curate.text.clean import clean_text


@pytest.fixture(scope="module")
def functions(tmp_path_factory) -> dict:
    return text_functions(tmp_path_factory.mktemp("hostile"))


NAMES = sorted(TEXT_STAGES) + ["exact_hash", "html_extraction", "minhash_signature", "text_clean"]

# Unicode of every kind, with the characters that tokenizers and patterns treat specially made frequent
_TEXT = st.text(st.one_of(st.characters(), st.sampled_from(list(".-,'’/:@_[* \n\t\u0301\ufffd1a"))), max_size=400)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT)
def test_any_text_gets_an_answer(functions, name, text):
    result = functions[name](clean_text(text)[0])
    if name in TEXT_STAGES:
        assert result is None or isinstance(result, (str, Document))


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", NAMES)
def test_work_grows_linearly_with_hostile_text(functions, name, family):
    assert grows_linearly(functions[name], family, n=25_000)

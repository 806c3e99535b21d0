"""``scratchlm stages``: every stage a recipe can name; one stage's options and their defaults."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from conftest import run_cli
from scratchlm.curate.stages import stage_class, stage_names
from scratchlm.pipelines.commands.stages import describe
from scratchlm.pipelines.field_docs import option_notes


def test_the_list_names_every_stage_once() -> None:
    done = run_cli("stages")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == stage_names()
    assert re.search(r"^sample +keep a fixed share of the documents", done.stdout, re.MULTILINE)


def test_one_stage_prints_each_option_with_its_default() -> None:
    done = run_cli("stages", "gopher_quality")
    assert done.returncode == 0
    options = dict(re.findall(r"^  (\w+): .* = (.+)$", done.stdout, re.MULTILINE))
    defaults = {
        f.name: f.default for f in dataclasses.fields(stage_class("gopher_quality")) if f.init
    }
    assert options.keys() == defaults.keys()
    assert all(options[name] == repr(value) for name, value in defaults.items())
    assert "  min_words: int = 50" in done.stdout.splitlines()
    assert (
        "  badwords_language: str or null = 'en'"
        in run_cli("stages", "url_filter").stdout.splitlines()
    )


def test_an_unknown_stage_is_one_line_with_the_closest_name() -> None:
    done = run_cli("stages", "gopher")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        "scratchlm: error: unknown stage 'gopher' (did you mean "
        "'gopher_quality'? known: c4_badwords,"
    )


@pytest.mark.parametrize("name", stage_names())
def test_every_option_of_every_stage_says_what_it_does(name) -> None:
    cls = stage_class(name)
    notes = option_notes(cls)
    assert [f.name for f in dataclasses.fields(cls) if f.init and f.name not in notes] == []
    text = describe(name)
    assert "``" not in text and ":func:`" not in text  # no reST markup in terminal text
    lines = text.splitlines()
    for f in dataclasses.fields(cls):
        if f.init:  # the option's line, then its description wrapped under it
            at = next(i for i, line in enumerate(lines) if line.startswith(f"  {f.name}: "))
            wrapped = itertools.takewhile(lambda line: line.startswith(" " * 6), lines[at + 1 :])
            assert " ".join(" ".join(wrapped).split()) == " ".join(notes[f.name].split())


def test_a_description_comes_from_the_field_comment_or_the_docstring() -> None:
    notes = option_notes(stage_class("language"))
    assert (
        notes["min_chars"]
        == "Texts with fewer than min_chars non-space characters get und with score 0."
    )
    assert notes["backend"] == "fasttext (lid.176) or langdetect"
    assert (
        option_notes(stage_class("custom"))["name"]
        == "the reasons' prefix; default: the function's name"
    )


def test_one_stage_names_its_kind() -> None:
    kinds = {name: describe(name).splitlines()[1].split(":")[1].strip() for name in stage_names()}
    assert {name for name, kind in kinds.items() if kind == "source"} == {"read"}
    assert {name for name, kind in kinds.items() if kind == "global stage"} == {
        "decontaminate",
        "exact_dedup",
        "minhash",
        "perplexity",
    }
    batched = {
        name for name in kinds if "a batch of documents per call" in describe(name).splitlines()[1]
    }
    assert batched == {"language", "quality_classifier"}
    assert set(kinds.values()) == {"source", "global stage", "map stage"}

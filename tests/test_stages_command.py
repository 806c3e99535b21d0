"""``scratchlm stages``: every stage a recipe can name, and one stage's options with their real defaults."""
from __future__ import annotations

import dataclasses
import re

from conftest import run_cli
from curate.stages import stage_class, stage_names


def test_the_list_names_every_stage_once() -> None:
    done = run_cli("stages")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == stage_names()
    assert re.search(r"^sample +keep a fixed share of the documents", done.stdout, re.M)


def test_one_stage_prints_each_option_with_its_default() -> None:
    done = run_cli("stages", "gopher_quality")
    assert done.returncode == 0
    options = dict(re.findall(r"^  (\w+): .* = (.+)$", done.stdout, re.M))
    defaults = {f.name: f.default for f in dataclasses.fields(stage_class("gopher_quality")) if f.init}
    assert options.keys() == defaults.keys()
    assert all(options[name] == repr(value) for name, value in defaults.items())
    assert "  min_words: int = 50" in done.stdout.splitlines()
    assert "  badwords_language: str or null = 'en'" in run_cli("stages", "url_filter").stdout.splitlines()


def test_an_unknown_stage_is_one_line() -> None:
    done = run_cli("stages", "gopher")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("scratchlm: error: unknown stage 'gopher' (known: c4_badwords,")

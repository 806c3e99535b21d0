"""Recipes: unknown stages, unknown options and bad values are refused with the key's path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.config import build
from scratchlm.pipelines.recipe import load_recipe, parse_recipe
from tests.conftest import REPO, run_cli


@dataclass(frozen=True)
class Example:
    min_words: int = 50
    ratio: float = 0.5
    keep: list[str] | Literal["all"] = "all"
    mode: Literal["drop", "annotate"] = "drop"
    field: str | None = None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_words": "ten"}, "steps[2].example.min_words: expected int, got 'ten'"),
        ({"min_words": True}, "steps[2].example.min_words: expected int, got True"),
        ({"ratio": "x"}, "steps[2].example.ratio: expected float, got 'x'"),
        ({"mode": "keep"}, "steps[2].example.mode: expected one of 'drop', 'annotate', got 'keep'"),
        (
            {"keep": ["en", 3]},
            "steps[2].example.keep: expected list[str] or one of 'all', got ['en', 3]",
        ),
        (
            {"colour": 1},
            "steps[2].example.colour: unknown option (known: field, keep, min_words, mode, ratio)",
        ),
    ],
)
def test_bad_options_name_their_path(options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build(Example, options, "steps[2].example")
    assert str(err.value) == message


def test_the_documented_example_error_from_a_real_stage() -> None:
    steps = [{"read": {}}, {"language": {}}, {"gopher_quality": {"min_words": "ten"}}]
    with pytest.raises(ConfigError) as err:
        parse_recipe({"steps": steps})
    assert str(err.value) == "steps[2].gopher_quality.min_words: expected int, got 'ten'"


def test_good_options_are_converted() -> None:
    built = build(Example, {"min_words": 3, "ratio": 1, "keep": ["en"], "field": None}, "x")
    assert built == Example(min_words=3, ratio=1.0, keep=["en"])
    assert isinstance(built.ratio, float)


def test_recipe_structure_errors() -> None:
    with pytest.raises(ConfigError, match=r"^steps\[1\]\.no_such_stage: unknown stage"):
        parse_recipe({"steps": [{"read": {}}, {"no_such_stage": {}}]})
    with pytest.raises(ConfigError, match=r"^steps\[0\]\.read\.format: expected str, got 5$"):
        parse_recipe({"steps": [{"read": {"format": 5}}]})
    with pytest.raises(ConfigError, match=r"^steps: 'read' may only be the first step$"):
        parse_recipe({"steps": [{"read": {}}, {"read": {}}]})
    with pytest.raises(ConfigError, match=r"^stepz: unknown recipe section"):
        parse_recipe({"stepz": []})


def test_demo_recipe_loads_and_round_trips_through_yaml(tmp_path: Path) -> None:
    recipe = load_recipe(REPO / "pipelines" / "recipes" / "demo.yaml")
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(recipe.to_yaml(), encoding="utf-8")
    assert load_recipe(resolved).to_yaml() == recipe.to_yaml()


def test_cli_refuses_bad_recipe_and_missing_input_before_work(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - read: {format: auto, colour: red}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "curate", str(bad), "--input", str(REPO / "tests/data/prose"), "--output", str(out)
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"scratchlm: error: recipe {bad}: steps[0].read.colour: unknown option (known: "
    )
    assert "format, id_field" in line
    assert not out.exists()
    result = run_cli(
        "curate",
        str(REPO / "pipelines/recipes/demo.yaml"),
        "--input",
        str(tmp_path / "nope"),
        "--output",
        str(out),
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"scratchlm: error: input path {tmp_path / 'nope'} does not exist"
    )
    assert not out.exists()
    broken = tmp_path / "broken.yaml"
    broken.write_text("steps: [read: {\n", encoding="utf-8")
    result = run_cli(
        "curate", str(broken), "--input", str(REPO / "tests/data/prose"), "--output", str(out)
    )
    assert result.returncode == 2 and "is not valid YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_version_and_help() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("scratchlm ")
    result = run_cli("curate", "--help")
    assert (
        result.returncode == 0 and "--workers" in result.stdout and "(default: 1)" in result.stdout
    )


def test_every_bad_option_of_a_recipe_is_reported_at_once_with_the_closest_name(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nsteps:\n  - read: {colour: red}\n"
        "  - language: {kep: en, threshold: high}\n  - gopher: {}\n"
        "train: {max_stepz: 3}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    prose = str(REPO / "tests/data/prose")
    result = run_cli("curate", str(bad), "--input", prose, "--output", str(out))
    assert result.returncode == 2 and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"scratchlm: error: recipe {bad}: 5 problems:"
    assert [line.split(" (")[0] for line in lines[1:]] == [
        "  steps[0].read.colour: unknown option",
        "  steps[1].language.kep: unknown option",
        "  steps[1].language.threshold: expected float, got 'high'",
        "  steps[2].gopher: unknown stage",
        "  train.max_stepz: unknown option",
    ]
    assert "(did you mean 'keep'? known: action," in lines[2]
    assert "(did you mean 'gopher_quality'? known:" in lines[4]
    assert "(did you mean 'max_steps'? known:" in lines[5]
    assert "did you mean" not in lines[1]  # nothing is close to colour


def test_a_yaml_syntax_error_gives_line_and_column(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nsteps:\n  - read: {}\n  - language: {keep: en\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_recipe(broken)
    assert str(err.value) == (
        f"recipe {broken} is not valid YAML: line 5, column 1: expected ',' "
        f"or '}}', but got '<stream end>' (while parsing a flow mapping from "
        f"line 4, column 15)"
    )


def test_a_single_value_where_a_list_is_expected_is_a_one_item_list() -> None:
    recipe = parse_recipe(
        {
            "steps": [
                {"read": {}},
                {"language": {"keep": "en"}},
                {"url_filter": {"domains": "example.com"}},
            ]
        }
    )
    assert recipe.steps[1].stage.keep == ["en"] and recipe.steps[2].stage.domains == ["example.com"]
    every = parse_recipe({"steps": [{"read": {}}, {"language": {"keep": "all"}}]})
    assert every.steps[1].stage.keep == "all"
    assert build(Example, {"keep": "en"}, "x").keep == ["en"]

"""Every command's help: each option explained, each default said once; output folders alike;
output cut short by its reader (``| head``) ends quietly."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest

from scratchlm.pipelines.cli import build_parser, main, subparsers_of
from scratchlm.pipelines.commands._options import add_field_options
from scratchlm.pipelines.config import field_values
from tests.conftest import REPO

PARSERS = {p.prog: p for p in subparsers_of(build_parser())}


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_option_is_explained_and_its_default_said_once(prog) -> None:
    parser = PARSERS[prog]
    unexplained = [
        a.option_strings[0] if a.option_strings else a.dest for a in options(parser) if not a.help
    ]
    assert unexplained == []
    text = " ".join(parser.format_help().split())
    assert not re.search(r"\(default: [^)]*\) \(default:", text)
    assert "``" not in text  # no reST markup in terminal text


def test_a_default_the_help_names_is_not_added_again(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["curate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "parallel worker processes (default: 1)" in text
    assert "(default: 1) (default: 1)" not in text


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--data", "SHARDS"],
        ["import", "--from-hf", "GPT2"],
        ["finetune", "classify", "--checkpoint", "C", "--train", "T", "--val", "V"],
        ["finetune", "merge", "--adapters", "A"],
    ],
)
def test_output_folders_are_named_output_with_out_kept(command) -> None:
    parser = build_parser()
    assert parser.parse_args([*command, "--output", "DIR"]).out.name == "DIR"
    assert parser.parse_args([*command, "--out", "DIR"]).out.name == "DIR"


def test_export_takes_output_and_the_older_positional_folder(tmp_path, capsys) -> None:
    assert main(["export", "--checkpoint", str(tmp_path / "none")]) == 2
    assert "export: give --output DIR" in capsys.readouterr().err
    for spelling in (["--output", "DIR"], ["DIR"]):
        args = build_parser().parse_args(["export", "--checkpoint", "C", *spelling])
        assert (args.output or args.output_folder).name == "DIR"


def test_output_cut_short_by_its_reader_is_no_traceback() -> None:
    """``scratchlm stages minhash | head -1``: the pipe closes before the output is written."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchlm.pipelines", "stages", "minhash"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    process.stdout.close()  # as `head` exits: every write of the command meets a closed pipe
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert stderr == ""


def test_field_options_take_type_default_and_choices_from_the_dataclass() -> None:
    @dataclasses.dataclass
    class Options:
        rate: float = 0.5
        name: str = "a"
        mode: Literal["x", "y"] = "x"
        folder: Path = Path("f")

    parser = argparse.ArgumentParser()
    helps = {"rate": "r", "mode": "m", "folder": "d", "name": "n"}
    add_field_options(parser, Options(), helps, flags={"folder": "--dir"})
    parsed = parser.parse_args(["--rate", "2", "--mode", "y", "--dir", "g"])
    assert Options(**field_values(Options, parsed)) == Options(2.0, "a", "y", Path("g"))
    assert "--dir DIR" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "z"])


@pytest.mark.parametrize("hint", [bool, int | None])
def test_a_field_no_typed_option_reads_is_refused(hint) -> None:
    Options = dataclasses.make_dataclass("Options", [("value", hint, None)])
    with pytest.raises(TypeError, match="no field option reads"):
        add_field_options(argparse.ArgumentParser(), Options(), {"value": "v"})

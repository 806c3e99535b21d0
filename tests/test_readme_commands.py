"""Every ``scratchlm`` command the README (and docs/training.md) shows is one the CLI accepts, and
every README command that runs on a CPU from a fresh clone runs here: the follow-ups on a run
folder as ``make demo`` leaves it (with a tiny model), the fine-tuning chain on it, and the web
data commands against a real HTTP server on 127.0.0.1. The rest are named with the reason they
are only parsed."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
from pathlib import Path

import pytest
import torch

from conftest import DATA, REPO
from fetch_http import FetchServer
from scratchlm.model.train import train
from scratchlm.pipelines.cli import build_parser, main, subparsers_of
from test_fetch_warc import wet_file
from train_shards import brown_shards, read_texts
from training_helpers import tiny_config

torch.set_num_threads(1)
pytestmark = pytest.mark.xdist_group("readme")  # one worker builds the demo folder once


def doc_commands(name: str) -> list[str]:
    """The ``scratchlm`` lines of a Markdown file's bash blocks, continuations joined, comments
    cut."""
    text = (REPO / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [re.sub(r"\s+#.*$", "", line).strip() for line in lines if line.startswith("scratchlm ")]


COMMANDS = doc_commands("README.md")
PARSERS = {p.prog.removeprefix("scratchlm "): p for p in subparsers_of(build_parser())}

# README commands run below, by the start of each, in README order
ON_THE_DEMO = (
    "scratchlm sample --checkpoint runs/demo/train",
    "scratchlm eval --checkpoint runs/demo/train",
    "scratchlm report runs/demo",
    "scratchlm train --data runs/demo/shards",
    "scratchlm finetune classify",
    "scratchlm export",
)
FINE_TUNING = (
    "scratchlm finetune instruct",
    "scratchlm sample --checkpoint runs/chat",
    "scratchlm finetune merge",
    "scratchlm finetune dpo",
    "scratchlm eval --checkpoint runs/dpo",
    "scratchlm import",
)
WEB_DATA = ("scratchlm fetch", "scratchlm curate pipelines/recipes/demo.yaml --input cc-mirror")
# README commands that are only parsed, and why
PARSED_ONLY = {
    "scratchlm train --data SHARDS --preset gpt2-124m": "a GPU model, with SHARDS of one's own",
    "scratchlm train ... --restart": "an option of the commands above, not a command",
    "scratchlm train --data NEW_SHARDS --init-from runs/124m": "needs the GPU run's checkpoint",
    "scratchlm eval --checkpoint runs/124m --data SHARDS": "needs the GPU run's checkpoint",
    "scratchlm eval --checkpoint runs/124m --task": "needs the GPU run and HellaSwag's file",
    "scratchlm ablate": "15 minutes on 2 cores (tests/test_ablate_run.py runs a small ablation)",
    "scratchlm mix": "two curations and 300 training steps, minutes on 2 cores "
    "(tests/test_mix_command.py runs small mixtures end to end)",
}


def _words(command: str) -> list[str]:
    """A README command's arguments, its optional ``[...]`` parts included, ``~`` expanded."""
    words = shlex.split(command.replace("[", "").replace("]", ""))[1:]
    return [os.path.expanduser(w) for w in words]


@pytest.mark.parametrize("command", COMMANDS + doc_commands("docs/training.md"))
def test_every_documented_command_is_accepted_by_the_cli(command) -> None:
    words = shlex.split(command.replace("[", "").replace("]", ""))[1:]
    if "..." in words:  # an option added to an earlier example: it must be one of the command's
        name = " ".join(words[: words.index("...")])
        options = {s for a in PARSERS[name]._actions for s in a.option_strings}
        assert {w for w in words if w.startswith("--")} <= options
    else:
        build_parser().parse_args(words)


def test_each_readme_command_is_run_here_or_said_why_not() -> None:
    assert len(COMMANDS) >= 15
    groups = [ON_THE_DEMO, FINE_TUNING, WEB_DATA, tuple(PARSED_ONLY)]
    for command in COMMANDS:
        matches = [start for group in groups for start in group if command.startswith(start)]
        assert len(matches) == 1, f"{command!r} matches {matches}: run it in a test or say why not"
    for group in groups:
        assert all(any(c.startswith(start) for c in COMMANDS) for start in group)


def _on_cpu(words: list[str]) -> list[str]:
    """``--device cpu`` for a command that takes a device."""
    name = next(
        n for n in sorted(PARSERS, key=len, reverse=True) if words[: len(n.split())] == n.split()
    )
    return ["--device", "cpu"] if "--device" in PARSERS[name]._option_string_actions else []


def _readme_commands(starts: tuple[str, ...]) -> list[str]:
    return [c for c in COMMANDS if c.startswith(starts)]


def _subcommands(commands: list[str]) -> list[str]:
    """The word after ``scratchlm`` of each command."""
    return [c.split()[1] for c in commands]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A folder laid out as a clone after ``make demo``: ``runs/demo`` (curated, shards and a tiny
    model of block size 256, room for the fine-tuning prompts), with ``tests`` and ``pipelines``."""
    root = tmp_path_factory.mktemp("checkout")
    demo = root / "runs" / "demo"
    recipe = root / "read.yaml"
    recipe.write_text("name: demo\nsteps:\n  - read: {}\n", encoding="utf-8")
    assert (
        main(
            [
                "curate",
                str(recipe),
                "--input",
                str(DATA / "prose/kjv.jsonl.gz"),
                "--output",
                str(demo),
            ]
        )
        == 0
    )
    shards = brown_shards(demo / "shards", chars=40_000)
    cfg = tiny_config(
        {"block_size": 256}, max_steps=2, micro_batch=2, eval_tokens=512, warmup_steps=1
    )
    train(cfg, shards, demo / "train", device="cpu")
    for name in ("tests", "pipelines"):
        (root / name).symlink_to(REPO / name)
    return root


def test_the_commands_on_the_demo_run_folder_run(checkout, capsys, monkeypatch) -> None:
    follow_ups = _readme_commands(ON_THE_DEMO)
    assert _subcommands(follow_ups) == ["sample", "eval", "report", "train", "finetune", "export"]
    monkeypatch.chdir(checkout)  # the commands name runs/demo and tests/data from the checkout
    capsys.readouterr()
    for command in follow_ups:
        words = _words(command)
        short = ["--max-steps", "2", "--eval-tokens", "512", "--samples", "0"]  # not minutes
        extra = short if words[0] == "train" else []
        assert main([*words, *_on_cpu(words), *extra]) == 0, command
    printed = capsys.readouterr().out
    assert printed.startswith("The history of") and "perplexity" in printed
    assert (checkout / "runs" / "demo" / "report" / "index.html").exists()
    assert (checkout / "runs" / "hf" / "config.json").exists()  # the export's GPT-2 folder
    assert any((checkout / "runs" / "cls").iterdir())  # the fine-tuned classifier
    assert (checkout / "runs" / "tiny" / "step-0000002").is_dir()  # the tiny preset, 2 steps


def _alpaca_records(count: int) -> list[dict]:
    """Records in Stanford Alpaca's layout (instruction, input, output), from the shipped
    preference file's prompts and chosen answers: a stand-in for ``alpaca_data.json``."""
    with gzip.open(DATA / "finetune" / "preferences-train.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for _, line in zip(range(count), f)]
    return [
        {"instruction": r["instruction"], "input": r["input"], "output": r["chosen"]}
        for r in records
    ]


def test_the_fine_tuning_commands_run_on_the_demo_run_folder(checkout, capsys, monkeypatch) -> None:
    chain = _readme_commands(FINE_TUNING)
    assert _subcommands(chain) == ["finetune", "sample", "finetune", "finetune", "eval", "import"]
    monkeypatch.chdir(checkout)
    monkeypatch.setenv("HOME", str(checkout / "home"))  # ~/gpt2: the demo model, exported
    (checkout / "alpaca.json").write_text(json.dumps(_alpaca_records(24)), encoding="utf-8")
    assert (
        main(
            [
                "export",
                "--checkpoint",
                "runs/demo/train",
                "--to",
                "hf",
                "--output",
                str(checkout / "home" / "gpt2"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    for command in chain:
        words = _words(command)
        short = {
            "instruct": ["--epochs", "1"],  # not minutes: one pass, one evaluation at its end
            "dpo": ["--epochs", "1", "--eval-every", "1000"],
        }.get(words[1], [])
        assert main([*words, *_on_cpu(words), *short]) == 0, command
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert "adapters merged: runs/chat-merged/step-0000003" in lines  # 22 records, batch 8: 3 steps
    assert "1440 training and 300 held-out pairs; none rejected" in lines
    assert [line.split()[:2] for line in lines if line.startswith("reward")] == [
        ["reward", "accuracy"],
        ["reward", "margin"],
    ]  # eval --preferences: a table
    assert lines[-1] == (
        "checkpoint written: runs/gpt2/step-0000000 (use it with sample, "
        "finetune, export or train --init-from)"
    )
    runs = checkout / "runs"
    assert (runs / "chat" / "adapters.safetensors").is_file()  # --lora-rank: the adapters alone
    for name in ("chat-merged/step-0000003", "dpo/step-0000180", "gpt2/step-0000000"):
        assert (runs / name / "model.safetensors").is_file(), name


def test_the_web_data_commands_run_against_a_local_server(tmp_path, monkeypatch) -> None:
    fetch, curate = _readme_commands(WEB_DATA)
    listing = "crawl-data/CC-MAIN-2024-10/wet.paths.gz"
    paths = [f"crawl-data/CC-MAIN-2024-10/segments/1/wet/part-{i}.warc.wet.gz" for i in range(3)]
    texts = read_texts(DATA / "prose" / "brown.jsonl.gz")[:15]
    with FetchServer() as server:  # Common Crawl's layout: a gzipped list of paths, WET files
        server.files[listing] = gzip.compress("".join(p + "\n" for p in paths).encode())
        for i, path in enumerate(paths):
            server.files[path] = wet_file(texts[5 * i : 5 * i + 5])
        monkeypatch.chdir(tmp_path)
        local = fetch.replace("https://data.commoncrawl.org/", f"{server.url}/files/")
        assert main(_words(local)) == 0
    mirrored = sorted(
        p.relative_to(tmp_path / "cc-mirror").as_posix()
        for p in (tmp_path / "cc-mirror").rglob("*.gz")
    )
    assert mirrored == paths[:2]  # --limit 2
    (tmp_path / "pipelines").symlink_to(REPO / "pipelines")
    assert main(_words(curate)) == 0
    stats = json.loads((tmp_path / "runs" / "cc" / "stats.json").read_text(encoding="utf-8"))
    assert stats["01_read"]["docs_in"] == 10 and stats["01_read"]["docs_out"] == 10
    assert list(stats.values())[-1]["docs_out"] > 0

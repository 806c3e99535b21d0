"""Every ``scratchlm`` command the README shows is one the CLI accepts, and those that need only a
run folder as ``make demo`` leaves it (sample, eval, report, training the tiny preset for two
steps, fine-tuning a classifier, export) run on one."""
from __future__ import annotations

import re
import shlex

import pytest
import torch
from conftest import REPO
from train_shards import brown_shards

from model.config import TrainConfig
from model.train import train
from pipelines.cli import build_parser, main, subparsers_of

torch.set_num_threads(1)


def readme_commands() -> list[str]:
    """The ``scratchlm`` lines of the README's bash blocks, continuations joined, comments cut."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [re.sub(r"\s+#.*$", "", line).strip() for line in lines if line.startswith("scratchlm ")]


COMMANDS = readme_commands()
PARSERS = {p.prog.removeprefix("scratchlm "): p for p in subparsers_of(build_parser())}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_is_accepted_by_the_cli(command) -> None:
    words = shlex.split(command.replace("[", "").replace("]", ""))[1:]
    if "..." in words:  # an option added to an earlier example: it must be one of the command's
        name = " ".join(words[:words.index("...")])
        options = {s for a in PARSERS[name]._actions for s in a.option_strings}
        assert {w for w in words if w.startswith("--")} <= options
    else:
        build_parser().parse_args(words)


def test_there_are_readme_commands_to_check() -> None:
    assert len(COMMANDS) >= 15


def test_the_commands_on_the_demo_run_folder_run(tmp_path, capsys, monkeypatch) -> None:
    demo = tmp_path / "runs" / "demo"  # the folders make demo writes, with a tiny model
    recipe = tmp_path / "read.yaml"
    recipe.write_text("name: demo\nsteps:\n  - read: {}\n", encoding="utf-8")
    assert main(["curate", str(recipe), "--input", str(REPO / "tests/data/prose/kjv.jsonl.gz"),
                 "--output", str(demo)]) == 0
    capsys.readouterr()
    shards = brown_shards(demo / "shards", chars=40_000)
    train(TrainConfig(max_steps=2, micro_batch=2, eval_every=0, eval_tokens=256, samples=0,
                      warmup_steps=1, model={"n_layer": 1, "n_head": 2, "n_embd": 32,
                                             "block_size": 32}),
          shards, demo / "train", device="cpu")
    follow_ups = [c for c in COMMANDS
                  if "runs/demo" in c and c.split()[1] in ("sample", "eval", "report", "export")
                  or c.startswith(("scratchlm finetune classify",
                                   "scratchlm train --data runs/demo"))]
    assert [c.split()[1] for c in follow_ups] == ["sample", "eval", "report", "train", "finetune",
                                                  "export"]
    (tmp_path / "tests").symlink_to(REPO / "tests")  # the fine-tuning example's data
    monkeypatch.chdir(tmp_path)  # the commands name runs/demo and tests/data from the checkout
    for command in follow_ups:
        name = command.split()[1]
        on_cpu = ["--device", "cpu"] if name in ("sample", "eval", "train", "finetune") else []
        short = ["--max-steps", "2", "--eval-tokens", "512", "--samples", "0"]  # not minutes
        assert main([*shlex.split(command)[1:], *on_cpu,
                     *(short if name == "train" else [])]) == 0, command
    printed = capsys.readouterr().out
    assert printed.startswith("The history of") and "perplexity" in printed
    assert (demo / "report" / "index.html").exists()
    assert (tmp_path / "runs" / "hf" / "config.json").exists()  # the export's GPT-2 folder
    assert any((tmp_path / "runs" / "cls").iterdir())  # the fine-tuned classifier
    assert (tmp_path / "runs" / "tiny" / "step-0000002").is_dir()  # the tiny preset, 2 steps

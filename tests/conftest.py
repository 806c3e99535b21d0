"""Shared test helpers: sample data paths and running the real CLI in a subprocess."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def cli(*args: str) -> list[str]:
    """The command line of ``scratchlm ARGS`` in this Python."""
    return [sys.executable, "-m", "scratchlm.pipelines", *args]


def cli_env(**variables: str) -> dict[str, str]:
    """This process's environment with unbuffered output and ``variables`` set."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **variables}


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``scratchlm ARGS`` as a user would run it, capturing its output (``env``: variables to set
    besides this process's)."""
    return subprocess.run(
        cli(*args),
        check=False,
        cwd=cwd or REPO,
        env=cli_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Running ``scratchlm curate``: its arguments, in a subprocess, in this process; test inputs.


def curate_args(
    recipe: Path, inputs: str | Path | list[Path], out: Path, *options: str
) -> list[str]:
    """The arguments of ``scratchlm curate RECIPE --input INPUTS --output OUT OPTIONS``."""
    sources = [inputs] if isinstance(inputs, (str, Path)) else inputs
    return ["curate", str(recipe), "--input", *map(str, sources), "--output", str(out), *options]


def run_curate(
    recipe: Path, inputs: Path | list[Path], out: Path, *options: str, **run: object
) -> subprocess.CompletedProcess:
    """``scratchlm curate RECIPE --input INPUTS --output OUT OPTIONS`` run by :func:`run_cli`
    (``run``: its ``cwd`` and ``timeout``)."""
    return run_cli(*curate_args(recipe, inputs, out, *options), **run)


def curate_in_process(
    tmp_path: Path, recipe: str, inputs: Path | list[Path], *options: str
) -> Path:
    """Curate ``inputs`` into ``tmp_path/run`` in this process with the recipe text ``recipe``
    (written to ``tmp_path/recipe.yaml``), asserting that it succeeds; the run folder."""
    from scratchlm.pipelines.cli import main

    path = tmp_path / "recipe.yaml"
    path.write_text(recipe, encoding="utf-8")
    out = tmp_path / "run"
    assert main(curate_args(path, inputs, out, *options)) == 0
    return out


def write_brown_and_copies(folder: Path, records: int, copies: int) -> None:
    """``brown.jsonl`` in ``folder``: the first ``records`` Brown corpus records; and
    ``brown-again.jsonl``: the first ``copies`` of them again under new ids."""
    brown = (
        gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes()).decode().splitlines()
    )[:records]
    (folder / "brown.jsonl").write_text("\n".join(brown) + "\n")
    again = [
        json.dumps({**json.loads(line), "id": f"again-{i}"})
        for i, line in enumerate(brown[:copies])
    ]
    (folder / "brown-again.jsonl").write_text("\n".join(again) + "\n")


def start_curate(
    recipe: Path, inputs: Path, out: Path, *options: str, cwd: Path = REPO, **popen: object
) -> subprocess.Popen:
    """``scratchlm curate RECIPE --input INPUTS --output OUT OPTIONS`` started in the background,
    importing this checkout from any ``cwd``; its standard output is discarded."""
    command = cli(*curate_args(recipe, inputs, out, *options))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, **popen)


def kill_9_after(
    process: subprocess.Popen, folder: Path, pattern: str, count: int, timeout: float = 60
) -> None:
    """SIGKILL ``process`` once ``count`` files under ``folder`` match ``pattern`` (or at
    ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(list(folder.glob(pattern))) < count:
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def data_dir() -> Path:
    return DATA


def run_interpreted(code: str) -> str:
    """Run ``code`` (``sys.argv[1]`` is the repository) in a new Python under Triton's CPU
    interpreter; its standard output, after checking that it exited cleanly."""
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1")
    result = subprocess.run(
        [sys.executable, "-c", code, str(REPO)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()

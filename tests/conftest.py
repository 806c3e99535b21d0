"""Shared test helpers: sample data paths and running the real CLI in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``scratchlm ARGS`` as a user would run it, capturing its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "scratchlm.pipelines", *args],
        check=False,
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_curate(
    recipe: Path, inputs: Path, out: Path, *options: str, cwd: Path = REPO, **popen: object
) -> subprocess.Popen:
    """``scratchlm curate RECIPE --input INPUTS --output OUT OPTIONS`` started in the background,
    importing this checkout from any ``cwd``; its standard output is discarded."""
    command = [sys.executable, "-m", "scratchlm.pipelines", "curate", str(recipe)]
    command += ["--input", str(inputs), "--output", str(out), *options]
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

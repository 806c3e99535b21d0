"""A curation driver killed with -9 leaves no process behind: its pool workers and their shard
children die with it (a real ``scratchlm curate`` process, real workers)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import DATA, start_curate

SLOW_STEP = "import time\n\ndef slow(doc):\n    time.sleep(0.05)\n    return None\n"


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we read
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_and_shard_children_die_with_a_killed_driver(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(SLOW_STEP, encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    steps = [{"read": {}}, {"custom": {"function": f"{tmp_path / 'steps.py'}:slow"}}]
    recipe.write_text(json.dumps({"name": "orphans", "steps": steps}), encoding="utf-8")
    driver = start_curate(
        recipe, DATA / "prose", tmp_path / "run", "--workers", "2", stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    below: set[int] = set()
    while time.monotonic() < deadline and driver.poll() is None:
        below = descendants(driver.pid)
        if len(below) >= 4:  # two pool workers, each with its shard child
            break
        time.sleep(0.05)
    assert driver.poll() is None, "the run ended before the driver could be killed"
    assert len(below) >= 4, below
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(running(p) for p in below):
        time.sleep(0.05)
    assert [p for p in below if running(p)] == []

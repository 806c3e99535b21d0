"""Forked curation processes (pool workers, shard children) run torch after a parent that used
torch's threads: a forked copy of the parent's OpenMP threads would hang its first parallel
operation (the perplexity step in a run whose driver had trained, say)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from conftest import REPO

SCRIPT = """
import json
import torch
from scratchlm.pipelines.deadline import supervise
from scratchlm.pipelines.executors.local import LocalExecutor

torch.set_num_threads(2)
x = torch.ones(512, 4096)
print(json.dumps(float(x.exp().sum())))  # the parent's threads are started

def in_child(plan, watch):
    return float(x.exp().sum()), torch.get_num_threads()

def in_worker(scale):
    return float((x * scale).exp().sum()), torch.get_num_threads()

print(json.dumps(supervise(in_child, 60.0)))
print(json.dumps(LocalExecutor(2).map(in_worker, [1, 2])))
"""


def test_forked_processes_run_torch_on_one_thread_after_a_threaded_parent() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    parent, child, workers = map(json.loads, done.stdout.splitlines())
    e = math.e
    assert math.isclose(parent, 512 * 4096 * e, rel_tol=1e-4)
    assert child[1] == 1 and math.isclose(child[0], parent, rel_tol=1e-6)
    (one, one_threads), (two, two_threads) = workers
    assert (one_threads, two_threads) == (1, 1)
    assert math.isclose(one, parent, rel_tol=1e-6)
    assert math.isclose(two, 512 * 4096 * e**2, rel_tol=1e-4)

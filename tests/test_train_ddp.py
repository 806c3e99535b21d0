"""Two processes under ``torchrun --nproc_per_node 2`` (gloo on CPU): DDP replicas stay equal, FSDP
agrees.

DDP runs the chunked head loss and FSDP the whole logits, so their agreement covers both paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO
from scratchlm.model import checkpoint
from scratchlm.model.config import GPTConfig
from scratchlm.model.gpt import GPT
from train_shards import brown_shards

WORKER = """
import json, sys
from pathlib import Path
import torch
import torch.distributed as dist
from scratchlm.model.config import TrainConfig
from scratchlm.model.train import Trainer

torch.set_num_threads(1)
for mode in ("ddp", "fsdp"):
    out = Path(sys.argv[2], mode)
    cfg = TrainConfig(max_steps=6, micro_batch=4, batch_tokens=512, log_every=3, eval_every=0,
                      eval_tokens=256, samples=0, checkpoint_every=0, lr=3e-3, warmup_steps=2,
                      fsdp=mode == "fsdp",
                      # DDP: the chunked loss (3 chunks a micro-batch)
                      loss_chunk=48 if mode == "ddp" else 0,
                      model={"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32,
                             "dropout": 0.0})
    trainer = Trainer(cfg, Path(sys.argv[1]), out, device="cpu")
    first = trainer.loader.step_batches(0, 1)[0][0]
    trainer.run()
    params = [p.full_tensor() if hasattr(p, "full_tensor") else p
              for p in trainer.model.parameters()]
    flat = torch.cat([p.detach().flatten() for p in params])
    replicas = [torch.empty_like(flat) for _ in range(trainer.dist.world)]
    dist.all_gather(replicas, flat)
    batches = [torch.empty_like(first) for _ in range(trainer.dist.world)]
    dist.all_gather(batches, first)
    if trainer.dist.rank == 0:
        (out / "replicas.json").write_text(json.dumps({
            "world": trainer.dist.world, "accumulation": trainer.accum,
            "replicas_equal": all(torch.equal(replicas[0], r) for r in replicas),
            "batches_differ": not torch.equal(batches[0], batches[1]),
            "weights": flat.tolist()}))
from scratchlm.model.distributed import shutdown
shutdown()
# end the process without interpreter teardown: under load a gloo rank has been seen to abort
# ("terminate called without an active exception") while its C++ threads were torn down
import os
sys.stdout.flush()
os._exit(0)
"""


def torchrun(shards: Path, out: Path) -> tuple[dict, dict]:
    """Train the same model with DDP, then with FSDP, in one two-process launch."""
    script = out.parent / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(shards),
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[:2000] + "\n...\n" + done.stderr[-2000:]
    return tuple(json.loads((out / mode / "replicas.json").read_text()) for mode in ("ddp", "fsdp"))


def losses(out: Path) -> list[float]:
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records if "loss" in r]


def test_ddp_replicas_stay_equal_and_fsdp_trains_the_same_model(tmp_path) -> None:
    shards = brown_shards(tmp_path / "shards", chars=60_000, vocab_size=300)
    ddp, fsdp = torchrun(shards, tmp_path)
    assert (
        ddp["world"] == 2 and ddp["accumulation"] == 2
    )  # 512 tokens = 2 ranks x 2 micro-steps x 4 x 32
    assert ddp["replicas_equal"] and ddp["batches_differ"]
    saved = checkpoint.load(
        tmp_path / "ddp"
    )  # rank 0 wrote the final checkpoint: the replicas' weights
    assert saved.state["step"] == 6 and saved.state["tokens"] == 6 * 512
    model = GPT(GPTConfig(**saved.model_config))
    checkpoint.load_weights(model, saved.weights)
    assert torch.cat([p.detach().flatten() for p in model.parameters()]).tolist() == ddp["weights"]
    assert (
        len(losses(tmp_path / "ddp")) == 2
        and losses(tmp_path / "ddp")[1] < losses(tmp_path / "ddp")[0]
    )

    assert fsdp[
        "batches_differ"
    ]  # FSDP: parameters, gradients and optimizer state sharded over the ranks
    assert torch.allclose(torch.tensor(fsdp["weights"]), torch.tensor(ddp["weights"]), atol=1e-5)
    assert losses(tmp_path / "fsdp") == pytest.approx(losses(tmp_path / "ddp"), abs=1e-5)
    gathered = checkpoint.load(
        tmp_path / "fsdp"
    )  # full weights and optimizer state, written by rank 0
    assert all(
        torch.allclose(gathered.weights[k], saved.weights[k], atol=1e-5) for k in saved.weights
    )

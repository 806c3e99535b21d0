"""Training throughput of the trainer on a GPU: tokens/s, MFU and peak memory per preset.

Runs the trainer's own step (real shard loader, bf16 autocast, fused AdamW, clipping, gradient
accumulation) at block size 1024 and vocabulary 50,304. Under ``torchrun`` it measures DDP.

    python3 benchmarks/train_gpu.py --data SHARDS                       # one GPU
    torchrun --nproc_per_node 2 benchmarks/train_gpu.py --data SHARDS   # DDP over 2 GPUs

MFU = tokens/s x (6N + 12·L·H·Q·T) / (989e12 x GPUs): N parameters in matrix products, L layers,
H heads, Q head size, T context (PaLM, appendix B); 989 TFLOP/s is the H100 SXM's dense bf16 peak
(the H200 has the same). Without --compile-off each block is compiled with torch.compile.
Each run is measured with the MLP's plain path and its fused path (model/fused_mlp.py: the GELU, its
derivative and the residual add in cuBLASLt's epilogues) unless --mlp names paths; the table shows
them side by side. --profile prints
the GPU kernels of one more step of each, and their time by kind (GEMM, attention, GELU, ...).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# the repository on the path instead of benchmarks/, whose tokenize.py would shadow the standard
# library's
sys.path[0] = str(Path(__file__).resolve().parents[1])

import torch  # noqa: E402

from scratchlm.model import fused_mlp  # noqa: E402
from scratchlm.model.config import GPU_LOSS_CHUNK, TrainConfig  # noqa: E402
from scratchlm.model.train import PEAK_FLOPS, Trainer  # noqa: E402

DEFAULT_BACKWARD = fused_mlp.BACKWARD


def set_attention(backend: str) -> None:
    """Restrict F.scaled_dot_product_attention to one fused kernel family (or leave PyTorch's
    choice)."""
    if backend == "auto":
        return
    torch.backends.cuda.enable_flash_sdp(backend == "flash")
    torch.backends.cuda.enable_cudnn_sdp(backend == "cudnn")
    torch.backends.cuda.enable_mem_efficient_sdp(False)


# kernel kinds by a part of the kernel's name, first match wins (inductor names its kernels
# after the operations it fused)
KINDS = [
    ("attention", ("cudnn", "flash", "fmha", "attention", "sdpa")),
    ("loss (row kernel)", ("_rows_kernel",)),
    ("GEMM", ("nvjet", "gemm", "cutlass", "xmma", "sm90_", "cublas")),
    ("GELU", ("gelu",)),
    ("LayerNorm", ("layer_norm",)),
    ("optimizer", ("adam", "multi_tensor", "foreach")),
    ("embedding", ("embedding",)),
    ("copies, casts", ("copy", "cat", "_to_copy", "convert")),
    ("reductions", ("sum", "reduce", "norm")),
]


def kernel_kind(name: str) -> str:
    low = name.lower()
    found = (kind for kind, parts in KINDS if any(p in low for p in parts))
    return next(found, "other element-wise")


def profile_step(trainer: Trainer, step: int, rows: int = 22) -> None:
    """The GPU kernels of one optimizer step, by total time, and their time by kind."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        trainer.train_step(step)
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
    print(
        prof.key_averages().table(
            sort_by="cuda_time_total", row_limit=rows, max_name_column_width=70
        ),
        flush=True,
    )
    by_kind: dict[str, float] = {}
    for e in events:
        kind = kernel_kind(e.key)
        by_kind[kind] = by_kind.get(kind, 0.0) + e.self_device_time_total / 1e3
    total = sum(by_kind.values())
    print(f"kernel time by kind, one step: {total:.1f} ms")
    for kind, ms in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<20} {ms:>8.1f} ms {ms / total:>6.1%}")


def measure(
    preset: str,
    micro_batch: int,
    batch_tokens: int,
    steps: int,
    warmup: int,
    data: Path,
    compile_model: bool,
    attention: str,
    whole: bool,
    bf16_residual: bool = False,
    profile: int = 0,
    checkpointing: bool = False,
    loss_chunk: int = GPU_LOSS_CHUNK,
    fused_mlp: bool = True,
) -> dict:
    set_attention(attention)
    cfg = TrainConfig(
        preset=preset,
        model={"vocab_size": 50_304, "block_size": 1024, "dropout": 0.0},
        micro_batch=micro_batch,
        batch_tokens=batch_tokens,
        max_steps=warmup + steps,
        compile=compile_model,
        warmup_steps=10,
        bf16_residual=bf16_residual,
        activation_checkpointing=checkpointing,
        loss_chunk=loss_chunk,
        fused_mlp=fused_mlp,
    )
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, data, Path(out))
        print(
            f"{preset}:{micro_batch}:{attention}: kernels {json.dumps(trainer.kernels)}", flush=True
        )
        if whole:  # one graph for the whole model instead of one per block
            trainer.model.compiled = None
            trainer.wrapped = torch.compile(
                trainer.wrapped
            )  # the DDP wrapper stays: gradients still all-reduce
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        for step in range(warmup):
            trainer.train_step(step)
        torch.cuda.synchronize()
        warm_s = time.perf_counter() - t0
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for step in range(warmup, warmup + steps):
            loss, _ = trainer.train_step(step)
        end.record()
        torch.cuda.synchronize()
        seconds = start.elapsed_time(end) / 1000
        if profile:
            profile_step(trainer, warmup + steps, profile)
        tokens_per_s = steps * trainer.step_tokens / seconds
        world = trainer.dist.world
        return {
            "preset": preset,
            "gpus": world,
            "device": torch.cuda.get_device_name(),
            "micro_batch": micro_batch,
            "accumulation": trainer.accum,
            "batch_tokens": trainer.step_tokens,
            "attention": attention,
            "mlp": "fused" if trainer.model.blocks[0].ff.fused else "plain",
            "kernels": trainer.kernels,
            "residual": "bf16" if bf16_residual else "fp32",
            "checkpointing": checkpointing,
            "loss_chunk": loss_chunk,
            "compile": ("whole" if whole else "blocks") if compile_model else "off",
            "step_s": seconds / steps,
            "tokens_per_s": tokens_per_s,
            "tokens_per_s_per_gpu": tokens_per_s / world,
            "mfu": tokens_per_s * trainer.flops_per_token / (PEAK_FLOPS * world),
            "flops_per_token": trainer.flops_per_token,
            "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
            "warmup_s": warm_s,
            "last_loss": float(loss),
            "rank": trainer.dist.rank,
        }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, required=True, help="shard folder")
    p.add_argument(
        "--runs",
        nargs="+",
        default=["gpt2-124m:128:auto", "gpt2-355m:32:auto"],
        help="PRESET:MICRO_BATCH:ATTENTION (auto, flash or cudnn), one measurement each",
    )
    p.add_argument(
        "--batch-tokens", type=int, default=524_288, help="tokens per optimizer step (all GPUs)"
    )
    p.add_argument("--steps", type=int, default=6, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation)")
    p.add_argument("--compile-off", action="store_true", help="run eagerly")
    p.add_argument(
        "--whole-model", action="store_true", help="compile the whole model as one graph"
    )
    p.add_argument("--bf16-residual", action="store_true", help="keep the residual stream in bf16")
    p.add_argument(
        "--activation-checkpointing",
        action="store_true",
        help="recompute each block's activations in the backward pass (less memory, more compute)",
    )
    p.add_argument(
        "--loss-chunk",
        type=int,
        default=GPU_LOSS_CHUNK,
        metavar="N",
        help="the head's loss N positions at a time (model/chunked_loss.py; "
        "default: the trainer's on "
        "CUDA, %(default)s); 0: all at once",
    )
    p.add_argument(
        "--mlp",
        nargs="+",
        default=["plain", "fused"],
        help="the MLP paths to measure, each run once per path (default: both): plain, "
        "fused, or fused/BACKWARD[/noresidual]: model/fused_mlp.py's backward "
        "dgelu (the default) or pytorch, and with noresidual the residual added "
        "by a kernel of its own instead of inside the down projection",
    )
    p.add_argument("--profile", action="store_true", help="print the GPU kernels of one more step")
    p.add_argument("--profile-rows", type=int, default=22, help="kernels listed by --profile")
    p.add_argument("--json", type=Path, help="append each result as a JSON line here")
    args = p.parse_args()
    rows = []
    for run, mlp in ((run, mlp) for run in args.runs for mlp in args.mlp):
        preset, micro, attention = run.split(":")
        variant = mlp.split("/")
        fused_mlp.BACKWARD = variant[1] if len(variant) > 1 else DEFAULT_BACKWARD
        fused_mlp.RESIDUAL = "noresidual" not in variant
        try:
            row = measure(
                preset,
                int(micro),
                args.batch_tokens,
                args.steps,
                args.warmup,
                args.data,
                not args.compile_off,
                attention,
                args.whole_model,
                args.bf16_residual,
                args.profile_rows if args.profile else 0,
                args.activation_checkpointing,
                args.loss_chunk,
                variant[0] == "fused",
            )
        except (RuntimeError, torch.OutOfMemoryError) as err:
            print(f"{run} ({mlp} MLP): failed: {str(err).splitlines()[0]}", flush=True)
            continue
        row["mlp"] = mlp if row["mlp"] == "fused" else row["mlp"]
        rows.append(row)
        gc.collect()
        torch.cuda.empty_cache()
        if row["rank"] == 0:
            print(json.dumps(row), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(row) + "\n")
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"\n{'preset':<10} {'GPUs':>4} {'micro':>5} {'accum':>5} {'attn':>6} {'MLP':>22} "
            f"{'tokens/s':>10} {'per GPU':>10} {'MFU':>6} {'vs plain':>8} {'peak GiB':>8} "
            f"{'compile':>7} {'resid':>5}  device"
        )
        plain = {
            (r["preset"], r["micro_batch"], r["attention"]): r["tokens_per_s"]
            for r in rows
            if r["mlp"] == "plain"
        }
        for r in rows:
            base = plain.get((r["preset"], r["micro_batch"], r["attention"]))
            ratio = f"{r['tokens_per_s'] / base - 1:+.1%}" if base and r["mlp"] != "plain" else ""
            print(
                f"{r['preset']:<10} {r['gpus']:>4} {r['micro_batch']:>5} {r['accumulation']:>5} "
                f"{r['attention']:>6} {r['mlp']:>22} {r['tokens_per_s']:>10,.0f} "
                f"{r['tokens_per_s_per_gpu']:>10,.0f} {r['mfu']:>6.1%} {ratio:>8} "
                f"{r['peak_mem_gib']:>8.1f} {r['compile']:>7} {r['residual']:>5}  {r['device']}"
            )
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()

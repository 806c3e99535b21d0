"""Why MinHash runs as a compiled loop (numba): the permutation minimum, fused, against NumPy.

The signature step computes ``min over shingles of a[k] * h + b[k] (mod 2**32)`` for each
document and each of ``--perms`` permutations (curate/dedup/kernels.minhash_signatures does it
while it hashes the shingles). Here only that arithmetic is timed, on the same random shingle
hashes, two ways:
- the library's numba loop (``kernels.permutation_minima``, which ``minhash_signatures`` runs per
  document; no temporaries);
- NumPy per document: a (permutations x shingles) temporary, then its minimum over shingles;
- NumPy per permutation: one pass over the whole batch's shingles, ``np.minimum.reduceat`` by
  document.
All must give the same signatures. Best of ``--repeat`` runs each, one thread.

    .venv/bin/python -m benchmarks.minhash_loop [--shingles 16000000] [--per-doc 1000] [--perms 112]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from scratchlm.curate.dedup.kernels import permutation_minima
from scratchlm.curate.dedup.signatures import permutations


@numba.njit(cache=True)
def fused(
    hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    """The library's loop (kernels.permutation_minima, as minhash_signatures runs it) per
    document."""
    for d in range(offsets.shape[0] - 1):
        permutation_minima(hashes, offsets[d], offsets[d + 1], a, b, out[d])


def with_numpy(
    hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    for d in range(len(offsets) - 1):
        doc = hashes[offsets[d] : offsets[d + 1]]
        out[d] = (a[:, None] * doc[None, :] + b[:, None]).min(axis=1)


def per_permutation(
    hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    for k in range(len(a)):
        out[:, k] = np.minimum.reduceat(a[k] * hashes + b[k], offsets[:-1])


def best_of(repeat: int, fn, *args) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--shingles", type=int, default=16_000_000)
    p.add_argument("--per-doc", type=int, default=1000, help="shingles per document")
    p.add_argument("--perms", type=int, default=112)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    numba.set_num_threads(1)
    gen = np.random.default_rng(0)
    hashes = gen.integers(0, 1 << 32, args.shingles, dtype=np.uint32)
    offsets = np.arange(0, args.shingles + 1, args.per_doc, dtype=np.int64)
    a, b = permutations(args.perms, 1)
    docs = len(offsets) - 1
    out_fused = np.empty((docs, args.perms), np.uint32)
    out_numpy = np.empty((docs, args.perms), np.uint32)
    out_batch = np.empty((docs, args.perms), np.uint32)
    fused(hashes[: args.per_doc], offsets[:2], a, b, out_fused[:1])  # compile outside the timing
    t_fused = best_of(args.repeat, fused, hashes, offsets, a, b, out_fused)
    t_numpy = best_of(args.repeat, with_numpy, hashes, offsets, a, b, out_numpy)
    t_batch = best_of(args.repeat, per_permutation, hashes, offsets, a, b, out_batch)
    if not (np.array_equal(out_fused, out_numpy) and np.array_equal(out_fused, out_batch)):
        raise SystemExit("the two ways disagree")
    print(
        f"{args.shingles:,} shingles in {docs:,} documents "
        f"x {args.perms} permutations, best of {args.repeat}"
    )
    print(f"{'way':<40} {'seconds':>8} {'shingle-perms/s':>16}")
    for name, seconds in (
        ("numba, one fused loop", t_fused),
        ("NumPy, a temporary per document", t_numpy),
        ("NumPy, a pass per permutation", t_batch),
    ):
        print(
            f"{name:<40} {seconds:>8.2f} {args.shingles * args.perms / seconds:>16,.0f} "
            f"{seconds / t_fused:>5.1f}x the loop's time"
        )


if __name__ == "__main__":
    main()

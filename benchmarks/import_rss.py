"""The fixed memory of the dedup stage's process: resident memory after each import, before any
data.

Prints the RSS (``/proc/self/status`` VmRSS) of a fresh interpreter, then after importing NumPy,
pyarrow and numba, then after compiling or loading the MinHash kernels of curate/dedup/kernels.py
on a one-document batch (numba's cache: the first run compiles, later runs load).

    .venv/bin/python -m benchmarks.import_rss
"""

from __future__ import annotations

from pathlib import Path


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    rows = [("python", rss_mib())]
    import numpy  # noqa: F401

    rows.append(("+ numpy", rss_mib()))
    import pyarrow as pa

    rows.append(("+ pyarrow", rss_mib()))
    import numba  # noqa: F401

    rows.append(("+ numba", rss_mib()))
    from scratchlm.curate.dedup.normalize import Normalization
    from scratchlm.curate.dedup.signatures import permutations, signature_batch

    signature_batch(
        pa.array(["one small document of a few words for the kernels"]),
        Normalization(),
        5,
        permutations(112, 1),
    )
    rows.append(("+ the MinHash kernels, run once", rss_mib()))
    print(f"{'after':<34} {'RSS MiB':>8} {'added':>7}")
    previous = 0.0
    for name, mib in rows:
        print(f"{name:<34} {mib:>8.1f} {mib - previous:>7.1f}")
        previous = mib


if __name__ == "__main__":
    main()

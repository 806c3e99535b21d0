"""Memory of one merge range of the dedup's external sort, per item (``BYTES_PER_MERGE_ITEM``).

Writes ``--spills`` sorted spills (``curate.dedup.spills.write_spills``) of random 64-bit band keys,
``--items`` in all, then, in a fresh process, merges them with ``iter_groups`` as one range (every
item at once, as a range of ``chunk_items`` = ``--items`` would hold) and turns the groups into
star edges as the pair pass does. It prints the peak resident growth (``VmHWM``) over the
process's RSS before the merge, per item, against the constant in curate/dedup/pipeline.py that
sizes the ranges from ``memory_mb``.

    .venv/bin/python -m benchmarks.merge_memory [--items 1000000] [--spills 10]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._cli import int_parser
from scratchlm.curate.dedup.pipeline import BYTES_PER_MERGE_ITEM
from scratchlm.curate.dedup.spills import write_spills

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from scratchlm.curate.dedup.spills import iter_groups, load_spill, star_edges
folders, items = [Path(p) for p in sys.argv[3:]], int(sys.argv[2])
def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) * 1024
spills, base = [], 0
for folder in folders:
    spills.append(load_spill(folder, 0, base))
    base += len(spills[-1].keys)
before = status("VmRSS")
edges = 0
for keys, gids in iter_groups(spills, items):
    left, right = star_edges(keys, gids)
    edges += len(left)
print(json.dumps({"before": before, "peak": status("VmHWM"), "edges": edges}))
"""


def main() -> None:
    args = int_parser(__doc__, items=1_000_000, spills=10).parse_args()
    gen = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        per_spill = args.items // args.spills
        for index in range(args.spills):
            folder = Path(tmp) / f"shard-{index}"
            folder.mkdir()
            keys = gen.integers(0, 1 << 63, (1, per_spill), dtype=np.uint64)
            keys[0, : per_spill // 10] = keys[
                0, per_spill // 10 : 2 * (per_spill // 10)
            ]  # a tenth shares keys
            write_spills(folder, keys, np.arange(per_spill))
            folders.append(str(folder))
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(REPO), str(args.spills * per_spill), *folders],
            check=True,
            capture_output=True,
            text=True,
        )
    figures = json.loads(done.stdout)
    items = args.spills * per_spill
    per_item = (figures["peak"] - figures["before"]) / items
    print(
        f"{items:,} items in {args.spills} spills, "
        f"merged as one range ({figures['edges']:,} star edges)"
    )
    print(
        "peak growth over the RSS before the merge: "
        f"{(figures['peak'] - figures['before']) / 2**20:.0f} MiB, "
        f"{per_item:.0f} bytes an item (BYTES_PER_MERGE_ITEM = {BYTES_PER_MERGE_ITEM})"
    )


if __name__ == "__main__":
    main()

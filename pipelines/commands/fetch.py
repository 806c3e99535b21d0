"""``scratchlm fetch``: download a URL or a list of them into a local mirror that ``curate``
reads."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.mirror import download, is_complete, list_entries, read_sums
from scratchlm.curate.remote import RemoteOptions
from scratchlm.pipelines.commands._options import add_field_options, add_path
from scratchlm.pipelines.config import field_values


def fetch(args: argparse.Namespace) -> int:
    try:
        options = RemoteOptions(**field_values(RemoteOptions, args))
    except ValueError as err:
        raise ConfigError(f"fetch: {err}") from None
    entries = list_entries(args.target, args.base_url, options)
    if args.limit:
        entries = entries[: args.limit]
    args.output.mkdir(parents=True, exist_ok=True)
    sums = read_sums(args.output)
    fetched = skipped = failed = 0
    for number, entry in enumerate(entries, 1):
        if is_complete(entry, args.output, sums, args.verify):
            skipped += 1
            continue
        label = f"[{number}/{len(entries)}] {entry.path}"
        with tqdm(
            desc=label, unit="B", unit_scale=True, disable=not sys.stderr.isatty(), leave=False
        ) as bar:

            def advance(count: int, total: int | None) -> None:
                if total is not None and bar.total != total:
                    bar.total = total
                bar.update(count)

            try:
                digest = download(entry, args.output, options, advance)
            except OSError as err:
                failed += 1
                print(f"failed {entry.path}: {err}", file=sys.stderr)
                continue
        fetched += 1
        print(f"fetched {entry.path} sha256:{digest}")
    print(f"{fetched} fetched, {skipped} already complete, {failed} failed; mirror: {args.output}")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fetch",
        help="download files (a URL or a list of them) into a local mirror",
        description="Download into a local mirror with SHA-256 "
        "checksums (DIR/.sha256sums), resuming partial "
        "downloads and skipping complete files. TARGET is a URL, "
        "or a list of URLs or paths: @FILE, "
        "a local file, or a URL ending in .paths/.txt (.gz too), e.g. Common Crawl's wet.paths.gz "
        "with --base-url https://data.commoncrawl.org/",
    )
    p.add_argument(
        "target", metavar="URL_OR_LIST", help="a URL, or a list of URLs or relative paths"
    )
    add_path(p, "--output", "mirror folder", metavar="DIR", required=True)
    p.add_argument("--base-url", help="prefix for relative paths in the list")
    p.add_argument("--limit", type=int, default=0, help="fetch only the first N entries (0: all)")
    p.add_argument(
        "--verify", action="store_true", help="re-hash complete files; fetch again on mismatch"
    )
    helps = {
        "timeout_s": "seconds per connect and per read",
        "retries": "retries on 5xx, 429 and connection errors",
        "backoff_s": "first retry delay in seconds, doubled each time",
        "max_bytes": "size cap per file",
    }
    flags = {"timeout_s": "--timeout", "backoff_s": "--backoff"}
    add_field_options(p, RemoteOptions(), helps, flags)
    p.set_defaults(func=fetch)

"""The ``read`` step: turns input files (local or remote) into documents (the fetch stage)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from scratchlm.curate.extract import Extractor, WebOptions
from scratchlm.curate.readers import FileError, ReaderOptions, ReadItem, read_file
from scratchlm.curate.readers.base import BLANK_LINE, ORIGINAL_ID, REPEATED_ID
from scratchlm.curate.readers.spans import Span
from scratchlm.curate.remote import RemoteOptions
from scratchlm.curate.stage import Source


@dataclass(frozen=True)
class Read(Source):
    """Read JSONL, Parquet, text, WARC/WET, HTML pages or saved Hugging Face datasets.

    ``format: auto`` goes by file name (gzip/zstd looked through); inputs may be URLs.
    """

    format: str = "auto"
    id_field: str = "id"  # the record field holding the document id
    text_field: str = "text"  # the record field holding the text
    # web pages and archives (defaults: WebOptions's)
    extract: bool = WebOptions.extract  # HTML: main text only; false keeps the decoded HTML
    extractor: Extractor = WebOptions.extractor  # the HTML main-text extractor
    min_text_chars: int = (
        WebOptions.min_text_chars
    )  # a page whose text is shorter is a read:empty_extraction reject
    max_html_depth: int = WebOptions.max_html_depth  # a page nested deeper is rejected
    max_record_bytes: int = WebOptions.max_record_bytes  # a larger archive record is skipped
    # remote inputs (defaults: RemoteOptions's)
    timeout_s: float = RemoteOptions.timeout_s  # per connect and per read
    retries: int = RemoteOptions.retries  # on 5xx, 429 and connection errors, with backoff
    backoff_s: float = RemoteOptions.backoff_s  # first retry's wait, doubled for each next one
    max_bytes: int = RemoteOptions.max_bytes  # size cap per file

    def __post_init__(self) -> None:
        self.options()  # refuse bad values when the recipe is loaded, not in a worker

    def options(self) -> ReaderOptions:
        web = WebOptions(
            self.extract,
            self.extractor,
            self.min_text_chars,
            self.max_html_depth,
            self.max_record_bytes,
        )
        remote = RemoteOptions(self.timeout_s, self.retries, self.backoff_s, self.max_bytes)
        return ReaderOptions(
            format=self.format,
            id_field=self.id_field,
            text_field=self.text_field,
            web=web,
            remote=remote,
        )

    def read(self, path: str, source: str, span: Span | None = None) -> Iterator[ReadItem]:
        """The file's items, or those of its part ``span`` (``Span``: one of its read tasks)."""
        try:
            items = read_file(path, source, self.options(), span)
        except ValueError as err:  # no format for the name (a URL without a known suffix)
            yield FileError(source, "name", str(err))
            return
        try:
            yield from items
        except OSError as err:  # a remote input that failed to open or dropped for good
            yield FileError(source, "open or read", str(err))


def counted_lines(counted: Counter) -> list[str]:
    """What the read step's counts mean, one line each, for the lines after the stats table."""
    lines = []
    repeated, blank = counted[REPEATED_ID.name], counted[BLANK_LINE.name]
    if repeated:
        lines.append(
            f"repeated ids: {repeated:,} record(s) had the id of an earlier record of the "
            f"same input file; each was renamed ID~N (meta.{ORIGINAL_ID} keeps the id)"
        )
    if blank:
        lines.append(f"blank lines: {blank:,} blank input line(s) skipped")
    return lines


STAGE = Read

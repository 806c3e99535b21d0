"""Opening inputs that are not local files: http(s) streamed with retries, other schemes via fsspec.

HTTP is done with the standard library so that every failure mode is under control: a timeout
on connect and on each read, retries with exponential backoff on 5xx answers and connection
errors (mid-stream too, resuming with a ``Range`` request where the server allows it), and a
size cap checked against ``Content-Length`` and against the bytes actually received.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import BinaryIO

from scratchlm.curate.errors import InputError

URL_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
HTTP_SCHEMES = ("http://", "https://")
READ_BUFFER = 1 << 20
USER_AGENT = "scratchlm-fetch/0.1"


class RemoteError(OSError):
    """A remote input that cannot be read (status, timeout after retries, size cap): one line."""


class ResumeRefused(RemoteError):
    """A partial download that cannot go on where it stopped (416, a wrong range, a scheme without
    ranges): the only errors after which starting over is right."""


@dataclass(frozen=True)
class RemoteOptions:
    """How remote inputs are read: per-operation timeout, retries with backoff, a size cap."""

    timeout_s: float = 30.0
    retries: int = 4
    backoff_s: float = 1.0
    max_bytes: int = 8 << 30

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.retries < 0 or self.backoff_s < 0 or self.max_bytes <= 0:
            raise ValueError("timeout_s and max_bytes must be > 0, retries and backoff_s >= 0")


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL (``scheme://``) rather than a local file."""
    return bool(URL_PATTERN.match(path))


def suffix_name(path: str) -> str:
    """``path`` lower-cased for suffix checks (``.gz``, ``.warc``...), a URL's query dropped."""
    lower = path.lower()
    return lower.split("?", 1)[0] if is_remote(path) else lower


# what a dropped or stalled connection raises while a response is being opened or read
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.IncompleteRead,
    http.client.RemoteDisconnected,
    urllib.error.URLError,
)


class HttpStream(io.RawIOBase):
    """A read-only byte stream of one URL that reconnects after a dropped read.

    The reconnection asks for the rest with ``Range``; a server that ignores it sends the whole
    body again and the bytes already read are skipped.
    """

    def __init__(self, url: str, options: RemoteOptions = RemoteOptions(), start: int = 0) -> None:
        super().__init__()
        self.url = url
        self.options = options
        self.position = start
        self.size: int | None = None  # total length when the server says it
        self._response: http.client.HTTPResponse | None = None
        self._connect()

    def readable(self) -> bool:
        return True

    def _request(self) -> urllib.request.Request:
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if self.position:
            headers["Range"] = f"bytes={self.position}-"
        return urllib.request.Request(self.url, headers=headers)

    def _open_once(self) -> http.client.HTTPResponse:
        try:
            response = urllib.request.urlopen(self._request(), timeout=self.options.timeout_s)
        except urllib.error.HTTPError as err:
            err.close()
            if err.code >= 500 or err.code == 429:
                raise ConnectionError(f"HTTP {err.code} {err.reason}") from None
            refused = ResumeRefused if err.code == 416 and self.position else RemoteError
            raise refused(f"{self.url}: HTTP {err.code} {err.reason}") from None
        length = response.headers.get("Content-Length")
        if response.status == 206:
            match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != self.position:
                response.close()
                raise ResumeRefused(
                    f"{self.url}: server answered a range request with the wrong range"
                )
            if match.group(2) != "*":
                self.size = int(match.group(2))
        elif self.position:  # the server ignored the range: skip what was already read
            self._discard(response, self.position)
            self.size = int(length) if length is not None else None
        else:
            self.size = int(length) if length is not None else None
        if self.size is not None and self.size > self.options.max_bytes:
            response.close()
            raise RemoteError(
                f"{self.url}: {self.size:,} bytes is over "
                f"the size cap of {self.options.max_bytes:,}"
            )
        return response

    @staticmethod
    def _discard(response: http.client.HTTPResponse, count: int) -> None:
        while count:
            chunk = response.read(min(count, READ_BUFFER))
            if not chunk:
                raise ConnectionError("connection closed while skipping to the resume offset")
            count -= len(chunk)

    def _connect(self) -> None:
        """Open a response at ``self.position``, retrying transient failures with backoff."""
        for attempt in range(self.options.retries + 1):
            try:
                self._response = self._open_once()
                return
            except TRANSIENT_ERRORS as err:
                if attempt == self.options.retries:
                    raise RemoteError(
                        f"{self.url}: {describe(err)} (after {attempt + 1} attempts)"
                    ) from None
                time.sleep(self.options.backoff_s * 2**attempt)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        failures = 0
        while True:
            if self._response is None:
                return 0
            try:
                count = self._response.readinto(buffer)
            except TRANSIENT_ERRORS as err:
                count, error = -1, err
            else:
                if count or self.size is None or self.position >= self.size:
                    break
                error = ConnectionError(
                    f"connection closed at byte {self.position:,} of {self.size:,}"
                )
            self._response.close()
            failures += 1
            if failures > self.options.retries:
                raise RemoteError(f"{self.url}: {describe(error)} at byte {self.position:,}")
            time.sleep(self.options.backoff_s * 2 ** (failures - 1))
            self._connect()
        self.position += count
        if self.position > self.options.max_bytes:
            raise RemoteError(
                f"{self.url}: more than the size cap of {self.options.max_bytes:,} bytes"
            )
        return count

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        super().close()


def describe(err: BaseException) -> str:
    """A short, one-line cause for a network error."""
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    if isinstance(err, (TimeoutError, socket.timeout)):
        return "timed out"
    return str(err) or type(err).__name__


def open_seekable(path: str) -> BinaryIO | str:
    """A local path as is, a URL as a seekable fsspec file (ranged reads: Parquet footers and row
    groups).

    Unlike ``open_source``, reads go through fsspec's own client (aiohttp for http), so the
    retry and size-cap options do not apply.
    """
    return _fsspec_open(path) if is_remote(path) else path


def _fsspec_open(url: str) -> BinaryIO:
    try:
        import fsspec

        return fsspec.open(url, "rb").open()
    except (ImportError, ValueError) as err:
        raise InputError(
            f"cannot open {url}: {err} (install the fsspec driver for its scheme)"
        ) from None


def open_source(path: str, options: RemoteOptions = RemoteOptions()) -> BinaryIO:
    """A binary stream of a local file, an http(s) URL or an fsspec URL (s3://, gs://...)."""
    if path.startswith(HTTP_SCHEMES):
        return io.BufferedReader(HttpStream(path, options), buffer_size=READ_BUFFER)  # type: ignore[return-value]
    if is_remote(path):
        return _fsspec_open(path)
    return open(path, "rb")

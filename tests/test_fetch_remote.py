"""Remote inputs against a real HTTP server on 127.0.0.1: retries, timeouts, size cap, resume,
fetch."""

from __future__ import annotations

import gzip
import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import DATA, run_cli
from fetch_http import FetchServer
from scratchlm.curate.document import Document
from scratchlm.curate.extract import WebOptions
from scratchlm.curate.inputs import expand_inputs
from scratchlm.curate.readers import FileError, ReaderOptions, Rejected
from scratchlm.curate.readers.base import read_file
from scratchlm.curate.remote import HttpStream, RemoteError, RemoteOptions
from scratchlm.curate.stages.read import Read
from scratchlm.pipelines.cli import main

FAST = RemoteOptions(timeout_s=1.0, retries=3, backoff_s=0.01)
BODY = bytes(range(256)) * 400  # 100 KiB


@pytest.fixture
def server():
    with FetchServer() as running:
        running.files["blob.bin"] = BODY
        running.files["web-sample.warc.gz"] = (DATA / "web-sample.warc.gz").read_bytes()
        running.files["docs.jsonl"] = (
            b'{"id": "a", "text": "first"}\n{"id": "b", "text": "second"}\n'
        )
        yield running


def read_all(stream) -> bytes:
    with stream:
        return b"".join(iter(lambda: stream.read(7919), b""))


def test_plain_download_reads_every_byte(server):
    assert read_all(HttpStream(f"{server.url}/files/blob.bin", FAST)) == BODY


def test_server_failing_twice_then_succeeding_is_retried(server):
    assert read_all(HttpStream(f"{server.url}/flaky/blob.bin", FAST)) == BODY
    assert server.hits["/flaky/blob.bin"] == 3


def test_failures_beyond_the_retries_are_one_clear_error(server):
    with pytest.raises(RemoteError, match=r"HTTP 503.*after 2 attempts"):
        HttpStream(
            f"{server.url}/flaky/blob.bin", RemoteOptions(timeout_s=1.0, retries=1, backoff_s=0.01)
        )


def test_404_is_not_retried(server):
    with pytest.raises(RemoteError, match="HTTP 404"):
        HttpStream(f"{server.url}/files/missing.bin", FAST)
    assert server.hits["/files/missing.bin"] == 1


def test_dropped_connection_resumes_with_a_range_request(server):
    assert read_all(HttpStream(f"{server.url}/drop/blob.bin", FAST)) == BODY
    ranges = [r for path, r in server.requests if path == "/drop/blob.bin"]
    assert ranges[0] is None and ranges[1] == f"bytes={len(BODY) // 2}-"


def test_stall_past_the_timeout_fails_without_hanging(server):
    server.stall_s = 3.0
    stream = HttpStream(
        f"{server.url}/stall/blob.bin", RemoteOptions(timeout_s=0.3, retries=1, backoff_s=0.01)
    )
    with pytest.raises(RemoteError, match="timed out"):
        read_all(stream)


def test_more_bytes_than_the_cap_is_refused(server):
    cap = RemoteOptions(timeout_s=1.0, retries=0, max_bytes=len(BODY) * 2)
    with pytest.raises(RemoteError, match="size cap"):  # no Content-Length: caught while streaming
        read_all(HttpStream(f"{server.url}/overflow/blob.bin", cap))
    with pytest.raises(
        RemoteError, match="over the size cap"
    ):  # Content-Length says so: refused up front
        HttpStream(f"{server.url}/files/blob.bin", RemoteOptions(max_bytes=1000))


def test_urls_and_url_lists_are_inputs_read_by_the_read_stage(server, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# inputs\n{server.url}/files/docs.jsonl\n\n{server.url}/files/web-sample.warc.gz\n"
    )
    inputs = expand_inputs([f"@{listing}"])
    assert [i.source for i in inputs] == [
        f"127.0.0.1:{server.server_address[1]}/files/docs.jsonl",
        f"127.0.0.1:{server.server_address[1]}/files/web-sample.warc.gz",
    ]
    stage = Read(timeout_s=2.0, retries=1, backoff_s=0.01, extract=False)
    docs = list(stage.read(inputs[0].path, inputs[0].source))
    assert [d.text for d in docs] == ["first", "second"]
    items = list(stage.read(inputs[1].path, inputs[1].source))
    assert (
        sum(isinstance(i, Document) for i in items) + sum(isinstance(i, Rejected) for i in items)
        == 579
    )


def test_a_failing_remote_input_is_a_file_error_not_a_crash(server):
    items = list(
        Read(timeout_s=1.0, retries=0).read(f"{server.url}/files/gone.warc.gz", "gone.warc.gz")
    )
    assert len(items) == 1 and isinstance(items[0], FileError) and "HTTP 404" in items[0].error


def test_a_url_of_unknown_format_is_a_file_error(server):
    (item,) = Read().read(f"{server.url}/files/blob.bin", "blob.bin")
    assert isinstance(item, FileError) and "cannot tell the format" in item.error


def test_reader_survives_a_dropped_connection_mid_warc(server):
    options = ReaderOptions(remote=FAST, web=WebOptions(extract=False))
    items = list(read_file(f"{server.url}/drop/web-sample.warc.gz", "sample", options))
    assert not any(isinstance(i, FileError) for i in items) and len(items) == 579


def test_fetch_mirrors_a_paths_list_resumes_and_skips(server, tmp_path, capsys):
    listing = tmp_path / "wet.paths.gz"
    listing.write_bytes(gzip.compress(b"files/blob.bin\nfiles/docs.jsonl\nfiles/nothere.bin\n"))
    mirror = tmp_path / "mirror"
    partial = mirror / "files" / ".blob.bin.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(BODY[:30000])  # as a killed run leaves it
    done = run_cli(
        "fetch", str(listing), "--base-url", server.url, "--output", str(mirror), "--retries", "1"
    )
    assert (
        done.returncode == 1
        and "failed files/nothere.bin" in done.stderr
        and "HTTP 404" in done.stderr
    )
    assert "2 fetched, 0 already complete, 1 failed" in done.stdout
    assert (mirror / "files" / "blob.bin").read_bytes() == BODY and not partial.exists()
    assert ("/files/blob.bin", "bytes=30000-") in server.requests
    sums = dict(
        reversed(line.split("  ")) for line in (mirror / ".sha256sums").read_text().splitlines()
    )
    assert sums["files/blob.bin"] == hashlib.sha256(BODY).hexdigest()
    requests = len(server.requests)
    assert (
        main(
            [
                "fetch",
                str(listing),
                "--base-url",
                server.url,
                "--output",
                str(mirror),
                "--limit",
                "2",
            ]
        )
        == 0
    )
    assert "0 fetched, 2 already complete" in capsys.readouterr().out
    assert len(server.requests) == requests
    # the mirror is a curate input: hidden partial/checksum files are not
    assert [i.source for i in expand_inputs([str(mirror)])] == [
        "files/blob.bin",
        "files/docs.jsonl",
    ]


def test_a_partial_download_is_kept_unless_the_server_refuses_to_resume(server, tmp_path):
    """A failing server keeps the .part for the next run; a 416 (a partial file longer than the
    remote one) starts the download over."""
    from scratchlm.curate.mirror import Entry, download

    server.files["gone.bin"] = BODY
    folder = tmp_path / "mirror"
    part = folder / "files" / ".gone.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(BODY[:30000])
    with pytest.raises(
        RemoteError, match="HTTP 404"
    ):  # not the server's file any more: kept for later
        download(
            Entry(f"{server.url}/files/missing.bin", "files/gone.bin"),
            folder,
            FAST,
            lambda *_: None,
        )
    assert part.read_bytes() == BODY[:30000]
    part.write_bytes(BODY + b"stale tail")  # longer than the remote file: 416, start over
    digest = download(
        Entry(f"{server.url}/files/gone.bin", "files/gone.bin"), folder, FAST, lambda *_: None
    )
    assert (
        digest == hashlib.sha256(BODY).hexdigest()
        and (folder / "files" / "gone.bin").read_bytes() == BODY
    )
    assert not part.exists()


def test_resume_against_a_server_that_ignores_ranges(server):
    stream = HttpStream(f"{server.url}/norange/blob.bin", FAST, start=1000)
    assert read_all(stream) == BODY[1000:]


def test_parquet_url_is_read_with_ranged_requests(server, tmp_path):
    table = pa.table({"id": ["p1", "p2"], "text": ["parquet one", "parquet two"]})
    pq.write_table(table, tmp_path / "docs.parquet")
    server.files["docs.parquet"] = (tmp_path / "docs.parquet").read_bytes()
    items = list(Read().read(f"{server.url}/files/docs.parquet", "docs.parquet"))
    assert [(d.id, d.text) for d in items] == [("p1", "parquet one"), ("p2", "parquet two")]
    assert any(r is not None for path, r in server.requests if path == "/files/docs.parquet")


def test_curate_reads_a_url_input_end_to_end(server, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: remote\nsteps:\n  - read: {timeout_s: 5.0, retries: 1}\n")
    assert (
        main(
            [
                "curate",
                str(recipe),
                "--input",
                f"{server.url}/files/docs.jsonl",
                "--output",
                str(tmp_path / "run"),
            ]
        )
        == 0
    )
    stats = json.loads((tmp_path / "run" / "01_read" / "stats.json").read_text())
    assert stats["docs_out"] == 2 and stats["errors"] == []

"""A real HTTP server on 127.0.0.1 for the fetch tests, with misbehaving routes.

Routes (``NAME`` is a key of ``server.files``):
  /files/NAME      the bytes, honouring ``Range: bytes=N-`` (206)
  /flaky/NAME      503 for the first two requests of each path, then as /files/
  /drop/NAME       the first request closes the connection halfway through the body; later as
                   /files/
  /stall/NAME      sends half the body, then stalls for ``stall_s`` seconds
  /overflow/NAME   sends the body with no Content-Length, ``repeat`` times over
  /norange/NAME    the bytes, ignoring Range (always 200, whole body)
  anything else    404
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FetchServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.hits: Counter = Counter()
        self.stall_s = 5.0
        self.repeat = 4
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "FetchServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: FetchServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _head(self, status: int, length: int | None, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, body: bytes, ranges: bool = True) -> None:
        header = self.headers.get("Range")
        if ranges and header and header.startswith("bytes="):
            first, _, last = header[6:].partition("-")
            start, end = int(first), min(int(last) + 1 if last else len(body), len(body))
            if start >= len(body):
                self._head(416, 0, {"Content-Range": f"bytes */{len(body)}"})
                return
            self._head(206, end - start, {"Content-Range": f"bytes {start}-{end - 1}/{len(body)}"})
            self.wfile.write(body[start:end])
            return
        self._head(200, len(body), {"Accept-Ranges": "bytes"} if ranges else None)
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        server.hits[self.path] += 1
        route, _, name = self.path.lstrip("/").partition("/")
        body = server.files.get(name)
        if body is None:
            self._head(404, 0)
            return
        if route == "files":
            self._send(body)
        elif route == "norange":
            self._send(body, ranges=False)
        elif route == "flaky":
            if server.hits[self.path] <= 2:
                self._head(503, 0)
            else:
                self._send(body)
        elif route == "drop":
            if server.hits[self.path] == 1:
                self._head(200, len(body), {"Accept-Ranges": "bytes"})
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.close()
            else:
                self._send(body)
        elif route == "stall":
            self._head(200, len(body))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(server.stall_s)
        elif route == "overflow":
            self._head(200, None)
            for _ in range(server.repeat):
                self.wfile.write(body)
            self.connection.close()
        else:
            self._head(404, 0)

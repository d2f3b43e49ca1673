"""Shared by the web/feed tests: real HTTP servers on 127.0.0.1 and the fixture folder."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from broadsheet.fetch import FetchPolicy, fetch

FIXTURES = Path(__file__).parent / "fixtures" / "web"
FEEDS = FIXTURES / "feeds"
PAGES = FIXTURES / "pages"
REPO = Path(__file__).resolve().parents[1]


@contextmanager
def local_server() -> Iterator[HTTPServer]:
    """A real HTTP server bound to 127.0.0.1 only (never a wildcard address)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def loopback_fetcher(**policy: object):  # noqa: ANN201 - a Fetcher
    """The real fetch, allowed to reach this machine (what `--allow-loopback` does)."""
    return partial(fetch, policy=FetchPolicy(allow_loopback=True, **policy))  # type: ignore[arg-type]


def serve_conditional(server: HTTPServer, path: str, body: bytes, content_type: str) -> list[dict[str, str]]:
    """Serve `body` at `path` with an ETag and Last-Modified, answering 304 to a matching conditional
    GET. Returns the list that collects each request's headers, for assertions."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    modified = "Mon, 15 Apr 2024 09:00:00 GMT"
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        if request.headers.get("If-None-Match") == etag or request.headers.get("If-Modified-Since") == modified:
            return Response(status=304, headers={"ETag": etag, "Last-Modified": modified})
        return Response(body, status=200, content_type=content_type, headers={"ETag": etag, "Last-Modified": modified})

    server.expect_request(path).respond_with_handler(handler)
    return seen


def snapshot(*folders: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under the folders with its bytes and mtime, to prove a run changed nothing."""
    found: dict[str, tuple[bytes, int]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found

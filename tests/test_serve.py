"""`broadsheet serve` as a real subprocess on 127.0.0.1, spoken to over raw sockets so that no client
normalises the paths first: traversal attempts, content types, redirects, the Host/Origin checks on
the reload channel, the injected script, rebuild errors on the channel, warnings and shutdown."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from buildkit import spare_in_step, wrapped_python
from sitetools import ServeProcess, sample_project

from broadsheet.manifest import read_manifest
from broadsheet.spare import spare_dir

SECRET = "TOP-SECRET-do-not-serve"
BASE = "/news/"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def request(port: int, target: str | bytes, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    """One HTTP/1.1 request with the target sent byte for byte as given."""
    head = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    raw_target = target if isinstance(target, bytes) else target.encode("utf-8")
    lines = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in head.items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(method.encode() + b" " + raw_target + b" HTTP/1.1\r\n" + lines + b"\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    parsed = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return Reply(int(status_line.split()[1]), parsed, body)


def open_events(port: int, headers: dict[str, str] | None = None) -> tuple[int, socket.socket, bytes]:
    """Connect to the reload channel; (status, the open socket, what arrived with the headers)."""
    head = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /__broadsheet/events HTTP/1.1\r\n{lines}\r\n".encode("latin-1"))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, sock, data.partition(b"\r\n\r\n")[2]


def next_event(sock: socket.socket, pending: bytes) -> tuple[dict, bytes]:
    """The next `build` event's data from an open event stream, and what is left over."""
    while True:
        while b"\n\n" in pending:
            block, pending = pending.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line)
            if fields.get("event") == "build":
                return json.loads(fields["data"]), pending
        chunk = sock.recv(4096)
        assert chunk, "event stream closed"
        pending += chunk


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("serve")
    (root / "secret.txt").write_text(SECRET, "utf-8")
    project = sample_project(root / "project")
    (project / "content" / "extra").mkdir()
    (project / "content" / "extra" / "app.js").write_text("console.log('hi');\n", "utf-8")
    (project / "content" / "extra" / "site.webmanifest").write_text('{"name": "News"}\n', "utf-8")
    output = root / "out"
    with ServeProcess(project, "--base-url", "https://example.org/news/", "--output", str(output)) as server:
        # Things no build makes, planted in the served folder: they must not be served either.
        (output / "leak.txt").symlink_to(root / "secret.txt")
        (output / "leakdir").symlink_to(root)
        os.mkfifo(output / "pipe.html")
        yield server, output, root


def traversal_targets(root: Path) -> list[bytes]:
    secret = str(root / "secret.txt")
    targets = [
        "/news/../../../../etc/passwd",
        "/news/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/news/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "/news/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/news/..%2F..%2F..%2Fetc%2Fpasswd",
        "/news/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/news/.%2e/.%2e/.%2e/etc/passwd",
        "/news/%2e./%2e./%2e./etc/passwd",
        "/news/..%5c..%5c..%5cetc%5cpasswd",
        "/news/..\\..\\..\\etc\\passwd",
        "/news/%5c..%5c..%5cetc/passwd",
        "/news/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
        "/news/%252e%252e/%252e%252e/etc/passwd",
        "/news/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "/news/..%252f..%252f..%252fetc%252fpasswd",
        "/news/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "/news/%c0%af..%c0%afetc/passwd",
        "/news/%e0%80%ae%e0%80%ae/etc/passwd",
        "/news/..%c0%af..%c0%afetc%c0%afpasswd",
        "/news/%uff0e%uff0e/%uff0e%uff0e/etc/passwd",
        "/news/\uff0e\uff0e/\uff0e\uff0e/etc/passwd",
        "/news/....//....//etc/passwd",
        "/news/..././..././etc/passwd",
        "/news/..;/..;/etc/passwd",
        "/etc/passwd",
        "//etc/passwd",
        "///etc/passwd",
        "/news//etc/passwd",
        "/news/%2fetc%2fpasswd",
        "/news/%2Fetc/passwd",
        "/news/static/../../../etc/passwd",
        "/news/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/news/2024/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/news/" + "../" * 30 + "etc/passwd",
        "/news/" + "%2e%2e/" * 30 + "etc/passwd",
        "/news/../secret.txt",
        "/news/%2e%2e/secret.txt",
        "/news/.%2e/secret.txt",
        "/news/..%2fsecret.txt",
        "/news/media/..%2f..%2fsecret.txt",
        "/news/" + secret,
        "/news/%2f" + secret.lstrip("/"),
        secret,
        "/news/file://" + secret,
        "/news/C:\\Windows\\win.ini",
        "/news/C:%5cWindows%5cwin.ini",
        "/news/index.html%00",
        "/news/index.html%00.css",
        "/news/%00/index.html",
        "/news/static/..%00/style.css",
        "/news/leak.txt",  # symlink to a file outside the output folder
        "/news/leakdir/secret.txt",  # through a symlinked folder
        "/news/leakdir/",
        "/news/pipe.html",  # a FIFO: not a regular file (and reading it would hang)
        "/news/.broadsheet-manifest.json",  # hidden files are not part of the site
        "/news/./index.html",
        "/news/%2e/index.html",
        "/news/static/./style.css",
        "/news/..",
        "/news/%2e%2e",
        "/__broadsheet/../news/",
        "/__broadsheet/%2e%2e/etc/passwd",
        "http://127.0.0.1/../../etc/passwd",
        "*",
    ]
    raw = [t.encode("utf-8") for t in targets]
    raw += [b"/news/index.html\x00.css", b"/news/\x00../etc/passwd", b"/news/%ff%fe/etc/passwd", b"/news/\xff/"]
    return raw


def test_traversal_attempts_all_get_the_404_page(preview) -> None:  # noqa: ANN001
    server, _, root = preview
    targets = traversal_targets(root)
    assert len(targets) >= 50
    wrong = []
    for target in targets:
        reply = request(server.port, target)
        leaked = SECRET.encode() in reply.body or b"root:x:0:0" in reply.body
        if reply.status != 404 or leaked or b"Page not found" not in reply.body:
            wrong.append(f"{target!r}: {reply.status} {reply.body[:80]!r}")
    assert wrong == []
    assert server.proc.poll() is None, "the server is still running"
    assert request(server.port, BASE).status == 200


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "text/html; charset=utf-8"),
        ("static/style.css", "text/css; charset=utf-8"),
        ("feed.xml", "application/atom+xml; charset=utf-8"),
        ("sitemap.xml", "application/xml; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("media/harbour.svg", "image/svg+xml; charset=utf-8"),
        ("extra/app.js", "text/javascript; charset=utf-8"),
        ("extra/site.webmanifest", "application/manifest+json; charset=utf-8"),
        ("archive/", "text/html; charset=utf-8"),
    ],
)
def test_content_types(preview, path: str, expected: str) -> None:  # noqa: ANN001
    server, output, _ = preview
    reply = request(server.port, BASE + path)
    assert reply.status == 200
    assert reply.headers["content-type"] == expected
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert int(reply.headers["content-length"]) == len(reply.body)
    if not expected.startswith("text/html"):
        assert reply.body == (output / path).read_bytes(), "non-HTML files are served as built"


def test_missing_page_is_the_sites_404_with_status_404(preview) -> None:  # noqa: ANN001
    server, output, _ = preview
    reply = request(server.port, BASE + "2024/13/no-such-story/")
    assert reply.status == 404
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.body.startswith((output / "404.html").read_bytes().split(b"</body>")[0])


@pytest.mark.parametrize(
    ("target", "location"),
    [("/", "/news/"), ("/news", "/news/"), ("/news/2024", "/news/2024/"), ("/news/archive?x=1", "/news/archive/?x=1")],
)
def test_redirects_to_the_base_path_and_to_folders(preview, target: str, location: str) -> None:  # noqa: ANN001
    server, _, _ = preview
    reply = request(server.port, target)
    assert (reply.status, reply.headers["location"]) == (302, location)


def test_head_matches_get_without_a_body(preview) -> None:  # noqa: ANN001
    server, _, _ = preview
    get, head = request(server.port, BASE), request(server.port, BASE, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_script_is_injected_in_served_html_only(preview) -> None:  # noqa: ANN001
    server, output, _ = preview
    page = request(server.port, BASE)
    assert page.body.count(b"data-broadsheet-preview") == 1
    client = request(server.port, "/__broadsheet/reload.js")
    assert client.headers["content-type"] == "text/javascript; charset=utf-8"
    assert b'new EventSource("/__broadsheet/events")' in client.body
    assert page.body.index(b"data-broadsheet-preview") < page.body.rindex(b"</body>")
    on_disk = (output / "index.html").read_bytes()
    script = page.body[page.body.index(b"<script data-broadsheet") : page.body.rindex(b"</body>")]
    assert page.body.replace(script, b"") == on_disk
    for path in output.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix in (".html", ".css", ".js", ".xml"):
            assert b"__broadsheet" not in path.read_bytes(), f"preview script leaked into {path}"
    css = request(server.port, BASE + "static/style.css")
    assert b"__broadsheet" not in css.body


def test_pages_are_served_at_the_base_path(preview) -> None:  # noqa: ANN001
    server, _, _ = preview
    page = request(server.port, BASE).body.decode()
    assert re.search(r'<link rel="stylesheet" href="/news/static/[^"/]+\.css"', page), "links carry the base path"
    assert f'href="http://127.0.0.1:{server.port}/news/"' in page, "canonical URL points at the preview"
    assert request(server.port, "/static/style.css").status == 404, "nothing is served outside the base path"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"Host": "localhost:{port}"}, True),
        ({"Origin": "http://127.0.0.1:{port}"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Host": "evil.example:{port}"}, False),
        ({"Host": "127.0.0.1.nip.io:{port}"}, False),
        ({"Host": "127.0.0.1:1"}, False),
        ({"Host": ""}, False),
        ({"Origin": "http://evil.example"}, False),
        ({"Origin": "http://localhost:{port}"}, False),
        ({"Origin": "null"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
    ],
)
def test_reload_channel_refuses_other_hosts_and_origins(preview, headers: dict, allowed: bool) -> None:  # noqa: ANN001
    server, _, _ = preview
    filled = {k: v.format(port=server.port) for k, v in headers.items()}
    status, sock, first = open_events(server.port, filled)
    with sock:
        if allowed:
            assert status == 200
            event, _ = next_event(sock, first)
            assert event["ok"] is True and event["generation"] >= 1
        else:
            assert status == 403


def test_pages_refuse_a_foreign_host(preview) -> None:  # noqa: ANN001
    """A DNS-rebinding page (its own name, our address) gets nothing."""
    server, _, _ = preview
    assert request(server.port, BASE, {"Host": f"rebind.example:{server.port}"}).status == 403


def test_build_errors_go_down_the_channel_and_the_server_recovers(tmp_path: Path) -> None:
    project = sample_project(tmp_path / "project")
    article = sorted((project / "content").rglob("*.md"))[0]
    original = article.read_text("utf-8")
    with ServeProcess(project) as server:
        status, sock, pending = open_events(server.port)
        with sock:
            first, pending = next_event(sock, pending)
            article.write_text(original.replace("\ntitle:", "\ntitle: [an unclosed list\nx:", 1), "utf-8")
            failed, pending = next_event(sock, pending)
            assert failed["ok"] is False and failed["site"] == first["site"]
            where = failed["errors"][0]["where"]
            assert where.startswith(article.relative_to(project / "content").as_posix() + ":"), where
            assert request(server.port, "/").status == 200, "the last good build is still served"
            article.write_text(original + "\n\nA new paragraph.\n", "utf-8")
            fixed, _ = next_event(sock, pending)
            assert fixed["ok"] is True and fixed["site"] > first["site"]
        assert server.proc.poll() is None


def test_wildcard_bind_warns_and_ctrl_c_cleans_up(tmp_path: Path) -> None:
    project = sample_project(tmp_path / "project")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with ServeProcess(project, "--bind", "0.0.0.0", env={"TMPDIR": str(scratch)}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert any(p.name.startswith("broadsheet-preview-") for p in scratch.iterdir()), "builds into a temp folder"
        assert request(server.port, "/").status == 200
        assert server.stop(signal.SIGINT) == 0
    assert any("warning" in line and "0.0.0.0" in line for line in server.stderr), server.stderr
    assert server.stdout[-1] == "stopped"
    assert list(scratch.iterdir()) == [], "the temporary output folder is removed on exit"


def test_sigint_stops_a_preview_started_with_it_ignored(tmp_path: Path) -> None:
    """A shell script's background job (`broadsheet serve &`) starts with SIGINT ignored, which Python
    leaves so: `kill -INT` did nothing. (Tests run from such a job failed here for that reason.)"""
    project = sample_project(tmp_path / "project")
    python = wrapped_python(tmp_path, "trap '' INT")  # as `&` in a script does; exec keeps it ignored
    with ServeProcess(project, python=python) as server:
        assert request(server.port, "/").status == 200
        assert server.stop(signal.SIGINT) == 0
    assert server.stdout[-1] == "stopped"


def test_loopback_bind_does_not_warn_and_sigterm_stops(tmp_path: Path) -> None:
    project = sample_project(tmp_path / "project")
    with ServeProcess(project) as server:
        assert server.stop(signal.SIGTERM) == 0
    assert not any("warning" in line for line in server.stderr), server.stderr
    assert server.stdout[-1] == "stopped"


def test_a_failing_first_build_is_shown_and_then_recovers(tmp_path: Path) -> None:
    project = sample_project(tmp_path / "project")
    article = sorted((project / "content").rglob("*.md"))[0]
    original = article.read_text("utf-8")
    article.write_text(original.replace("\ntitle:", "\ntitle: [an unclosed list\nx:", 1), "utf-8")
    with ServeProcess(project) as server:
        page = request(server.port, "/")
        assert page.status == 404
        assert article.name.encode() in page.body and b"data-broadsheet-preview" in page.body
        status, sock, pending = open_events(server.port)
        with sock:
            failed, pending = next_event(sock, pending)
            assert failed["ok"] is False
            article.write_text(original, "utf-8")
            fixed, _ = next_event(sock, pending)
            assert fixed["ok"] is True and fixed["site"] > failed["site"]
        assert request(server.port, "/").status == 200


def test_refuses_an_output_folder_it_does_not_own(tmp_path: Path) -> None:
    project = sample_project(tmp_path / "project")
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("years of work", "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "broadsheet", "serve", "--port", "0", "--output", str(foreign)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "not made by Broadsheet" in result.stderr and str(foreign) in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["thesis.txt"]


def eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_after_a_build_that_rewrote_the_site_the_spare_tree_is_brought_in_step_before_the_next_edit(
    tmp_path: Path,
) -> None:
    """The first edit after a full build finds the spare output tree already in step with the live
    one (every file copied), so that it writes only its own pages: the server did the copying while
    the page was read. Copies, not links to the live files, even after the first build (which made
    the folder): the spare's own files, which the next build that rewrites the site rewrites where
    they are."""
    project = sample_project(tmp_path / "project")
    output = tmp_path / "preview"
    with ServeProcess(project, "--output", str(output)) as server:
        assert eventually(lambda: spare_in_step(output))
        assert all((spare_dir(output) / path).stat().st_nlink == 1 for path in read_manifest(output))
        base = project / "templates" / "base.html"
        base.write_text(base.read_text("utf-8").replace("</footer>", "<p>Edited theme.</p></footer>", 1), "utf-8")
        line = server.wait_for(r"^built ", 60)
        every_page = int(re.search(r"\((\d+) written", line).group(1))  # type: ignore[union-attr]
        assert b"Edited theme." in request(server.port, "/").body
        assert eventually(lambda: spare_in_step(output))
        article = sorted((project / "content").rglob("*.md"))[0]
        article.write_text(article.read_text("utf-8") + "\n\nOne more paragraph.\n", "utf-8")
        line = server.wait_for(r"^built ", 60)
        assert 0 < int(re.search(r"\((\d+) written", line).group(1)) < every_page  # type: ignore[union-attr]

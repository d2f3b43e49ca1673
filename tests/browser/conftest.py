"""Browser fixtures: one real Chromium per session (Debian's, never a downloaded one), the sample
site built once into a temporary folder and served by a plain static server on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# The shared helpers live one folder up (tests/sitetools.py), next to the non-browser tests using them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sitetools import ROOT, build_sample_site  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _unavailable(reason: str) -> None:
    """Outside CI a missing browser skips (with the reason); in CI the gate must not pass silently."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed: pip install -e '.[test]'")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Problems:
    """What a page did wrong while it was watched: console errors, failed or error responses."""

    items: list[str] = field(default_factory=list)

    def take(self) -> list[str]:
        found, self.items = self.items, []
        return found


@pytest.fixture
def context(browser):  # noqa: ANN001, ANN201 - playwright types
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})

    def loopback_only(route) -> None:  # noqa: ANN001
        # Tests talk to 127.0.0.1 only; anything else is aborted, and so shows up as a failed request.
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    ctx.route("**/*", loopback_only)
    yield ctx
    ctx.close()


@pytest.fixture
def watched(context):  # noqa: ANN001, ANN201
    """(page, problems): a page whose console errors, page errors and failed requests are recorded."""
    page = context.new_page()
    problems = Problems()
    page.on("console", lambda m: m.type == "error" and problems.items.append(f"console: {m.text} ({m.location})"))
    page.on("pageerror", lambda e: problems.items.append(f"page error: {e}"))
    # ERR_ABORTED is the browser cancelling a request the reader navigated away from (a lazy image
    # still loading), not a failure of the site.
    page.on(
        "requestfailed",
        lambda r: "ERR_ABORTED" not in (r.failure or "") and problems.items.append(f"failed: {r.url} ({r.failure})"),
    )
    page.on("response", lambda r: r.status >= 400 and problems.items.append(f"HTTP {r.status}: {r.url}"))
    return page, problems


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample site, built once per session at the root path."""
    return build_sample_site(tmp_path_factory.mktemp("browser-site"))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """A plain static server for the built site on a free port of 127.0.0.1 (not the preview server)."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

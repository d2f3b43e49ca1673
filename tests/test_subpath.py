"""A site whose base_url has a sub-path (as on GitHub Pages project sites), served by a real HTTP
server on 127.0.0.1 under /project/ and crawled from its front page: every link and asset answers
200, none escapes /project/, and every page of the build is reachable."""

from __future__ import annotations

import functools
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from publish_support import build_project, make_project

from broadsheet.publish import PublishOptions, publish

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static server for tmp_path/www on 127.0.0.1; yields (origin, document root)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            if name in ("href", "src", "poster", "action"):
                self.urls.append(value)
            elif name == "srcset":
                self.urls += [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]
            elif name == "content" and value.startswith(("http://", "https://", "/")):
                self.urls.append(value)  # og:url, og:image


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a 127.0.0.1 test server
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, b"", ""


def crawl(starts: list[str], origin: str) -> tuple[set[str], dict[str, str], list[str]]:
    """(pages crawled, every internal URL checked -> where it was found, broken ones as 'url (from page)')."""
    seen_pages: set[str] = set()
    checked: dict[str, str] = dict.fromkeys(starts, "start")
    broken: list[str] = []
    queue = list(starts)
    while queue:
        url = queue.pop()
        status, body, kind = fetch(url)
        if status != 200:
            broken.append(f"{url} ({status}, linked from {checked[url]})")
            continue
        found: list[str] = []
        if kind == "text/html":
            seen_pages.add(url)
            parser = _Links()
            parser.feed(body.decode("utf-8"))
            found = parser.urls
        elif kind in ("application/xml", "text/xml", "application/atom+xml") or url.endswith(".xml"):
            tree = ET.fromstring(body)
            found = [e.get("href", "") for e in tree.iter(f"{ATOM}link")] + [
                e.text or "" for e in tree.iter(f"{SITEMAP}loc")
            ]
        elif kind == "text/plain":  # robots.txt names the sitemap
            lines = body.decode().splitlines()
            found = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Sitemap:")]
        for link in found:
            target, _ = urldefrag(urljoin(url, link))
            if not target.startswith(origin + "/"):
                continue  # another site
            if target not in checked:
                checked[target] = url
                queue.append(target)
    return seen_pages, checked, broken


def test_sub_path_site_has_no_broken_links(server: tuple[str, Path]) -> None:
    origin, root = server
    project = make_project(root.parent / "project", base_url=f"{origin}/project/")
    build_project(project, output=root / "project")
    # Something outside the sub-path that a wrong link would hit instead of failing:
    (root / "index.html").write_text("<!doctype html><title>host root</title>", encoding="utf-8")

    pages, checked, broken = crawl([f"{origin}/project/", f"{origin}/project/robots.txt"], origin)

    assert broken == []
    outside = sorted(url for url in checked if not urlsplit(url).path.startswith("/project/"))
    assert outside == []
    site = root / "project"
    built_pages = {
        f"{origin}/project/{p.relative_to(site).as_posix()}".removesuffix("index.html")
        for p in site.rglob("*.html")
        if p.name != "404.html"
    }
    unreached = sorted(built_pages - pages)
    assert unreached == [], f"pages neither linked nor in the sitemap: {unreached[:5]}"
    assert any("/project/static/style." in url and url.endswith(".css") for url in checked)
    assert f"{origin}/project/feed.xml" in checked and f"{origin}/project/sitemap.xml" in checked


def test_sub_path_site_published_to_a_folder_is_served_the_same(server: tuple[str, Path], tmp_path: Path) -> None:
    origin, root = server
    project = make_project(tmp_path / "project", base_url=f"{origin}/project/")
    build_project(project)
    publish(project / "site", PublishOptions(str(root / "project")), project_root=project)

    pages, checked, broken = crawl([f"{origin}/project/"], origin)

    assert broken == []
    assert len(pages) > 50
    status, body, _ = fetch(f"{origin}/project/404.html")
    assert status == 200 and b'href="/project/static/style.' in body

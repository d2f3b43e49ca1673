"""No broken internal link or asset in the built sample site, at the root and under a sub-path.

A small crawler: every HTML file is parsed with html.parser; every href, src, srcset, poster and
same-site URL in meta content is resolved against the page's own URL; every internal one must
be a file of the build (and a #fragment an id on that page). Sitemap and feed links are checked
the same way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from sitetools import build_sample_site

URL_ATTRS = {"href", "src", "poster", "action", "data", "cite", "formaction"}
SKIP_SCHEMES = {"mailto", "tel", "data"}


@dataclass
class PageLinks:
    urls: list[tuple[str, str]] = field(default_factory=list)  # (where, url)
    ids: set[str] = field(default_factory=set)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = PageLinks()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and (name == "id" or tag == "a"):
                self.found.ids.add(value)
            elif name in URL_ATTRS:
                self.found.urls.append((f"<{tag} {name}>", value.strip()))
            elif name in ("srcset", "imagesrcset"):
                for candidate in value.split(","):
                    if candidate.strip():
                        self.found.urls.append((f"<{tag} {name}>", candidate.split()[0]))
            elif name == "content" and tag == "meta" and value.startswith(("http://", "https://")):
                self.found.urls.append((f"<meta {dict(attrs).get('property') or dict(attrs).get('name')}>", value))


def parse_page(path: Path) -> PageLinks:
    collector = _Collector()
    collector.feed(path.read_text("utf-8"))
    collector.close()
    return collector.found


def page_url(site_url: str, rel: str) -> str:
    """The URL a file is served at: pretty URLs for index.html."""
    if rel == "index.html" or rel.endswith("/index.html"):
        rel = rel[: -len("index.html")]
    return site_url + rel


def xml_urls(path: Path) -> list[tuple[str, str]]:
    """<loc> of a sitemap, link hrefs and ids of an Atom feed."""
    found: list[tuple[str, str]] = []
    for element in ET.parse(path).iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "loc" and element.text:
            found.append(("<loc>", element.text.strip()))
        elif tag == "link" and element.get("href"):
            found.append((f"<link rel={element.get('rel', 'alternate')}>", element.get("href", "")))
    return found


def raw_is_absolute(url: str) -> bool:
    return bool(urlsplit(url).netloc)


def broken_links(site: Path, site_url: str) -> tuple[list[str], int]:
    """(problems, number of internal links checked) for the built `site` published at `site_url`."""
    origin = urlsplit(site_url)
    base_path = origin.path
    pages = {p.relative_to(site).as_posix(): parse_page(p) for p in sorted(site.rglob("*.html"))}
    to_check: list[tuple[str, str, str]] = []  # (file, where, url as written)
    for rel, links in pages.items():
        to_check += [(rel, where, url) for where, url in links.urls]
    for path in sorted(site.rglob("*.xml")):
        to_check += [(path.relative_to(site).as_posix(), where, url) for where, url in xml_urls(path)]

    problems: list[str] = []
    checked = 0
    for rel, where, raw in to_check:
        url = urljoin(page_url(site_url, rel), raw)
        parts = urlsplit(url)
        if parts.scheme in SKIP_SCHEMES:
            continue
        if parts.scheme not in ("http", "https"):
            problems.append(f"{rel}: {where} has a {parts.scheme or 'schemeless'} URL {url!r}")
            continue
        if parts.netloc != origin.netloc:
            continue  # external: not ours to check (and no network in tests)
        checked += 1
        path = unquote(parts.path)
        if not path.startswith(base_path):
            if raw_is_absolute(raw):
                checked -= 1  # another site on the same host (a sub-path site is not alone there)
                continue
            problems.append(f"{rel}: {where} {raw!r} leaves the site's base path {base_path}")
            continue
        target = path[len(base_path) :]
        target_file = target + "index.html" if target == "" or target.endswith("/") else target
        if not (site / target_file).is_file():
            problems.append(f"{rel}: {where} {url} -> no file {target_file}")
        elif parts.fragment and target_file.endswith(".html") and unquote(parts.fragment) not in pages[target_file].ids:
            problems.append(f"{rel}: {where} {url} -> no id {parts.fragment!r} in {target_file}")
    return problems, checked


# The sample articles cite sources on example.org: the root build lives on another host so those stay external.
@pytest.mark.parametrize(
    "base_url", ["https://news.example.net/", "https://example.org/news/"], ids=["root", "sub-path"]
)
def test_no_broken_internal_links(tmp_path: Path, base_url: str) -> None:
    site = build_sample_site(tmp_path, base_url=base_url)
    problems, checked = broken_links(site, base_url)
    html_files = len(list(site.rglob("*.html")))
    assert checked > 10 * html_files, (
        f"only {checked} internal links found in {html_files} pages: is the crawler blind?"
    )
    assert not problems, f"{len(problems)} broken links:\n" + "\n".join(problems[:50])


def test_crawler_finds_what_is_broken(tmp_path: Path) -> None:
    """The checker itself, on a hand-made sub-path site with one of each kind of link."""
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "index.html").write_text(
        "<!DOCTYPE html><title>t</title>"
        '<a href="/news/a/">fine</a> <a href="a/#here">fine, relative, with its id</a>'
        '<img src="/news/gone.png" alt=""> <a href="a/#nowhere">missing id</a>'
        '<a href="/other/">leaves /news/</a> <a href="javascript:alert(1)">script</a>'
        '<a href="https://elsewhere.example/">external</a> <a href="https://example.org/other/">other site</a>',
        "utf-8",
    )
    (site / "a" / "index.html").write_text('<!DOCTYPE html><title>a</title><p id="here">', "utf-8")
    problems, checked = broken_links(site, "https://example.org/news/")
    assert checked == 5
    expected = ["/news/gone.png -> no file", "#nowhere -> no id", "'/other/' leaves", "javascript URL"]
    assert len(problems) == len(expected), problems
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem, problem

"""Atom feeds and the sitemap, checked the way their consumers see them.

Feeds must parse with feedparser without `bozo` and validate against RFC 4287's RELAX NG schema
(tests/schemas/atom.rng, with the two Schematron rules checked by XPath); the sitemap validates against
the sitemaps.org XSD (tests/schemas/sitemap.xsd, and siteindex.xsd for a site too large for one
sitemap) and lists every HTML page but 404.html.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

import feedparser
import lxml.html
import pytest
from lxml import etree

SCHEMAS = Path(__file__).parent / "schemas"
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
SITE_URL = "https://example.org/news/"

# The golden fixture's articles, newest first, and its feed_size.
ORDER = [
    "2024/01/15/science-fair/",
    "2024/01/15/library-hours/",
    "2024/01/01/rail-bridge-night-works/",
    "2023/12/19/tide-gauge-upgrade/",
    "2023/12/04/bus-lane-vote-delayed/",
    "2023/12/04/harbour-ferry-winter-timetable/",
]
FEED_SIZE = 4


@cache
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))


@cache
def sitemap_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "sitemap.xsd")))


def feed_files(site: Path) -> list[Path]:
    feeds = [site / "feed.xml", *sorted((site / "tags").glob("*/feed.xml"))]
    assert all(f.is_file() for f in feeds)
    return feeds


def atom_problems(data: bytes) -> list[str]:
    """Why `data` is not a valid Atom feed (empty if it is)."""
    problems: list[str] = []
    parsed = feedparser.parse(data)
    if parsed.bozo:
        problems.append(f"feedparser: {parsed.bozo_exception!r}")
    if parsed.version != "atom10":
        problems.append(f"feedparser sees {parsed.version!r}, not Atom 1.0")
    doc = etree.fromstring(data)
    schema = atom_schema()
    if not schema.validate(doc):
        problems += [str(e) for e in schema.error_log]
    # RFC 4287's Schematron rules, which RELAX NG validators do not run:
    if not doc.xpath("a:author", namespaces=ATOM_NS) and doc.xpath("a:entry[not(a:author)]", namespaces=ATOM_NS):
        problems.append("a feed without atom:author has an entry without one")
    for entry in doc.xpath("a:entry", namespaces=ATOM_NS):
        if not entry.xpath("a:link[@rel='alternate'] | a:link[not(@rel)] | a:content", namespaces=ATOM_NS):
            problems.append("an entry has neither an alternate link nor content")
    return problems


def page_url_of(site: Path, path: Path) -> str:
    rel = path.relative_to(site).as_posix()
    return rel.removesuffix("index.html")


def file_for(site: Path, absolute: str) -> Path:
    assert absolute.startswith(SITE_URL), absolute
    rel = absolute.removeprefix(SITE_URL)
    return site / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)


# --- validity ----------------------------------------------------------------------------------


def test_schemas_reject_broken_documents() -> None:
    # The validators must be able to fail: an Atom feed without id and with a bad date, a short loc.
    assert atom_problems(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><updated>yesterday</updated></feed>'
    )
    bad_sitemap = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>x</loc></url></urlset>'
    assert not sitemap_schema().validate(etree.fromstring(bad_sitemap))


def test_every_feed_of_the_fixture_is_valid_atom(golden_site: Path) -> None:
    feeds = feed_files(golden_site)
    assert len(feeds) == 5  # the site feed and one per tag
    for feed in feeds:
        assert atom_problems(feed.read_bytes()) == [], feed


def test_every_feed_of_the_sample_site_is_valid_atom(sample_site: Path) -> None:
    feeds = feed_files(sample_site)
    assert len(feeds) > 10
    for feed in feeds:
        assert atom_problems(feed.read_bytes()) == [], feed


# --- content ---------------------------------------------------------------------------------------


def test_site_feed_has_the_newest_articles(golden_site: Path) -> None:
    feed = feedparser.parse((golden_site / "feed.xml").read_bytes())
    assert feed.feed.title == "The Harbour Clip"
    assert [e.link for e in feed.entries] == [SITE_URL + url for url in ORDER[:FEED_SIZE]]
    assert [e.id for e in feed.entries] == [e.link for e in feed.entries]
    # The feed's updated time is the newest entry's (not the clock, so rebuilds are byte-identical).
    assert feed.feed.updated == feed.entries[0].updated
    assert datetime.fromisoformat(feed.entries[0].published) == datetime.fromisoformat("2024-01-15T18:00:00+01:00")
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == [SITE_URL + "feed.xml"]
    for entry in feed.entries:
        assert file_for(golden_site, entry.link).is_file()
        assert entry.summary


def test_feed_entries_carry_authors_tags_and_safe_content(golden_site: Path) -> None:
    feed = feedparser.parse((golden_site / "tags/science/feed.xml").read_bytes())
    assert [e.link for e in feed.entries] == [
        SITE_URL + "2024/01/15/science-fair/",
        SITE_URL + "2023/12/19/tide-gauge-upgrade/",
    ]
    tide = feed.entries[1]
    assert [a.name for a in tide.authors] == ["Pieter Vos"]
    assert sorted(t.term for t in tide.tags) == ["Harbour", "Science"]
    # Read the raw XML, not feedparser's sanitised copy: the content itself must be safe HTML.
    doc = etree.parse(str(golden_site / "tags/science/feed.xml"))
    content = doc.xpath("//a:entry[a:link/@href=$u]/a:content", namespaces=ATOM_NS, u=tide.link)[0]
    assert content.get("type") == "html"
    body = lxml.html.fragment_fromstring(content.text, create_parent="div")
    assert not body.xpath(".//script") and "<script>" in body.text_content()
    assert not [h for h in body.xpath(".//@href") if "javascript" in h.lower()]


@pytest.mark.parametrize(
    ("slug", "members"),
    [
        ("harbour", ["2023/12/19/tide-gauge-upgrade/", "2023/12/04/harbour-ferry-winter-timetable/"]),
        ("transport", ORDER[2:3] + ORDER[4:]),
        (
            "city-council",
            ["2024/01/15/science-fair/", "2024/01/15/library-hours/", "2023/12/04/bus-lane-vote-delayed/"],
        ),
    ],
)
def test_tag_feed_has_only_that_tags_articles(golden_site: Path, slug: str, members: list[str]) -> None:
    feed = feedparser.parse((golden_site / f"tags/{slug}/feed.xml").read_bytes())
    assert [e.link for e in feed.entries] == [SITE_URL + url for url in members]
    for entry in feed.entries:
        assert slug in {t.scheme.rstrip("/").rsplit("/", 1)[-1] for t in entry.tags}


def test_pages_advertise_the_site_feed(golden_site: Path) -> None:
    doc = lxml.html.document_fromstring((golden_site / "index.html").read_bytes())
    assert "/news/feed.xml" in doc.xpath("//link[@rel='alternate'][@type='application/atom+xml']/@href")


# --- sitemap ----------------------------------------------------------------------------------------


def sitemap_problems(site: Path) -> list[str]:
    data = (site / "sitemap.xml").read_bytes()
    doc = etree.fromstring(data)
    schema = sitemap_schema()
    if not schema.validate(doc):
        return [str(e) for e in schema.error_log]
    listed = doc.xpath("//s:loc/text()", namespaces=SITEMAP_NS)
    pages = {SITE_URL + page_url_of(site, p) for p in site.rglob("*.html") if p.name != "404.html"}
    problems = [f"listed twice: {u}" for u in sorted({u for u in listed if listed.count(u) > 1})]
    problems += [f"not in the sitemap: {u}" for u in sorted(pages - set(listed))]
    problems += [f"in the sitemap but not built: {u}" for u in sorted(set(listed) - pages)]
    return problems


def test_sitemap_is_valid_and_lists_every_page(golden_site: Path) -> None:
    assert sitemap_problems(golden_site) == []
    doc = etree.parse(str(golden_site / "sitemap.xml"))
    assert SITE_URL + "404.html" not in doc.xpath("//s:loc/text()", namespaces=SITEMAP_NS)
    lastmod = {
        url.findtext("s:loc", namespaces=SITEMAP_NS): url.findtext("s:lastmod", namespaces=SITEMAP_NS)
        for url in doc.xpath("//s:url", namespaces=SITEMAP_NS)
    }
    assert lastmod[SITE_URL + "2024/01/01/rail-bridge-night-works/"] == "2024-01-01"  # the Berlin date
    assert lastmod[SITE_URL + "2023/12/04/harbour-ferry-winter-timetable/"] == "2023-12-04"


def test_sample_sitemap_is_valid_and_lists_every_page(sample_site: Path) -> None:
    assert sitemap_problems(sample_site) == []


@cache
def sitemap_index_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "siteindex.xsd")))


def test_a_site_with_more_pages_than_a_sitemap_may_list_gets_an_index_of_sitemaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protocol allows 50,000 URLs a sitemap; this site has more pages than the 4 allowed here."""
    from regen_golden import build_golden

    from broadsheet import feeds

    monkeypatch.setattr(feeds, "SITEMAP_URLS", 4)
    site = build_golden(tmp_path)
    index = etree.parse(str(site / "sitemap.xml"))
    assert sitemap_index_schema().validate(index), sitemap_index_schema().error_log
    parts = index.xpath("//s:sitemap", namespaces=SITEMAP_NS)
    pages = {SITE_URL + page_url_of(site, p) for p in site.rglob("*.html") if p.name != "404.html"}
    assert len(parts) == -(-len(pages) // 4) > 2
    listed: list[str] = []
    for number, part in enumerate(parts, 1):
        assert part.findtext("s:loc", namespaces=SITEMAP_NS) == f"{SITE_URL}sitemap-{number}.xml"
        doc = etree.parse(str(site / f"sitemap-{number}.xml"))
        assert sitemap_schema().validate(doc), sitemap_schema().error_log
        urls = doc.xpath("//s:url", namespaces=SITEMAP_NS)
        assert 0 < len(urls) <= 4
        listed += [url.findtext("s:loc", namespaces=SITEMAP_NS) for url in urls]
        dates = [url.findtext("s:lastmod", namespaces=SITEMAP_NS) for url in urls]
        newest = max((d for d in dates if d), default=None)
        assert part.findtext("s:lastmod", namespaces=SITEMAP_NS) == newest
    assert sorted(listed) == sorted(pages)  # every page once, 404.html in none
    assert any(part.findtext("s:lastmod", namespaces=SITEMAP_NS) for part in parts)
    assert not (site / f"sitemap-{len(parts) + 1}.xml").exists()
    assert f"Sitemap: {SITE_URL}sitemap.xml" in (site / "robots.txt").read_text("utf-8")

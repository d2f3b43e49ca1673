"""Atom feeds are written as text (feeds.atom_feed); they must be byte for byte what building them with
ElementTree gives, which is how they were written before and what the golden tree holds. The reference
below is that ElementTree version, kept here to compare against on awkward input."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.config import SiteConfig
from broadsheet.feeds import FeedSpec, _xml_safe, atom_feed
from broadsheet.model import Article

ATOM = "http://www.w3.org/2005/Atom"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: _xml_safe(value) for name, value in attrs.items()})
    if text is not None:
        element.text = _xml_safe(text)
    return element


def reference_feed(config: SiteConfig, renderer: FakeRenderer, spec: FeedSpec) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": config.language})
    _sub(feed, "id", config.site_url + spec.url)
    _sub(feed, "title", spec.title)
    newest = spec.articles[0].date if spec.articles else datetime(1970, 1, 1, tzinfo=UTC)
    _sub(feed, "updated", newest.isoformat(timespec="seconds"))
    _sub(feed, "link", rel="self", href=config.site_url + spec.url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=config.site_url, type="text/html")
    author = _sub(feed, "author")
    _sub(author, "name", config.title)
    for article in spec.articles:
        entry = _sub(feed, "entry")
        link = config.site_url + article.url
        _sub(entry, "id", link)
        _sub(entry, "title", article.title)
        _sub(entry, "updated", article.date.isoformat(timespec="seconds"))
        _sub(entry, "published", article.date.isoformat(timespec="seconds"))
        _sub(entry, "link", rel="alternate", href=link, type="text/html")
        for name in article.authors:
            _sub(_sub(entry, "author"), "name", name)
        for name, tag_url in renderer.tag_links(article):
            _sub(entry, "category", term=name, scheme=config.site_url + tag_url)
        _sub(entry, "summary", renderer.summary(article))
        _sub(entry, "content", str(renderer.body(article)), type="html")
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8") + b"\n"


class FakeRenderer:
    def __init__(self, summaries: dict[str, str], bodies: dict[str, str]) -> None:
        self.summaries, self.bodies = summaries, bodies

    def tag_links(self, article: Article) -> list[tuple[str, str]]:
        return [(name, f"tags/t{i}/") for i, name in enumerate(article.tags)]

    def summary(self, article: Article) -> str:
        return self.summaries[article.path]

    def body(self, article: Article) -> str:
        return self.bodies[article.path]


# Markup, quotes, whitespace XML treats specially, control characters XML cannot carry, astral letters.
AWKWARD = st.text(st.sampled_from(list("a Z&<>\"'\r\n\t\x00\x01\x0b\x7f\x85\ufffe\uffff\u2028é€😀]]>;#")), max_size=12)
ARTICLE = st.fixed_dictionaries(
    {
        "title": AWKWARD,
        "authors": st.lists(AWKWARD, max_size=3),
        "tags": st.lists(AWKWARD, max_size=3),
        "summary": AWKWARD,
        "body": AWKWARD | st.just("<p>A &amp; B</p>\n<p>x</p>"),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    site_title=AWKWARD,
    feed_title=AWKWARD,
    language=st.sampled_from(["en", "de-CH", 'x"<&>', ""]),
    entries=st.lists(ARTICLE, max_size=4),
)
def test_text_feed_is_what_elementtree_writes(
    site_title: str, feed_title: str, language: str, entries: list[dict]
) -> None:
    config = SiteConfig(title=site_title, language=language, base_url="https://example.org/a&b/")
    start = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)
    articles = tuple(
        Article(
            path=f"p{i}.md",
            title=e["title"],
            date=start - timedelta(hours=i),
            has_time=True,
            slug=f"s{i}",
            body="",
            digest=str(i),
            authors=tuple(e["authors"]),
            tags=tuple(e["tags"]),
        )
        for i, e in enumerate(entries)
    )
    renderer = FakeRenderer(
        {f"p{i}.md": e["summary"] for i, e in enumerate(entries)},
        {f"p{i}.md": e["body"] for i, e in enumerate(entries)},
    )
    spec = FeedSpec("tags/x/feed.xml", feed_title, articles)
    assert atom_feed(config, renderer, spec) == reference_feed(config, renderer, spec)  # type: ignore[arg-type]


def test_only_what_xml_cannot_carry_is_dropped() -> None:
    # XML 1.0's Char production, checked over every code point (lone surrogates included).
    def is_xml_char(code: int) -> bool:
        return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000

    everything = "".join(map(chr, range(0x110000)))
    assert _xml_safe(everything) == "".join(chr(c) for c in range(0x110000) if is_xml_char(c))

"""Atom feeds and the sitemap, built with ElementTree so every document is well-formed.

Timestamps come from the content (newest article), not the clock, so two builds of the same
content are byte-identical.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from broadsheet.config import SiteConfig
from broadsheet.model import Article, Site

if TYPE_CHECKING:
    from broadsheet.render import Renderer

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    # Attributes carry content too (a tag name becomes category/@term): one control character
    # there and the whole feed stops being XML.
    element = ET.SubElement(parent, tag, {name: _xml_safe(value) for name, value in attrs.items()})
    if text is not None:
        element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry at all (control characters from pasted copy)."""
    return _NOT_XML.sub("", text)


def _document(root: ET.Element) -> bytes:
    ET.indent(root)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    )


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class FeedSpec:
    url: str
    title: str
    articles: tuple[Article, ...]


def feed_specs(site: Site, config: SiteConfig) -> list[FeedSpec]:
    """The site feed and one per tag, each with its newest `feed_size` articles."""
    specs = [FeedSpec("feed.xml", config.title, site.articles[: config.feed_size])]
    for tag in site.tags:
        specs.append(FeedSpec(f"{tag.url}feed.xml", f"{config.title}: {tag.name}", tag.articles[: config.feed_size]))
    return specs


def atom_feed(config: SiteConfig, renderer: Renderer, spec: FeedSpec) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": config.language})
    _sub(feed, "id", config.site_url + spec.url)
    _sub(feed, "title", spec.title)
    # The newest entry's time, never the clock: rebuilding unchanged content gives the same bytes.
    newest = spec.articles[0].date if spec.articles else datetime(1970, 1, 1, tzinfo=UTC)
    _sub(feed, "updated", _stamp(newest))
    _sub(feed, "link", rel="self", href=config.site_url + spec.url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=config.site_url, type="text/html")
    author = _sub(feed, "author")
    _sub(author, "name", config.title)
    for article in spec.articles:
        entry = _sub(feed, "entry")
        link = config.site_url + article.url
        _sub(entry, "id", link)
        _sub(entry, "title", article.title)
        _sub(entry, "updated", _stamp(article.date))
        _sub(entry, "published", _stamp(article.date))
        _sub(entry, "link", rel="alternate", href=link, type="text/html")
        for name in article.authors:
            _sub(_sub(entry, "author"), "name", name)
        for name, tag_url in renderer.tag_links(article):
            _sub(entry, "category", term=name, scheme=config.site_url + tag_url)
        _sub(entry, "summary", renderer.summary(article))
        _sub(entry, "content", str(renderer.body(article)), type="html")
    return _document(feed)


def sitemap(config: SiteConfig, page_urls: Sequence[str], site: Site) -> bytes:
    """Every page, articles with their date as lastmod. Written as text (the same bytes ElementTree
    would write): with tens of thousands of pages, building a tree first costs more than the rest."""
    lastmod = {a.url: a.day.isoformat() for a in site.articles}
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f'<urlset xmlns="{SITEMAP}">']
    for url in page_urls:
        lines.append("  <url>")
        lines.append(f"    <loc>{_text(config.site_url + url)}</loc>")
        if url in lastmod:
            lines.append(f"    <lastmod>{lastmod[url]}</lastmod>")
        lines.append("  </url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


def _text(value: str) -> str:
    return _xml_safe(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Atom feeds and the sitemap, built with ElementTree so every document is well-formed.

Timestamps come from the content (newest article), not the clock, so two builds of the same
content are byte-identical.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from broadsheet.config import SiteConfig
from broadsheet.model import Article, Site

if TYPE_CHECKING:
    from broadsheet.render import Output, Renderer

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry at all (control characters from pasted copy)."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or ("\x20" <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd") or c >= "\U00010000"
    )


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def atom_feed(
    config: SiteConfig,
    renderer: Renderer,
    articles: Sequence[Article],
    *,
    url: str,
    title: str,
    updated: datetime | None = None,
) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": config.language})
    _sub(feed, "id", config.site_url + url)
    _sub(feed, "title", title)
    newest = articles[0].date if articles else updated
    _sub(feed, "updated", _stamp(newest or datetime(1970, 1, 1).astimezone(config.tz)))
    _sub(feed, "link", rel="self", href=config.site_url + url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=config.site_url, type="text/html")
    author = _sub(feed, "author")
    _sub(author, "name", config.title)
    for article in articles:
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
    ET.indent(feed)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False) + b"\n"
    )


def site_feeds(
    site: Site, config: SiteConfig, renderer: Renderer, *, updated: datetime | None = None
) -> Iterator[Output]:
    from broadsheet.render import Output

    latest = site.articles[: config.feed_size]
    yield Output("feed.xml", atom_feed(config, renderer, latest, url="feed.xml", title=config.title, updated=updated))
    for tag in site.tags:
        url = f"{tag.url}feed.xml"
        yield Output(
            url,
            atom_feed(
                config,
                renderer,
                tag.articles[: config.feed_size],
                url=url,
                title=f"{config.title}: {tag.name}",
                updated=updated,
            ),
        )


def sitemap(config: SiteConfig, page_urls: Sequence[str], site: Site) -> bytes:
    """Every page, articles with their date as lastmod."""
    lastmod = {a.url: a.date.date().isoformat() for a in site.articles}
    root = ET.Element("urlset", {"xmlns": SITEMAP})
    for url in page_urls:
        entry = _sub(root, "url")
        _sub(entry, "loc", config.site_url + url)
        if url in lastmod:
            _sub(entry, "lastmod", lastmod[url])
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"

"""Atom feeds and the sitemap, written as text escaped the way ElementTree escapes it (the same bytes).

Timestamps come from the content (newest article), not the clock, so two builds of the same
content are byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from broadsheet.config import SiteConfig
from broadsheet.model import Article, Site

if TYPE_CHECKING:
    from broadsheet.render import Renderer

ATOM = "http://www.w3.org/2005/Atom"
# What XML 1.0 excludes, named directly: the same set as "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]",
# which takes 5 ms to compile (5% of a small rebuild's imports) against 0.5 ms for this.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The most URLs one sitemap file may list (sitemaps.org; it may also be no larger than 50 MB, which
# 50,000 of our URLs stay far under): search engines refuse a longer one.
SITEMAP_URLS = 50_000


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry at all (control characters from pasted copy)."""
    return _NOT_XML.sub("", text)


def _text(value: str) -> str:
    """Character data, escaped as ElementTree escapes it."""
    return _xml_safe(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    """An attribute value, escaped as ElementTree escapes it. Attributes carry content too (a tag
    name becomes category/@term): one control character there and the whole feed stops being XML."""
    return _escape_attr(_xml_safe(value))


def _escape_attr(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if "\r" in value or "\n" in value or "\t" in value:
        value = value.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")
    return value


def _leaf(indent: str, tag: str, text: str | None = None, **attrs: str) -> str:
    """One element without children on its own line, as ET.indent + ET.tostring would write it."""
    head = "".join(f' {name}="{_attr(value)}"' for name, value in attrs.items())
    body = _text(text) if text else ""
    if body:
        return f"{indent}<{tag}{head}>{body}</{tag}>"
    return f"{indent}<{tag}{head} />"


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
    """The feed as text, byte for byte what building it with ElementTree and `ET.indent` gives
    (tests/test_feeds.py checks against that), at a fraction of the cost: there are hundreds of feeds
    of whole article bodies. Every value goes through `_text` or `_attr`, so it stays well-formed."""
    site_url = config.site_url
    # The newest entry's time, never the clock: rebuilding unchanged content gives the same bytes.
    newest = spec.articles[0].date if spec.articles else datetime(1970, 1, 1, tzinfo=UTC)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM}" xml:lang="{_escape_attr(config.language)}">',  # as ever, not _xml_safe
        _leaf("  ", "id", site_url + spec.url),
        _leaf("  ", "title", spec.title),
        _leaf("  ", "updated", _stamp(newest)),
        _leaf("  ", "link", rel="self", href=site_url + spec.url, type="application/atom+xml"),
        _leaf("  ", "link", rel="alternate", href=site_url, type="text/html"),
        "  <author>",
        _leaf("    ", "name", config.title),
        "  </author>",
    ]
    for article in spec.articles:
        link = site_url + article.url
        stamp = _stamp(article.date)
        lines += (
            "  <entry>",
            _leaf("    ", "id", link),
            _leaf("    ", "title", article.title),
            _leaf("    ", "updated", stamp),
            _leaf("    ", "published", stamp),
            _leaf("    ", "link", rel="alternate", href=link, type="text/html"),
        )
        for name in article.authors:
            lines += ("    <author>", _leaf("      ", "name", name), "    </author>")
        for name, tag_url in renderer.tag_links(article):
            lines.append(_leaf("    ", "category", term=name, scheme=site_url + tag_url))
        lines += (
            _leaf("    ", "summary", renderer.summary(article)),
            _leaf("    ", "content", str(renderer.body(article)), type="html"),
            "  </entry>",
        )
    lines.append("</feed>\n")
    return "\n".join(lines).encode("utf-8")


def sitemap_files(config: SiteConfig, site: Site, other_urls: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the sitemap, which lists every page: each article's (in the site's order,
    with its date as lastmod), then `other_urls`. `sitemap.xml` lists them all or, for a site with
    more pages than one sitemap may list, is an index of `sitemap-1.xml`, `sitemap-2.xml`, ..., each
    listing up to that many pages in order, with its newest article's date as lastmod. Written as
    text (the same bytes ElementTree would write): with tens of thousands of pages, building a tree
    first costs more than the rest. The articles' URLs are made as they are written, not listed
    first: an article holds its page's path, not its URL (7 MB at 100,000 articles, at the end of the
    render, where a build peaks)."""
    articles, limit = site.articles, SITEMAP_URLS
    count = len(articles) + len(other_urls)

    def pages(start: int, stop: int) -> Iterator[tuple[str, str | None]]:
        for article in articles[start:stop]:
            yield article.url, article.day.isoformat()
        yield from ((url, None) for url in other_urls[max(start - len(articles), 0) : max(stop - len(articles), 0)])

    if count <= limit:
        yield "sitemap.xml", _urlset(config, pages(0, count))
        return
    starts = range(0, count, limit)
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f'<sitemapindex xmlns="{SITEMAP}">']
    for number, start in enumerate(starts, 1):
        lines += ["  <sitemap>", f"    <loc>{_text(f'{config.site_url}sitemap-{number}.xml')}</loc>"]
        newest = max((article.day for article in articles[start : start + limit]), default=None)
        if newest is not None:
            lines.append(f"    <lastmod>{newest.isoformat()}</lastmod>")
        lines.append("  </sitemap>")
    lines.append("</sitemapindex>\n")
    yield "sitemap.xml", "\n".join(lines).encode("utf-8")
    for number, start in enumerate(starts, 1):
        yield f"sitemap-{number}.xml", _urlset(config, pages(start, start + limit))


def _urlset(config: SiteConfig, pages: Iterable[tuple[str, str | None]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f'<urlset xmlns="{SITEMAP}">']
    for url, lastmod in pages:
        lines.append("  <url>")
        lines.append(f"    <loc>{_text(config.site_url + url)}</loc>")
        if lastmod is not None:
            lines.append(f"    <lastmod>{lastmod}</lastmod>")
        lines.append("  </url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")

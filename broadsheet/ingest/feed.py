"""RSS 2.0 / Atom 1.0 / RSS 1.0 bytes -> `Feed` of entries -> one `WebArticle` per entry.

Pure. The bytes are first parsed by defusedxml, which refuses entity declarations (billion laughs)
and external references before anything expands, and reports XML that is not well-formed with its
line; only then does feedparser map the dialects onto one shape.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
from defusedxml import DefusedXmlException

from broadsheet.errors import BroadsheetError
from broadsheet.ingest.markup import absolute_url, escape_inline, markdown_text, plain_text, sanitized_markdown
from broadsheet.ingest.webarticle import WebArticle, language_code, split_names, unique_tags
from broadsheet.markdown import summarise

Republish = Literal["full", "excerpt", "headline"]
MAX_FEED_BYTES = 20 * 1024 * 1024
EXCERPT_CHARS = 400


_NOT_PARAGRAPH = re.compile(r"(#|[-+*] |\d+[.)] |>|!\[|\||```|\* \* \*)")
_REFUSALS = {
    "EntitiesForbidden": "it declares XML entities (the billion-laughs expansion attack needs them)",
    "ExternalReferenceForbidden": "it references external resources (XXE)",
    "DTDForbidden": "it has a document type definition",
}


class FeedError(BroadsheetError):
    """A feed that cannot be read: unsafe, not well-formed, or not RSS/Atom at all."""


@dataclass(frozen=True)
class FeedEntry:
    id: str  # the entry's own id, else its link, else a hash of its title and date
    title: str
    link: str | None
    published: dt.datetime | None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    content_html: str | None = None  # full text (content:encoded, Atom content)
    summary_html: str | None = None
    image: str | None = None
    base: str | None = None  # URL relative links in this entry resolve against


@dataclass(frozen=True)
class Feed:
    title: str | None
    link: str | None
    language: str | None
    version: str  # feedparser's name: rss20, atom10, rss10, ...
    entries: tuple[FeedEntry, ...]


def check_xml(data: bytes, where: str | None = None) -> None:
    """Refuse entity declarations, external references and XML that is not well-formed."""
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"feed is {len(data) / 1e6:.1f} MB; the limit is {MAX_FEED_BYTES / 1e6:.0f} MB", path=where)
    try:
        defusedxml.ElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        why = _REFUSALS.get(type(exc).__name__, str(exc))
        raise FeedError(f"refused: {why}; nothing was expanded or fetched", path=where) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        reason = str(exc).split(":")[0]
        raise FeedError(f"not well-formed XML ({reason}, column {column})", path=where, line=line) from None


def looks_like_feed(data: bytes) -> bool:
    """Cheap sniff for routing: RSS, RDF or Atom root element near the start."""
    head = data[:4096].lower()
    if b"<html" in head or b"<!doctype html" in head:
        return False
    return any(marker in head for marker in (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf "))


def parse_feed(data: bytes, *, url: str | None = None, path: str | None = None) -> Feed:
    """Parse feed bytes. `url` is where they came from (base for relative links); `path` names them in errors."""
    where = path or url
    check_xml(data, where)
    # Relative links are resolved by us (ingest.markup), against the entry's own page: feedparser would
    # resolve them against the feed's URL, which for RSS is rarely where the story lives.
    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=False)
    if not parsed.get("version"):
        raise FeedError("not an RSS or Atom feed", path=where)
    info = parsed.feed
    link = absolute_url(info.get("link") or "", url) or url
    entries = tuple(_entry(e, feed_base=link or url) for e in parsed.entries)
    return Feed(
        title=plain_text(info.get("title", "")) or None,
        link=link,
        language=language_code(info.get("language")),
        version=parsed.version,
        entries=entries,
    )


def _entry(e: Any, feed_base: str | None) -> FeedEntry:
    link = absolute_url(e.get("link") or "", _xml_base(e.get("title_detail")) or feed_base)
    # An explicit xml:base on the content wins; else the story's own page; else the feed's site.
    base = _xml_base(_first(e.get("content")) or e.get("summary_detail")) or link or feed_base
    title = plain_text(e.get("title", ""))
    published = _when(e)
    summary = e.get("summary") or None
    content = _content(e)
    entry_id = (e.get("id") or "").strip() or link
    if not entry_id:
        basis = "\n".join([title, published.isoformat() if published else "", "" if title else (summary or "")])
        entry_id = "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]
    if not title:
        text = markdown_text(sanitized_markdown(content or summary or "", None))
        title = summarise(text, 90) if text else "Untitled"
    return FeedEntry(
        id=entry_id,
        title=title,
        link=link,
        published=published,
        authors=_authors(e),
        tags=unique_tags([t.get("label") or t.get("term") or "" for t in e.get("tags", [])]),
        content_html=content,
        summary_html=summary if summary != content else None,
        image=_image(e, base),
        base=base,
    )


def _first(items: Any) -> Any:
    return items[0] if items else None


def _xml_base(detail: Any) -> str | None:
    base = (detail or {}).get("base") or ""
    return base if base.lower().startswith(("http://", "https://")) else None


def _content(e: Any) -> str | None:
    best = None
    for item in e.get("content", []):
        value = item.get("value") or ""
        if not value.strip():
            continue
        if item.get("type") in ("text/html", "application/xhtml+xml"):
            return value
        best = best or "".join(f"<p>{_html_text(p)}</p>" for p in value.split("\n\n"))
    return best


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(e: Any) -> dt.datetime | None:
    """Published, else updated, else created; the printed offset is kept when the text has one."""
    for key in ("published", "updated", "created"):
        raw = e.get(key)
        parsed = e.get(f"{key}_parsed")
        if not raw and not parsed:
            continue
        moment = _parse_raw_date(raw) if raw else None
        if moment is None and parsed:
            moment = dt.datetime(*parsed[:6], tzinfo=dt.UTC)
        if moment is not None:
            return moment
    return None


def _parse_raw_date(raw: str) -> dt.datetime | None:
    text = raw.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _authors(e: Any) -> tuple[str, ...]:
    names: list[str] = []
    for author in e.get("authors", []) or []:
        name = (author.get("name") or "").strip()
        if name:
            names.extend(split_names(plain_text(name)))
    if not names and e.get("author"):
        names.extend(split_names(plain_text(e.get("author"))))
    return tuple(dict.fromkeys(n for n in names if "@" not in n))


def _image(e: Any, base: str | None) -> str | None:
    candidates: list[str] = []
    for item in e.get("media_content", []) or []:
        if item.get("medium") == "image" or str(item.get("type", "")).startswith("image/"):
            candidates.append(item.get("url", ""))
    candidates += [item.get("url", "") for item in e.get("media_thumbnail", []) or []]
    candidates += [
        link.get("href", "") for link in e.get("links", []) if str(link.get("type", "")).startswith("image/")
    ]
    for candidate in candidates:
        src = absolute_url(candidate, base)
        if src and src.startswith(("http://", "https://")):
            return src
    return None


def entry_article(
    entry: FeedEntry,
    *,
    source: str | None,
    republish: Republish = "full",
    language: str | None = None,
    full_markdown: str | None = None,
) -> WebArticle:
    """One entry as an article, republishing as much as the site owner allows for this source.
    `full_markdown` replaces the feed's text (the entry's page, fetched for a full-text feed)."""
    full = full_markdown
    if full is None:
        full = sanitized_markdown(entry.content_html or entry.summary_html or "", entry.base)
    summary = None
    if entry.content_html and entry.summary_html or full_markdown is not None and entry.summary_html:
        summary = summarise(plain_text(entry.summary_html), 300) or None
    if republish == "full":
        body = full
    else:
        read = _read_more(entry, source)
        if republish == "excerpt":
            text = markdown_text("\n\n".join(_paragraphs(full)[:3]))
            excerpt = escape_inline(summarise(text, EXCERPT_CHARS)) if text else ""
            body = "\n\n".join(p for p in (excerpt, read) if p) + "\n"
        else:
            body = read + "\n" if read else ""
        summary = None
    return WebArticle(
        title=entry.title,
        body=body,
        date=entry.published,
        authors=entry.authors,
        source=source,
        url=entry.link,
        image=entry.image,
        summary=summary,
        tags=entry.tags,
        language=language,
    )


def _paragraphs(markdown: str) -> list[str]:
    """The running-text paragraphs of a body: no headings, lists, quotes, images, tables or code."""
    blocks = [b for b in markdown.split("\n\n") if b.strip()]
    return [b for b in blocks if not _NOT_PARAGRAPH.match(b)]


def _read_more(entry: FeedEntry, source: str | None) -> str:
    if not entry.link:
        return ""
    where = f" at {escape_inline(source)}" if source else ""
    return f"[Read the full story{where}]({entry.link.replace(' ', '%20')})"

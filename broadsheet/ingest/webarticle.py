"""What a web page or a feed entry says, before it becomes a content file.

The text importer's `RawArticle` carries plain-text blocks; pages and feeds arrive as HTML with links,
images and emphasis, so their body is kept as already-sanitised Markdown instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

_SPLIT_NAMES = re.compile(r"\s*(?:;|\||,|\band\b|&)\s*")


@dataclass(frozen=True)
class WebArticle:
    title: str
    body: str  # sanitised CommonMark (see ingest.markup)
    date: dt.datetime | dt.date | None = None
    authors: tuple[str, ...] = ()
    source: str | None = None
    url: str | None = None
    image: str | None = None  # absolute http(s) URL
    summary: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None

    def frontmatter(self) -> dict[str, Any]:
        """Content-contract keys for this article (provenance is added by whoever writes it)."""
        meta: dict[str, Any] = {"title": self.title}
        if self.date is not None:
            meta["date"] = self.date.isoformat()
        if self.authors:
            meta["authors"] = list(self.authors)
        if self.source:
            meta["source"] = self.source
        if self.language:
            meta["language"] = self.language
        if self.image:
            meta["image"] = {"src": self.image}
        if self.tags:
            meta["tags"] = list(self.tags)
        if self.summary:
            meta["summary"] = self.summary
        if self.url:
            meta["original_url"] = self.url
        return meta


def split_names(value: str | None) -> tuple[str, ...]:
    """ "Jane Roe; Bob Smith" / "Jane Roe and Bob Smith" -> ("Jane Roe", "Bob Smith")."""
    if not value:
        return ()
    names: list[str] = []
    for part in _SPLIT_NAMES.split(value):
        name = re.sub(r"^(?:by|von|par|por)\s+", "", part.strip(), flags=re.I).strip(" .")
        if name and name not in names:
            names.append(name)
    return tuple(names)


def unique_tags(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Tags from keyword lists ("a, b; c"), de-duplicated case-insensitively, order kept."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        for part in re.split(r"\s*[,;]\s*", value or ""):
            tag = part.strip()
            if tag and tag.lower() not in seen and len(tag) <= 60:
                seen.add(tag.lower())
                out.append(tag)
    return tuple(out)


def language_code(value: str | None) -> str | None:
    """ "en-GB" / "en_GB" -> "en" (the content contract stores the language, not the region)."""
    if not value:
        return None
    m = re.match(r"\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$", value)
    return m.group(1).lower() if m else None


def parse_when(value: str | None) -> dt.datetime | dt.date | None:
    """An ISO-ish date from page metadata; a bare midnight without offset means "date only"."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)  # +0200 -> +02:00
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None
    if moment.tzinfo is None and moment.time() == dt.time():
        return moment.date()
    return moment

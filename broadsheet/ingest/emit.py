"""RawArticle -> content file text (YAML frontmatter + CommonMark body), per the content contract.

The file carries its own provenance: `import_hash` (the source bytes) says which raw file it came
from, and `import_digest` (the file's own text) lets a later import tell whether a person edited it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from broadsheet.ingest.article import Block, RawArticle

DIGEST_KEY = "import_digest"
_DIGEST_LINE = re.compile(rf"^{DIGEST_KEY}: ([0-9a-f]{{64}})\n", re.M)
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_BLOCK_START = re.compile(r"^(#|>|[-+=]|\d+[.)](?=\s|$)|\s)")


def escape(text: str) -> str:
    """Plain text as Markdown that renders to exactly that text."""
    text = _ENTITY.sub(r"\\&", _INLINE_SPECIAL.sub(r"\\\1", text))
    m = _BLOCK_START.match(text)
    if m:
        marker = m.group(1)
        if marker[0].isdigit():
            text = marker[:-1] + "\\" + text[len(marker) - 1 :]
        elif marker.strip():
            text = "\\" + text
        else:
            text = text.lstrip()
    return text


def body_markdown(blocks: Sequence[Block]) -> str:
    parts = []
    for block in blocks:
        if block.kind == "heading":
            parts.append("## " + escape(block.text))
        elif block.kind == "quote":
            parts.append("> " + escape(block.text))
        elif block.kind == "list":
            marks = [f"{n}." for n in range(1, len(block.items) + 1)] if block.ordered else ["-"] * len(block.items)
            parts.append("\n".join(f"{mark} {escape(item)}" for mark, item in zip(marks, block.items, strict=True)))
        else:
            parts.append(escape(block.text))
    return "\n\n".join(parts) + "\n"


def date_value(article: RawArticle) -> str:
    """YYYY-MM-DD, or an ISO datetime with offset when the printed time and zone pin the moment down."""
    assert article.date is not None
    if article.time is not None and article.utc_offset is not None:
        moment = dt.datetime.combine(article.date, article.time, tzinfo=dt.timezone(article.utc_offset))
        return moment.isoformat()
    return article.date.isoformat()


def frontmatter(article: RawArticle, provenance: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": article.title}
    if article.title_prefix:
        meta["title_prefix"] = article.title_prefix
    meta["date"] = date_value(article)
    if article.time is not None:
        if article.utc_offset is None:
            meta["time"] = article.time.strftime("%H:%M")  # printed without a zone we can place
        if article.timezone:
            meta["timezone"] = article.timezone
    optional = {
        "authors": list(article.authors), "source": article.source, "distributor": article.distributor,
        "copyright": article.copyright, "dateline": article.dateline, "language": article.language,
    }  # fmt: skip
    meta.update({k: v for k, v in optional.items() if v})
    if article.image and (article.image.caption or article.image.credit):
        meta["image"] = {k: v for k, v in (("caption", article.image.caption), ("credit", article.image.credit)) if v}
    if article.tags:
        meta["tags"] = list(article.tags)
    for key in ("summary", "editor_note", "correction"):
        value = getattr(article, key)
        if value:
            meta[key] = value
    meta.update(provenance)
    return meta


def to_markdown(article: RawArticle, provenance: Mapping[str, Any]) -> str:
    """The content file text, ending with an `import_digest` of everything else in it."""
    meta = frontmatter(article, provenance)
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=False)
    text = f"---\n{head}---\n\n{body_markdown(article.blocks)}"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text.replace("\n---\n", f"\n{DIGEST_KEY}: {digest}\n---\n", 1)


def edited_since_import(text: str) -> bool:
    """True when a content file no longer matches the digest written at import (or has none)."""
    end = text.find("\n---\n", 4)
    m = _DIGEST_LINE.search(text, 0, end + 1 if end >= 0 else len(text))
    if not m:
        return True
    rest = text[: m.start()] + text[m.end() :]
    return hashlib.sha256(rest.encode("utf-8")).hexdigest() != m.group(1)

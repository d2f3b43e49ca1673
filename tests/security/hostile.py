"""Generate the hostile site: every XSS vector in every untrusted field of some article.

Text fields hold a few vectors each (joined, or as list items), so ~300 articles carry 800+
vectors through every field; URL fields hold exactly one URL each, since a URL is one value.
Each field walks the vector list from its own offset, so every article mixes different vectors.
The generator parses every file it writes with Broadsheet's own parser and checks the values
arrive unchanged, so a vector can't be lost in YAML quoting before the test even starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from broadsheet.frontmatter import parse_article

from .helpers import frontmatter_text
from .xss_vectors import URLS, VECTORS

PER_FIELD = 3  # vectors per text field per article
TEXT_FIELDS = (
    "title", "source", "distributor", "summary", "dateline", "title_prefix", "editor_note", "correction",
    "copyright", "language", "image.alt", "image.caption", "image.credit", "extra", "extra-key", "body",
)  # fmt: skip
LIST_FIELDS = ("authors", "tags")
URL_FIELDS = ("image.src", "original_url", "body-link")


@dataclass
class Expected:
    """What one article page should show, as plain text (the values after Broadsheet's parsing)."""

    url: str
    title: str
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    source: str | None
    summary: str | None
    copyright: str | None
    caption: str | None


@dataclass
class HostileSite:
    content: Path
    articles: dict[str, Expected]  # url -> expected
    coverage: dict[str, set[str]]  # field -> vectors injected into it
    output: Path | None = None
    files: list[Path] = field(default_factory=list)


def _pick(i: int, offset: int, count: int = PER_FIELD) -> list[str]:
    n = len(VECTORS)
    return [VECTORS[(i * count + j + offset) % n] for j in range(count)]


def _in_body(text: str) -> str:
    # A raw NUL byte makes the whole file "not text" (refused by design); the YAML fields carry
    # NUL as an escape instead, so here it becomes the character Markdown would turn it into.
    return text.replace("\x00", "\ufffd")


def _angle(url: str) -> str:
    return url.replace("\\", "\\\\").replace("<", "\\<").replace(">", "\\>").replace("\n", " ").replace("\r", " ")


def _bare(url: str) -> str:
    return url.replace(" ", "%20").replace("\n", "%0A").replace("\r", "%0D")


def _body(i: int, texts: list[str], urls: list[str]) -> str:
    texts = [_in_body(t) for t in texts]
    parts = list(texts)
    for n, url in enumerate(_in_body(u) for u in urls + texts):
        parts.append(
            f'See [link {n}](<{_angle(url)}> "t{n}"), [bare {n}]({_bare(url)}), '
            f"![image {n}](<{_angle(url)}>) and <{_bare(url)}>."
        )
        parts.append(f"A [reference][r{i}x{n}] link.\n\n[r{i}x{n}]: <{_angle(url)}> '{_angle(url)}'")
    parts.append("| a | b |\n|:-|-:|\n| " + " | ".join(_angle(t).replace("|", "\\|") for t in texts[:2]) + " |")
    return "\n\n".join(parts)


def _clean_list(items: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        text = item.strip()
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _text(value: str) -> str | None:
    return value.strip() or None


def generate(content: Path) -> HostileSite:
    n_articles = max(math.ceil(len(VECTORS) / PER_FIELD), len(URLS))
    coverage: dict[str, set[str]] = {name: set() for name in (*TEXT_FIELDS, *LIST_FIELDS, *URL_FIELDS)}
    site = HostileSite(content, {}, coverage)
    tz = ZoneInfo("UTC")
    for i in range(n_articles):
        picks = {name: _pick(i, offset * 5) for offset, name in enumerate((*TEXT_FIELDS, *LIST_FIELDS))}
        urls = [URLS[i % len(URLS)], URLS[(i + 1) % len(URLS)]]
        joined = {name: " ".join(values) for name, values in picks.items()}
        meta: dict[str, Any] = {
            "title": joined["title"],
            "date": f"{date(2024, 5, 1 + i % 7).isoformat()}T{i % 24:02d}:{i % 60:02d}:00",
            "slug": f"{i} {VECTORS[i % len(VECTORS)]}",
            "authors": picks["authors"],
            "tags": picks["tags"],
            "image": {
                "src": urls[0],
                "alt": joined["image.alt"],
                "caption": joined["image.caption"],
                "credit": joined["image.credit"],
            },
            "original_url": urls[1],
        }
        for name in ("source", "distributor", "summary", "dateline", "title_prefix", "editor_note", "correction",
                     "copyright", "language"):  # fmt: skip
            meta[name] = joined[name]
        meta["x_unknown"] = joined["extra"]
        meta.update({key: key for key in picks["extra-key"]})  # vectors as unknown keys' names
        meta["x_nested"] = {"list": picks["extra"], "map": {picks["extra"][0]: picks["extra"][-1]}}
        body = _body(i, picks["body"], urls)
        for name in picks:
            coverage[name].update(picks[name])
        coverage["image.src"].add(urls[0])
        coverage["original_url"].add(urls[1])
        coverage["body-link"].update(urls)

        rel = f"2024/05/a{i:04d}.md"
        text = frontmatter_text(meta, body)
        path = content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        site.files.append(path)

        article = parse_article(text, rel, tz)
        expected = Expected(
            url=article.url,
            title=joined["title"].strip(),
            authors=_clean_list(picks["authors"]),
            tags=_clean_list(picks["tags"]),
            source=_text(joined["source"]),
            summary=_text(joined["summary"]),
            copyright=_text(joined["copyright"]),
            caption=_text(joined["image.caption"]),
        )
        got = (article.title, article.authors, article.tags, article.source, article.summary, article.copyright)
        want = (expected.title, expected.authors, expected.tags, expected.source, expected.summary, expected.copyright)
        assert got == want, f"{rel}: a vector did not survive YAML quoting"
        assert article.image is not None and article.image.src == urls[0].strip() or not urls[0].strip()
        assert article.image.caption == expected.caption
        assert expected.url not in site.articles, f"{rel}: URL collision in the generator"
        site.articles[expected.url] = expected
    return site

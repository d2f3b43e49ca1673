"""The site's full-text search index: static JSON shards that a small script queries in the browser.

Why our own and not Pagefind: Pagefind re-reads every built page on every build (55 s and 2.7 GB
for 10,000 articles here) and its output differs between two builds of the same site. This index
is made from terms the parse stage already extracted (and cached) per article, is byte-identical
for identical content, and costs well under a second at 10,000 articles.

Layout under /search/:
- `meta.json`: document count, chunk size, shard names, and the tag/source/author filter values;
- `docs-<n>.json`: documents n*CHUNK .. as [url, title, date label, ISO date, source, tags, authors, summary];
- `t-<hex>.json`: for the terms whose first two characters are <hex> (UTF-8, hex-encoded), each term
  -> ascending document numbers. Documents are numbered oldest first, so new articles append and
  the shards of an archive mostly stay the same from build to build.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Protocol

from broadsheet.model import Article, Site
from broadsheet.pages import day_label

SEARCH_DIR = "search"
CHUNK = 500
MAX_TERM = 32
_WORD = re.compile(r"\w+")


class _Facts(Protocol):
    terms: str


@lru_cache(maxsize=1)
def _marks() -> dict[int, None]:
    """Translation table deleting combining marks (Unicode category M, as \\p{M} in search.js)."""
    return {cp: None for cp in range(0x300, 0x20000) if unicodedata.category(chr(cp)).startswith("M")}


def normalise(text: str) -> list[str]:
    """Search terms of `text`: lower-cased, accents removed, split on anything not a letter or digit.
    The browser script applies the same rules to the query (`search.js`)."""
    folded = text.lower() if text.isascii() else unicodedata.normalize("NFKD", text).translate(_marks()).lower()
    return [w[:MAX_TERM] for w in _WORD.findall(folded) if len(w) > 1 or w.isdigit()]


def article_terms(article: Article, body_text: str) -> str:
    """Every distinct term of an article's title, body, tags, authors and source, space-separated
    (one string per article keeps the cache and memory small)."""
    parts = [article.title, body_text, " ".join(article.tags), " ".join(article.authors), article.source or ""]
    return " ".join(dict.fromkeys(normalise(" ".join(parts))))


def search_fingerprint(site: Site, base_path: str) -> str:
    """Everything the index is made of: each article's content digest and path, and the base path."""
    digest = hashlib.blake2b(base_path.encode(), digest_size=16)
    for article in site.articles:
        digest.update(f"{article.digest}{article.path}\0".encode())
    return digest.hexdigest()


def shard_name(term: str) -> str:
    return term[:2].encode("utf-8").hex()


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def search_files(
    site: Site, facts: Mapping[str, _Facts], summaries: Mapping[str, str], *, base_path: str
) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every index file, in a stable order. `summaries`: article path -> summary."""
    docs = sorted(site.articles, key=lambda a: (a.date, a.slug, a.path))
    postings: dict[str, list[int]] = defaultdict(list)
    for number, article in enumerate(docs):
        for term in facts[article.path].terms.split():
            postings[term].append(number)
    shards: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for term, numbers in postings.items():  # each distinct term once, not once per article
        shards[shard_name(term)][term] = numbers
    for start in range(0, len(docs), CHUNK):
        rows = [
            [
                base_path + a.url,
                a.title,
                day_label(a.day),
                a.date.isoformat() if a.has_time else a.day.isoformat(),
                a.source or "",
                list(a.tags),
                list(a.authors),
                summaries[a.path],
            ]
            for a in docs[start : start + CHUNK]
        ]
        yield f"{SEARCH_DIR}/docs-{start // CHUNK}.json", _dump(rows)
    for name in sorted(shards):
        yield f"{SEARCH_DIR}/t-{name}.json", _dump(shards[name])
    meta = {
        "version": 1,
        "docs": len(docs),
        "chunk": CHUNK,
        "shards": sorted(shards),
        "tags": sorted({t.name for t in site.tags}),
        "sources": sorted({t.name for t in site.sources}),
        "authors": sorted({t.name for t in site.authors}),
    }
    yield f"{SEARCH_DIR}/meta.json", _dump(meta)

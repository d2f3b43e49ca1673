"""`broadsheet import` for saved web pages, feed files and http(s) URLs, and the routing that sends
plain-text files to the text importer.

One line per input (wrote / updated / unchanged / grouped / skipped / refused), then a summary; the
exit code is 1 when any input failed. Feed entries and pages go through `ingest.store`, so importing
the same thing twice never makes two articles and edited files are never overwritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from broadsheet.errors import BroadsheetError
from broadsheet.fetch import Fetcher, FetchPolicy, fetch
from broadsheet.ingest.feed import looks_like_feed, parse_feed
from broadsheet.ingest.html import parse_page
from broadsheet.ingest.markup import sanitized_markdown
from broadsheet.ingest.pull import article_for
from broadsheet.ingest.store import ContentStore, Draft, entry_key, fingerprint, page_key

PAGE_SUFFIXES = {".html", ".htm", ".xhtml"}
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".feed"}
TEXT_SUFFIXES = {".txt"}
MAX_INPUT_BYTES = 20 * 1024 * 1024


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def split_inputs(values: Sequence[str]) -> tuple[list[Path], list[str], list[str]]:
    """(text files, web inputs: page/feed files and URLs, problems). Folders are walked for both kinds."""
    texts: list[Path] = []
    web: list[str] = []
    problems: list[str] = []
    for value in values:
        if is_url(value):
            web.append(value)
            continue
        path = Path(value)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)))
            texts += [p for p in found if p.suffix.lower() in TEXT_SUFFIXES]
            web += [str(p) for p in found if p.suffix.lower() in PAGE_SUFFIXES | FEED_SUFFIXES]
            if not any(p.suffix.lower() in TEXT_SUFFIXES | PAGE_SUFFIXES | FEED_SUFFIXES for p in found):
                problems.append(f"refused {path}: no .txt, .html or feed files in this folder")
        elif path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
            texts.append(path)
        elif path.is_file():
            web.append(str(path))
        else:
            problems.append(f"refused {path}: no such file or folder")
    return texts, web, problems


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def import_any(
    values: Sequence[str],
    content_dir: Path,
    tz: ZoneInfo,
    *,
    date: dt.date | None = None,
    tag_aliases: Mapping[str, str] | None = None,
    full_text: bool = False,
    allow_loopback: bool = False,
    fetcher: Fetcher | None = None,
    out: TextIO | None = None,
) -> int:
    """Route every input: .txt to the text importer, pages and feeds (files or URLs) here."""
    out = out or sys.stdout
    texts, web, problems = split_inputs(values)
    code = 0
    for problem in problems:
        print(problem, file=out)
        code = 1
    if texts:
        from broadsheet.ingest.importer import import_paths

        code = max(code, import_paths(texts, content_dir, date=date, tag_aliases=tag_aliases, out=out))
    if web:
        get = fetcher or partial(fetch, policy=FetchPolicy(allow_loopback=allow_loopback))
        code = max(code, import_web(web, content_dir, tz, date=date, full_text=full_text, fetcher=get, out=out))
    return code


def import_web(
    inputs: Sequence[str],
    content_dir: Path,
    tz: ZoneInfo,
    *,
    date: dt.date | None = None,
    full_text: bool = False,
    fetcher: Fetcher | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    get: Fetcher = fetcher or partial(fetch, policy=FetchPolicy())
    store = ContentStore(content_dir, tz)
    counts: dict[str, int] = {}
    failed = 0
    for value in inputs:
        try:
            lines = _import_one(value, store, date=date, full_text=full_text, fetcher=get)
        except BroadsheetError as exc:
            lines = [("refused", f"{exc if exc.path == value else f'{value}: {exc}'}; nothing written")]
        except OSError as exc:
            lines = [("refused", f"{value}: cannot read it ({exc.strerror or exc}); nothing written")]
        for status, message in lines:
            print(f"{status} {message}" if status == "refused" else f"{status} {value}: {message}", file=out)
            counts[status] = counts.get(status, 0) + 1
            failed += status == "refused"
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing imported"
    print(f"import: {summary}", file=out)
    return 1 if failed else 0


def _import_one(
    value: str, store: ContentStore, *, date: dt.date | None, full_text: bool, fetcher: Fetcher
) -> list[tuple[str, str]]:
    url: str | None = None
    if is_url(value):
        response = fetcher(value)
        data, url = response.body, response.url
        kind = "feed" if looks_like_feed(data) or "xml" in response.content_type else "page"
    else:
        path = Path(value)
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise BroadsheetError(f"larger than {MAX_INPUT_BYTES // 2**20} MB", path=value)
        data = path.read_bytes()
        suffix = path.suffix.lower()
        if suffix in FEED_SUFFIXES or (suffix not in PAGE_SUFFIXES and looks_like_feed(data)):
            kind = "feed"
        elif suffix in PAGE_SUFFIXES or _looks_like_html(data):
            kind = "page"
        else:
            raise BroadsheetError("not a .txt, .html or RSS/Atom file", path=value)
    if kind == "feed":
        return _import_feed(data, value, url, store, full_text=full_text, fetcher=fetcher)
    return [_import_page(data, value, url, store, date=date)]


def _looks_like_html(data: bytes) -> bool:
    head = data[:4096].lower()
    return b"<html" in head or b"<!doctype html" in head


def _import_page(
    data: bytes, value: str, url: str | None, store: ContentStore, *, date: dt.date | None
) -> tuple[str, str]:
    article = parse_page(data, url=url, path=value)
    if article.date is None:
        if date is None:
            raise BroadsheetError("no publication date in the page (pass --date YYYY-MM-DD)", path=value)
        article = replace(article, date=date)
    meta = article.frontmatter()
    if url is None:
        meta["imported_from"] = Path(value).name
    meta["import_hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
    key = page_key(article.url) if article.url else f"file {Path(value).resolve()}"
    also = {"source": article.source or "", "url": article.url or ""}
    saved = store.save(Draft(key, meta, article.body, compare_text=article.body, also=also))
    return _line(saved.status, saved.path, saved.message)


def _import_feed(
    data: bytes, value: str, url: str | None, store: ContentStore, *, full_text: bool, fetcher: Fetcher
) -> list[tuple[str, str]]:
    feed = parse_feed(data, url=url, path=value)
    feed_id = url or feed.link or str(Path(value).resolve())
    lines = []
    for entry in reversed(feed.entries):
        full = sanitized_markdown(entry.content_html or entry.summary_html or "", entry.base)
        page = None
        if full_text and entry.link:
            try:
                response = fetcher(entry.link)
                page = parse_page(response.body, url=response.url)
                full = page.body
            except BroadsheetError as exc:
                lines.append(("warning", f"{entry.link}: full text not available ({exc.message})"))
        article = article_for(entry, full, source=feed.title, republish="full", language=feed.language, page=page)
        meta = {
            **article.frontmatter(),
            "feed": feed_id,
            "feed_entry": entry.id,
            "fetched": store.now.isoformat(),
            "import_hash": fingerprint({"entry": asdict(entry), "full_text": full_text}),
        }
        draft = Draft(
            entry_key(feed_id, entry.id),
            meta,
            article.body,
            compare_text=full,
            also={"source": feed.title or "", "url": entry.link or ""},
        )
        saved = store.save(draft)
        lines.append(_line(saved.status, saved.path, saved.message))
    if not feed.entries:
        lines.append(("unchanged", "the feed has no entries"))
    return lines


def _line(status: str, path: Path, message: str) -> tuple[str, str]:
    word = {"new": "wrote", "edited": "skipped"}.get(status, status)
    return word, f"{path}" + (f" ({message})" if message else "")

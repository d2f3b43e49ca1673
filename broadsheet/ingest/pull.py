"""`broadsheet fetch`: bring every subscription up to date.

Network work (the feed, and each entry's page for full-text feeds) runs in a small thread pool;
everything that touches content/ runs on the calling thread, one feed at a time, so slug choice,
duplicate detection and edit checks never race. One feed failing is reported and the rest go on.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from broadsheet.config import SiteConfig
from broadsheet.errors import BroadsheetError
from broadsheet.fetch import Fetcher, FetchPolicy, fetch
from broadsheet.ingest.feed import Feed, FeedEntry, Republish, entry_article, parse_feed
from broadsheet.ingest.html import parse_page
from broadsheet.ingest.markup import sanitized_markdown
from broadsheet.ingest.store import ContentStore, Draft, entry_key, fingerprint
from broadsheet.ingest.webarticle import WebArticle, unique_tags
from broadsheet.subscriptions import (
    CACHE_DIR,
    FeedState,
    SeenEntry,
    Subscription,
    load_body,
    load_state,
    save_body,
    save_state,
    state_path,
    subscriptions,
)

Progress = Callable[[int, int, str], None]
DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class FeedReport:
    label: str
    url: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    grouped: int = 0
    failed: int = 0
    error: str | None = None  # the feed itself could not be fetched or read
    not_modified: bool = False
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0

    def line(self) -> str:
        if self.error:
            return f"{self.label}: failed — {self.error}"
        counts = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, {self.failed} failed"
        if self.grouped:
            counts += f", {self.grouped} grouped as syndicated copies"
        return f"{self.label}: {counts}" + (" (not modified)" if self.not_modified else "")


@dataclass(frozen=True)
class Item:
    """One entry, prepared off-thread: the article to write and what identifies its version."""

    entry: FeedEntry
    article: WebArticle
    import_hash: str
    full_text: str  # the entry's whole text, for duplicate detection whatever is republished
    note: str | None = None


@dataclass(frozen=True)
class Prepared:
    sub: Subscription
    state: FeedState
    items: tuple[Item, ...] = ()
    body: bytes | None = None  # feed bytes to cache (None on 304 / failure)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None


def fetcher_for(
    policy: FetchPolicy | None = None, *, allow_loopback: bool = False
) -> Callable[[Subscription], Fetcher]:
    """The default: the real `fetch`, loopback allowed only where the subscription (or caller) says so."""

    base = policy or FetchPolicy()

    def make(sub: Subscription) -> Fetcher:
        return partial(fetch, policy=replace(base, allow_loopback=allow_loopback or sub.allow_loopback))

    return make


def pull_all(
    subs: Sequence[Subscription],
    content_dir: Path,
    cache_dir: Path,
    tz: ZoneInfo,
    *,
    fetchers: Callable[[Subscription], Fetcher] | None = None,
    workers: int = DEFAULT_WORKERS,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> list[FeedReport]:
    """Fetch every subscription and write what changed; one report per subscription, in config order."""
    fetchers = fetchers or fetcher_for()
    store = ContentStore(content_dir, tz, now=now)
    reports: dict[str, FeedReport] = {}
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(subs) or 1))) as pool:
        futures = [(sub, pool.submit(prepare, sub, cache_dir, fetchers(sub))) for sub in subs]
        # Written in config order, whatever finishes first: when two outlets carry one story, the
        # one subscribed first stays the canonical copy, run after run.
        for sub, future in futures:
            try:
                report = commit(future.result(), store, cache_dir)
            except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the others
                report = FeedReport(sub.label, sub.url, error=f"unexpected error: {exc!r}")
            reports[sub.url] = report
            done += 1
            if progress:
                progress(done, len(subs), sub.label)
    return [reports[sub.url] for sub in subs]


def prepare(sub: Subscription, cache_dir: Path, fetcher: Fetcher) -> Prepared:
    """Network and parsing for one feed (runs in a worker thread; writes nothing)."""
    path = state_path(cache_dir, sub)
    state = load_state(path, sub.url)
    cached = load_body(path)
    try:
        if cached is not None:
            response = fetcher(sub.url, etag=state.etag, last_modified=state.last_modified)
        else:  # without the last body a 304 would leave nothing to read
            response = fetcher(sub.url)
        body = cached if response.not_modified else response.body
        assert body is not None
        feed = parse_feed(body, url=response.url if not response.not_modified else sub.url)
    except BroadsheetError as exc:
        return Prepared(sub, state, error=str(exc))
    items = tuple(
        _prepare_entry(entry, feed, sub, state, fetcher) for entry in reversed(feed.entries)
    )  # oldest first: the first outlet to carry a story stays its canonical copy
    return Prepared(
        sub,
        state,
        items,
        body=None if response.not_modified else response.body,
        etag=response.etag or (state.etag if response.not_modified else None),
        last_modified=response.last_modified or (state.last_modified if response.not_modified else None),
        not_modified=response.not_modified,
    )


def _prepare_entry(entry: FeedEntry, feed: Feed, sub: Subscription, state: FeedState, fetcher: Fetcher) -> Item:
    source = sub.name or feed.title
    import_hash = fingerprint(
        {
            "entry": asdict(entry),
            "source": source,
            "tags": sub.tags,
            "republish": sub.republish,
            "full_text": sub.full_text,
        }
    )
    full = sanitized_markdown(entry.content_html or entry.summary_html or "", entry.base)
    note = None
    seen = state.entries.get(entry.id)
    page: WebArticle | None = None
    if sub.full_text and entry.link and (seen is None or seen.hash != import_hash):
        try:
            response = fetcher(entry.link)
            page = parse_page(response.body, url=response.url)
            full = page.body
        except BroadsheetError as exc:
            note = f"full text of {entry.link} not available ({exc.message}); used the feed's text"
    article = article_for(entry, full, source=source, republish=sub.republish, language=feed.language, page=page)
    article = replace(article, tags=unique_tags([*article.tags, *sub.tags]))
    return Item(entry, article, import_hash, full, note)


def article_for(
    entry: FeedEntry,
    full_markdown: str,
    *,
    source: str | None,
    republish: Republish,
    language: str | None,
    page: WebArticle | None = None,
) -> WebArticle:
    """The entry as an article; with a fetched `page`, its text and any metadata the feed lacked."""
    if page is None:
        return entry_article(entry, source=source, republish=republish, language=language)
    article = entry_article(entry, source=source, republish=republish, language=language, full_markdown=full_markdown)
    return replace(
        article,
        date=article.date or page.date,
        authors=article.authors or page.authors,
        image=article.image or page.image,
        summary=article.summary or (page.summary if republish == "full" else None),
        language=article.language or page.language,
        tags=unique_tags([*article.tags, *page.tags]),
    )


def commit(prepared: Prepared, store: ContentStore, cache_dir: Path) -> FeedReport:
    """Write one feed's entries (calling thread only) and save its state."""
    sub = prepared.sub
    if prepared.error:
        return FeedReport(sub.label, sub.url, error=prepared.error)
    counts = {"new": 0, "updated": 0, "unchanged": 0, "grouped": 0, "failed": 0}
    notes: list[str] = []
    entries = dict(prepared.state.entries)
    fetched = store.now.isoformat()
    for item in prepared.items:
        if item.note:
            notes.append(item.note)
        status, seen = _commit_item(item, sub, store, entries.get(item.entry.id), fetched, notes)
        counts[status] += 1
        if seen is not None:
            entries[item.entry.id] = seen
    state = replace(prepared.state, etag=prepared.etag, last_modified=prepared.last_modified, entries=entries)
    path = state_path(cache_dir, sub)
    save_state(path, state)
    if prepared.body is not None:
        save_body(path, prepared.body)
    return FeedReport(sub.label, sub.url, not_modified=prepared.not_modified, notes=tuple(notes), **counts)


def _commit_item(
    item: Item, sub: Subscription, store: ContentStore, seen: SeenEntry | None, fetched: str, notes: list[str]
) -> tuple[str, SeenEntry | None]:
    key = entry_key(sub.url, item.entry.id)
    existing = store.find(key)
    if seen is not None and existing is None:
        if seen.grouped_into and seen.hash == item.import_hash:
            return "unchanged", seen
        if seen.path and not store.exists(store.content_dir / seen.path):
            notes.append(f"{seen.path} was deleted here; {item.entry.title!r} is not imported again")
            return "unchanged", seen
    meta = {
        **item.article.frontmatter(),
        "feed": sub.url,
        "feed_entry": item.entry.id,
        "fetched": fetched,
        "import_hash": item.import_hash,
    }
    if sub.republish != "full":
        meta["republished"] = sub.republish
    draft = Draft(
        key=key,
        meta=meta,
        body=item.article.body,
        compare_text=item.full_text,
        also={"source": item.article.source or sub.label, "url": item.entry.link or ""},
    )
    try:
        saved = store.save(draft)
    except (BroadsheetError, OSError) as exc:
        notes.append(f"{item.entry.title!r}: {exc}")
        return "failed", None
    rel = saved.path.relative_to(store.content_dir).as_posix()
    if saved.status == "grouped":
        return "grouped", SeenEntry(item.import_hash, grouped_into=rel)
    if saved.status == "edited":
        notes.append(f"{rel}: {saved.message}")
        return "unchanged", SeenEntry(item.import_hash, path=rel)
    return saved.status, SeenEntry(item.import_hash, path=rel)


def fetch_command(
    config: SiteConfig,
    *,
    content_dir: Path | None = None,
    workers: int = DEFAULT_WORKERS,
    timeout: float = 30.0,
    allow_loopback: bool = False,
    quiet: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`broadsheet fetch`: pull every subscription, print one summary line per feed; 1 if any failed."""
    out, err = out or sys.stdout, err or sys.stderr
    subs = subscriptions(config)
    if not subs:
        print("no subscriptions: add [[feeds]] tables with a url to site.toml", file=err)
        return 1
    show = _progress(err) if not quiet and err.isatty() and not os.environ.get("CI") else None
    reports = pull_all(
        subs,
        content_dir or config.path("content_dir"),
        config.root / CACHE_DIR,
        config.tz,
        fetchers=fetcher_for(FetchPolicy(timeout=timeout), allow_loopback=allow_loopback),
        workers=workers,
        progress=show,
    )
    for report in reports:
        if report.ok and quiet:
            continue
        print(report.line(), file=out if report.ok else err)
        for note in report.notes:
            print(f"  {note}", file=out if report.ok else err)
    totals = {k: sum(getattr(r, k) for r in reports) for k in ("new", "updated", "unchanged", "grouped", "failed")}
    broken = sum(1 for r in reports if r.error)
    print(
        f"fetch: {len(reports)} feeds ({broken} failed): {totals['new']} new, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged, {totals['grouped']} grouped, {totals['failed']} failed entries",
        file=out,
    )
    return 0 if all(r.ok for r in reports) else 1


def _progress(err: TextIO) -> Progress:
    def show(done: int, total: int, label: str) -> None:
        err.write(f"\r\033[Kfetching feeds: {done}/{total} ({label[:50]})")
        if done == total:
            err.write("\r\033[K")
        err.flush()

    return show

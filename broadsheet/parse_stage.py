"""The parse stage: content files -> Articles, rendered Markdown and search terms, cached and in parallel.

A file whose size and modification time match the cache is not read at all. The others are read
here and parsed in batches on an executor (local processes, or a Dask cluster): the tasks are plain
functions over plain data, so any executor can run them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any
from zoneinfo import ZoneInfo

from broadsheet.cache import BuildCache
from broadsheet.errors import BroadsheetError
from broadsheet.executors import open_executor, runs_here
from broadsheet.load import SourceFile, decode_article, read_source
from broadsheet.markdown import render_markdown, summarise
from broadsheet.model import Article, Facts, share_strings
from broadsheet.page_cache import parts_ahead, read_ahead
from broadsheet.search_index import article_terms

Progress = Callable[[str, int, int], None]
_PARSE_CHUNK = 64
# Batches stored between commits. Each commit lets SQLite copy what the log holds into the database
# (its automatic checkpoint) while the workers parse on; one commit at the end of the stage copied
# all of it (80 MB at 10,000 articles) while both cores waited: 0.22-0.24 s, 2.6-3.4 s at 100,000.
_COMMIT_EVERY = 16


def parse_files(items: Sequence[tuple[str, bytes | SourceFile]], timezone: str) -> list[tuple[str, Any, Any]]:
    """Decode, parse and render a batch of files, each given as its bytes or as the file to read:
    (rel, (Article, Facts, html, search terms) | None, error | None)."""
    tz = ZoneInfo(timezone)
    results: list[tuple[str, Any, Any]] = []
    for rel, given in items:
        try:
            data = given if type(given) is bytes else _read(given)
            article = decode_article(rel, data, tz)
            rendered = render_markdown(article.body)
        except BroadsheetError as exc:
            results.append((rel, None, exc))
            continue
        facts = Facts(rendered.words, "" if article.summary else summarise(rendered.first_paragraph))
        terms = article_terms(article, rendered.text)
        # Sent back without its body, which is rendered now. Cleared in place, not copied with
        # `dataclasses.replace`, which would make its page path again from the slug it holds.
        object.__setattr__(article, "body", "")
        results.append((rel, (article, facts, rendered.html, terms), None))
    return results


def _read(source: SourceFile) -> bytes:
    try:
        return read_source(source)
    except OSError as exc:
        raise BroadsheetError(f"cannot read: {exc.strerror}", path=source.rel) from None


def _path_shared(article: Article, rel: str) -> Article:
    """The article, its path the same string object as its file's scan entry (`rel`), which the
    build holds until it ends too: not a copy of its own, unpickled with it (72 bytes an article)."""
    if article.path == rel:
        object.__setattr__(article, "path", rel)
    return article


def load_content(
    markdown: Sequence[SourceFile],
    tz: ZoneInfo,
    cache: BuildCache | None,
    executor_spec: str | None,
    jobs: int,
    progress: Progress,
) -> tuple[list[Article], dict[str, tuple[str, str, Facts]], list[BroadsheetError], int]:
    """Every article (from the cache when its file is untouched), errors, and the body HTML, search
    terms and facts made now: in the cache (committed, for the render and search stages to read)
    or, without one, in memory (content digest -> (html, terms, facts)).

    Files are read batch by batch with a few batches in flight, so memory does not grow with the site."""
    articles: list[Article] = []
    errors: list[BroadsheetError] = []
    # The files to parse, by path: every file, less those whose article the cache holds (in scan order).
    to_parse = {source.rel: source for source in markdown}
    tuples: dict[tuple[str, ...], tuple[str, ...]] = {}  # the articles' tag and author tuples, shared
    for source, article in cache.unchanged_articles(to_parse, tuples) if cache else ():
        del to_parse[source.rel]
        articles.append(_path_shared(article, source.rel))
    pending = list(to_parse.values())

    fresh: dict[str, tuple[str, str, Facts]] = {}
    done = 0

    spec = executor_spec if len(pending) > _PARSE_CHUNK else "inline"
    # Processes on this machine read the files themselves: reading them here and sending their bytes
    # took about 0.45 s of this process's 1.5 s of CPU while the workers parsed 10,000 articles, on
    # the cores they need. A cluster's workers may not see this file system.
    local = runs_here(spec)

    def batches() -> Iterator[list[tuple[str, bytes | SourceFile]]]:
        # Each batch's files are asked for a batch ahead (page_cache): content a day old may have
        # left memory, and a worker would read its files one at a time. At 10,000 articles out of
        # memory, one process spent 0.33-0.35 s reading them against 1.2-1.4 s (0.34 s when they
        # are in memory), and cold builds took 9.7-11.9 s against 10.5-13.3 s (six of each, in turn).
        for chunk, ahead in parts_ahead(pending, _PARSE_CHUNK):
            read_ahead(source.path for source in ahead)
            if local:
                yield [(source.rel, source) for source in chunk]
                continue
            items: list[tuple[str, bytes | SourceFile]] = []
            for source in chunk:
                try:
                    items.append((source.rel, _read(source)))
                except BroadsheetError as exc:
                    errors.append(exc)
            yield items

    batches_stored = 0

    def collect(results: list[tuple[str, Any, Any]]) -> None:
        nonlocal done, batches_stored
        parsed_now: list[tuple[str, int, int, Article]] = []
        bodies_now: list[tuple[str, str, str, Facts]] = []
        for rel, parsed, error in results:
            done += 1
            if error is not None:
                errors.append(error)
                continue
            article, fact, html, terms = parsed
            source = to_parse[rel]
            articles.append(_path_shared(share_strings(article, tuples), source.rel))
            parsed_now.append((rel, source.size, source.mtime_ns, article))
            bodies_now.append((article.digest, html, terms, fact))
        if cache:
            cache.store_articles(parsed_now)
            cache.store_rendered(bodies_now)
            batches_stored += 1
            if batches_stored % _COMMIT_EVERY == 0:
                cache.checkpoint()
        else:
            fresh.update((digest, (html, terms, fact)) for digest, html, terms, fact in bodies_now)
        progress("parse", done, len(pending))

    progress("parse", 0, len(pending))
    with open_executor(spec, jobs) as executor:
        in_flight: deque[Future] = deque()
        for items in batches():
            in_flight.append(executor.submit(parse_files, items, tz.key))
            if len(in_flight) > 2 * jobs:
                collect(in_flight.popleft().result())
        while in_flight:
            collect(in_flight.popleft().result())
    if cache:
        cache.forget_articles_except({source.rel for source in markdown})
        cache.prune_rendered({a.digest for a in articles})
        cache.checkpoint()  # the render stage reads bodies and facts through its own connections
    return articles, fresh, errors, len(pending)

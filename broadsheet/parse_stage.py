"""The parse stage: content files -> Articles, rendered Markdown and search terms, cached and in parallel.

A file whose size and modification time match the cache is not read at all. The others are read
here and parsed in batches on an executor (local processes, or a Dask cluster): the tasks are plain
functions over plain data, so any executor can run them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from broadsheet.cache import BuildCache
from broadsheet.errors import BroadsheetError
from broadsheet.executors import chunked, open_executor
from broadsheet.load import SourceFile, decode_article, read_source
from broadsheet.markdown import render_markdown
from broadsheet.model import Article
from broadsheet.render import Facts
from broadsheet.search_index import article_terms

Progress = Callable[[str, int, int], None]
_PARSE_CHUNK = 64


def parse_files(items: Sequence[tuple[str, bytes]], timezone: str) -> list[tuple[str, Any, Any]]:
    """Decode, parse and render a batch of files: (rel, (Article, Facts, html) | None, error | None)."""
    tz = ZoneInfo(timezone)
    results: list[tuple[str, Any, Any]] = []
    for rel, data in items:
        try:
            article = decode_article(rel, data, tz)
            rendered = render_markdown(article.body)
        except BroadsheetError as exc:
            results.append((rel, None, exc))
            continue
        facts = Facts(rendered.words, rendered.first_paragraph, article_terms(article, rendered.text))
        results.append((rel, (replace(article, body=""), facts, rendered.html), None))
    return results


def load_content(
    markdown: list[SourceFile],
    tz: ZoneInfo,
    cache: BuildCache | None,
    executor_spec: str | None,
    jobs: int,
    progress: Progress,
) -> tuple[list[Article], dict[str, Facts], dict[str, str], list[BroadsheetError], int]:
    """Every article (from the cache when its file is untouched), its facts, fresh HTML, errors."""
    known = cache.articles() if cache else {}
    articles: list[Article] = []
    facts: dict[str, Facts] = {}
    todo: list[tuple[str, bytes]] = []
    stats: dict[str, tuple[int, int]] = {}
    errors: list[BroadsheetError] = []
    for source in markdown:
        stats[source.rel] = (source.size, source.mtime_ns)
        hit = known.get(source.rel)
        if hit and (hit[0], hit[1]) == stats[source.rel]:
            article, fact = hit[2]
            articles.append(article)
            facts[article.path] = fact
            continue
        try:
            todo.append((source.rel, read_source(source)))
        except BroadsheetError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(BroadsheetError(f"cannot read: {exc.strerror}", path=source.rel))

    fresh_html: dict[str, str] = {}
    fresh: list[tuple[str, int, int, tuple[Article, Facts]]] = []
    done = 0
    progress("parse", 0, len(todo))
    with open_executor(executor_spec if len(todo) > _PARSE_CHUNK else "inline", jobs) as executor:
        futures = [executor.submit(parse_files, chunk, tz.key) for chunk in chunked(todo, _PARSE_CHUNK)]
        for future in futures:
            for rel, parsed, error in future.result():
                done += 1
                if error is not None:
                    errors.append(error)
                    continue
                article, fact, html = parsed
                articles.append(article)
                facts[article.path] = fact
                fresh_html[article.digest] = html
                fresh.append((rel, *stats[rel], (article, fact)))
            progress("parse", done, len(todo))
    if cache:
        cache.store_articles(fresh, keep=set(stats))
        cache.store_rendered(fresh_html.items())
        cache.prune_rendered({a.digest for a in articles})
    return articles, facts, fresh_html, errors, len(todo)

"""The build as one top-down recipe: load everything, plan every page, render what changed, write once.

content/ --scan/stat--> cached or freshly parsed Articles (+ Markdown rendered in parallel)
         --index-->     Site
         --plan-->      pages and feeds, each with a fingerprint of its inputs
         --render-->    only pages whose fingerprint changed (in parallel)
         --write-->     staging tree swapped in atomically; unchanged files hard-linked
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from broadsheet.cache import CACHE_DIR, BuildCache, code_fingerprint
from broadsheet.config import SiteConfig
from broadsheet.deps import Fingerprinter, global_fingerprint
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.executors import chunked, default_jobs, fork_pool, open_executor
from broadsheet.feeds import FeedSpec, atom_feed, feed_specs, sitemap
from broadsheet.hosting import HEADERS_FILE, headers_file
from broadsheet.hosting import precompress as hosting_precompress
from broadsheet.load import SourceFile, build_site, decode_article, read_source, scan
from broadsheet.markdown import render_markdown
from broadsheet.model import Article, Site
from broadsheet.pages import Page, related
from broadsheet.render import Facts, Output, Renderer, make_environment, static_outputs
from broadsheet.search_index import article_terms, search_files
from broadsheet.urls import output_path
from broadsheet.webapp import webapp_outputs
from broadsheet.write import (
    MANIFEST,
    MissingOutput,
    WriteStats,
    build_lock,
    check_output_dir,
    read_manifest,
    record_failed_build,
    recover,
    write_site,
)

Progress = Callable[[str, int, int], None]
_PARSE_CHUNK = 64
_RENDER_CHUNK = 128


@dataclass(frozen=True)
class BuildOptions:
    content_dir: Path | None = None
    output_dir: Path | None = None
    templates_dir: Path | None = None
    base_url: str | None = None
    drafts: bool = False
    keep_going: bool = False
    jobs: int | None = None  # worker processes; default: every core
    executor: str | None = None  # Markdown fan-out: "process" (default), "inline", "dask://HOST:PORT"
    cache: bool = True
    precompress: bool = False  # also write .gz (and .br with the brotli package) beside text files


@dataclass(frozen=True)
class BuildResult:
    articles: int
    stats: WriteStats
    seconds: float
    rendered_pages: int = 0
    parsed_files: int = 0
    errors: list[BroadsheetError] = field(default_factory=list)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


# --- parse stage: plain functions over plain data, so any executor (even a remote one) can run them ----
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


class HtmlStore:
    """Article body HTML: this build's fresh renders in memory, the rest read from the cache on demand.

    Opens its own database connection in each process (SQLite connections must not cross a fork)."""

    def __init__(self, fresh: dict[str, str], cache_path: Path | None) -> None:
        self.fresh = fresh
        self.cache_path = cache_path
        self._db: Any = None
        self._pid = 0

    def __call__(self, article: Article) -> str:
        html = self.fresh.get(article.digest)
        if html is not None:
            return html
        import os
        import sqlite3

        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(f"file:{self.cache_path}?mode=ro", uri=True)
            self._pid = os.getpid()
        row = self._db.execute("SELECT rendered FROM markdown WHERE digest=?", (article.digest,)).fetchone()
        if row is None:
            raise BroadsheetError(
                "build cache lost a rendered body; delete .broadsheet-cache and build again", path=article.path
            )
        return row[0]


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


# --- render stage: forked workers inherit the renderer and the plan, and get page numbers ------------
_Job = tuple[str, int]  # ("page" | "feed", index)


class _RenderPlan:
    def __init__(self, renderer: Renderer, pages: list[Page], feeds: list[FeedSpec]) -> None:
        self.renderer = renderer
        self.pages = pages
        self.feeds = feeds

    def run(self, jobs: Sequence[_Job]) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        for kind, index in jobs:
            if kind == "page":
                result = self.renderer.render_page(self.pages[index])
                out.append((result.path, result.data or b""))
            else:
                spec = self.feeds[index]
                out.append((spec.url, atom_feed(self.renderer.config, self.renderer, spec)))
        return out


_worker_plan: _RenderPlan | None = None


def _init_worker(plan: _RenderPlan) -> None:
    global _worker_plan  # one plan per worker process, set once when the worker starts
    _worker_plan = plan


def _run_in_worker(jobs: Sequence[_Job]) -> list[tuple[str, bytes]]:
    assert _worker_plan is not None
    return _worker_plan.run(jobs)


def render_changed(
    plan: _RenderPlan, jobs: list[_Job], workers: int, progress: Progress
) -> Iterator[tuple[str, bytes]]:
    if not jobs:
        return
    progress("render", 0, len(jobs))
    if workers <= 1 or len(jobs) < 2 * _RENDER_CHUNK:
        for done, batch in enumerate(chunked(jobs, _RENDER_CHUNK), 1):
            yield from plan.run(batch)
            progress("render", min(done * _RENDER_CHUNK, len(jobs)), len(jobs))
        return
    with fork_pool(workers, _init_worker, (plan,)) as pool:
        for done, batch in enumerate(pool.map(_run_in_worker, chunked(jobs, _RENDER_CHUNK)), 1):
            yield from batch
            progress("render", min(done * _RENDER_CHUNK, len(jobs)), len(jobs))


def cache_path_for(config: SiteConfig, content_dir: Path, output_dir: Path) -> Path:
    key = hashlib.blake2b(f"{content_dir}\0{output_dir}\0{config.timezone}".encode(), digest_size=8).hexdigest()
    return config.root / CACHE_DIR / f"build-{key}.sqlite"


def build(config: SiteConfig, options: BuildOptions = BuildOptions(), progress: Progress = _no_progress) -> BuildResult:
    """Build the site. Raises BuildFailed on input errors (unless keep_going) and leaves the
    previous output untouched; with keep_going, builds what it can and returns the errors."""
    started = time.perf_counter()
    if options.base_url:
        config = replace(config, base_url=options.base_url)
    content_dir = (options.content_dir or config.path("content_dir")).resolve()
    output_dir = (options.output_dir or config.path("output_dir")).resolve()
    templates_dir = (options.templates_dir or config.path("templates_dir")).resolve()
    output_dir = check_output_dir(output_dir, project_root=config.root, content_dir=content_dir)
    if not content_dir.is_dir():
        raise BroadsheetError("content folder not found", path=str(content_dir))
    env = make_environment(templates_dir)
    jobs = options.jobs or default_jobs()

    with build_lock(output_dir):
        recover(output_dir)
        markdown, assets = scan(content_dir)
        cache_file = cache_path_for(config, content_dir, output_dir) if options.cache else None
        cache = BuildCache(cache_file) if cache_file else None
        with cache or _NullContext():
            stamp = input_stamp(markdown, assets, templates_dir, config, options, output_dir)
            if cache and cache.get("stamp") == stamp and (last := cache.blob("last")):
                # Nothing the site is made of has changed since the last clean build: nothing to do.
                articles_count, files = last
                stats = WriteStats(files, 0, files, 0, swapped=False)
                return BuildResult(articles_count, stats, time.perf_counter() - started)
            articles, facts, fresh_html, errors, parsed = load_content(
                markdown, config.tz, cache, options.executor, jobs, progress
            )
            site, index_errors = build_site(articles, drafts=options.drafts, assets=(a.rel for a in assets))
            errors += index_errors
            if errors and not options.keep_going:
                failed = sorted(errors, key=lambda e: (e.path or "", e.line or 0))
                record_failed_build(output_dir, [str(e) for e in failed])  # so publish refuses the old pages
                raise BuildFailed(failed)
            html_of = HtmlStore(fresh_html, cache_file)
            renderer = Renderer(site, config, env, facts, html_of)
            extras = {"precompress": options.precompress, "errors": [str(e) for e in errors]}
            try:
                stats, rendered = _render_and_write(
                    site, renderer, cache, templates_dir, content_dir, output_dir, jobs, progress, **extras
                )
            except MissingOutput:
                # Someone changed files in the output folder: forget what we knew and render everything.
                stats, rendered = _render_and_write(
                    site, renderer, None, templates_dir, content_dir, output_dir, jobs, progress, **extras
                )
            except BroadsheetError as exc:  # a template error: publish must not send the older pages either
                record_failed_build(output_dir, [str(exc)])
                raise
            if cache:
                # Only a build without errors may be skipped next time: a failed file must be retried.
                fresh_stamp = input_stamp(markdown, assets, templates_dir, config, options, output_dir)
                cache.set("stamp", None if errors else fresh_stamp)
                cache.set_blob("last", (len(site.articles), stats.files))
    return BuildResult(len(site.articles), stats, time.perf_counter() - started, rendered, parsed, errors)


def input_stamp(
    markdown: list[SourceFile],
    assets: list[SourceFile],
    templates_dir: Path,
    config: SiteConfig,
    options: BuildOptions,
    output_dir: Path,
) -> str:
    """A hash of every input's stat signature, the settings, Broadsheet's code and the output manifest."""
    digest = hashlib.blake2b(digest_size=16)
    for group in (markdown, assets):
        for f in group:
            digest.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode())
    digest.update(b"templates\n")
    for path in sorted(templates_dir.rglob("*")):
        st = path.stat()
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    settings = {f.name: getattr(config, f.name) for f in fields(config)}
    digest.update(repr(sorted(settings.items())).encode())
    digest.update(repr((options.drafts, options.keep_going, options.precompress)).encode())
    digest.update(code_fingerprint().encode())
    try:
        st = (output_dir / MANIFEST).stat()
        digest.update(f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}".encode())
    except FileNotFoundError:
        digest.update(b"no output")
    return digest.hexdigest()


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _render_and_write(
    site: Site,
    renderer: Renderer,
    cache: BuildCache | None,
    templates_dir: Path,
    content_dir: Path,
    output_dir: Path,
    jobs: int,
    progress: Progress,
    *,
    precompress: bool = False,
    errors: Sequence[str] = (),
) -> tuple[WriteStats, int]:
    config = renderer.config
    fingerprints = Fingerprinter(global_fingerprint(config, templates_dir, renderer.site_globals))
    finder = CachedRelated(
        site, config.related_count, renderer.tag_slugs(), fingerprints, cache.blob("related") if cache else None
    )
    pages = list(renderer.pages(finder))
    feeds = feed_specs(site, config)
    known = cache.pages() if cache else {}
    manifest = read_manifest(output_dir) if cache else {}

    kept: list[Output] = []
    keys: dict[str, str] = {}
    todo: list[_Job] = []
    candidates = [("page", i, output_path(p.url), p.template, p.context) for i, p in enumerate(pages)]
    candidates += [("feed", i, f.url, "atom", {"title": f.title, "articles": f.articles}) for i, f in enumerate(feeds)]
    for kind, index, path, template, context in candidates:
        key = fingerprints.key(path, template, context)
        keys[path] = key
        old = known.get(path)
        if old and old[0] == key and manifest.get(path) == old[1]:
            kept.append(Output(path, keep=old[1]))
        else:
            todo.append((kind, index))
    plan = _RenderPlan(renderer, pages, feeds)
    html_urls = [p.url for p in pages if p.url != "404.html"]

    def stream() -> Iterator[Output]:
        """Every output in a stable order, rendered as the writer asks for it: never all in memory."""
        yield from kept
        for path, data in render_changed(plan, todo, jobs, progress):
            yield Output(path, data)
        yield Output("sitemap.xml", sitemap(config, html_urls, site))
        yield Output("robots.txt", f"User-agent: *\nAllow: /\n\nSitemap: {config.site_url}sitemap.xml\n".encode())
        yield from static_outputs(site, templates_dir, content_dir)
        # Reader (issue 8): web app files at the site root, and the search index.
        yield from webapp_outputs(config, templates_dir)
        summaries = {a.path: renderer.summary(a) for a in site.articles}
        for path, data in search_files(site, renderer.facts, summaries, base_path=config.base_path):
            yield Output(path, data)

    # Cache rules for Netlify / Cloudflare Pages (issue 7) come last: they name every file.
    outputs = with_headers(stream())
    if precompress:
        outputs = hosting_precompress(outputs, previous=read_manifest(output_dir), output_dir=output_dir)
    stats = write_site(outputs, output_dir, errors=errors)
    if cache:
        cache.replace_pages([(path, key, stats.digests[path]) for path, key in keys.items()])
        cache.set_blob("related", finder.answers)
    return stats, len(todo)


def with_headers(outputs: Iterable[Output]) -> Iterator[Output]:
    """The outputs, then a `_headers` file with cache rules for them (unless content brings its own)."""
    seen: list[str] = []
    immutable: set[str] = set()
    for item in outputs:
        seen.append(item.path)
        if item.immutable:
            immutable.add(item.path)
        yield item
    if HEADERS_FILE not in seen:
        yield Output(HEADERS_FILE, headers_file(seen, immutable))


class CachedRelated:
    """Related stories, remembered between builds. An article's answer depends only on the members
    of its tags, so it is reused while the fingerprints of those tags are unchanged."""

    def __init__(
        self,
        site: Site,
        count: int,
        tag_slugs: dict[str, tuple[str, ...]],
        fingerprints: Fingerprinter,
        known: dict[str, tuple[bytes, tuple[str, ...]]] | None,
    ) -> None:
        self.count = count
        self.tag_slugs = tag_slugs
        self.fingerprints = fingerprints
        self.tags = {t.slug: t for t in site.tags}
        self.by_path = {a.path: a for a in site.articles}
        self.known = known or {}
        self.answers: dict[str, tuple[bytes, tuple[str, ...]]] = {}

    def __call__(self, article: Article) -> list[Article]:
        slugs = self.tag_slugs[article.path]
        parts = [str(self.count).encode()] + [self.fingerprints.group(self.tags[s]) for s in slugs]
        key = hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()
        hit = self.known.get(article.path)
        if hit and hit[0] == key and all(p in self.by_path for p in hit[1]):
            found = [self.by_path[p] for p in hit[1]]
        else:
            found = related(article, self.tags, self.count, slugs)
        self.answers[article.path] = (key, tuple(a.path for a in found))
        return found

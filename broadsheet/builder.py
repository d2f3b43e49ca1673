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

from broadsheet.cache import CACHE_DIR, BuildCache, CachedHtml, code_fingerprint
from broadsheet.config import SiteConfig
from broadsheet.deps import Fingerprinter, global_fingerprint
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.executors import default_jobs
from broadsheet.feeds import feed_specs, sitemap
from broadsheet.hosting import HEADERS_FILE, headers_file
from broadsheet.hosting import precompress as hosting_precompress
from broadsheet.load import SourceFile, build_site, scan
from broadsheet.model import Site
from broadsheet.parse_stage import load_content
from broadsheet.render import Output, Renderer, make_environment, static_outputs
from broadsheet.render_stage import CachedRelated, Job, RenderPlan, render_changed
from broadsheet.search_index import search_files, search_fingerprint
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
            html_of = CachedHtml(fresh_html, cache_file)
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
    todo: list[Job] = []
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
    plan = RenderPlan(renderer, pages, feeds)
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
        yield from search_outputs()

    search_key = search_fingerprint(site, config.base_path)
    known_search = cache.blob("search") if cache else None
    search_paths: list[str] = []

    def search_outputs() -> Iterator[Output]:
        """The search index, kept as it is while no article changed (e.g. after a template edit)."""
        if (
            known_search
            and known_search[0] == search_key
            and all(manifest.get(path) == digest for path, digest in known_search[1].items())
        ):
            for path, digest in known_search[1].items():
                search_paths.append(path)
                yield Output(path, keep=digest)
            return
        summaries = {a.path: renderer.summary(a) for a in site.articles}
        for path, data in search_files(site, renderer.facts, summaries, base_path=config.base_path):
            search_paths.append(path)
            yield Output(path, data)

    # Cache rules for Netlify / Cloudflare Pages (issue 7) come last: they name every file.
    outputs = with_headers(stream())
    if precompress:
        outputs = hosting_precompress(outputs, previous=read_manifest(output_dir), output_dir=output_dir)
    stats = write_site(outputs, output_dir, errors=errors)
    if cache:
        cache.replace_pages([(path, key, stats.digests[path]) for path, key in keys.items()])
        cache.set_blob("related", finder.answers)
        cache.set_blob("search", (search_key, {path: stats.digests[path] for path in search_paths}))
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

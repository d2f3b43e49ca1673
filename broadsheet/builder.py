"""The build as one top-down recipe: load everything, plan every page, render what changed, write once.

content/ --scan/stat--> cached or freshly parsed Articles (+ Markdown rendered in parallel)
         --index-->     Site
         --plan-->      pages and feeds, each with a fingerprint of its inputs
         --render-->    only pages whose fingerprint changed (in parallel)
         --write-->     staging tree swapped in atomically; unchanged files hard-linked

After an edit that keeps the site's structure, edit_build.py does it quicker: it patches the last
build's site model instead of loading, indexing and planning everything.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from sys import intern

from broadsheet.cache import (
    CACHE_DIR,
    BuildCache,
    CachedBodies,
    RelatedAnswers,
)
from broadsheet.config import SiteConfig
from broadsheet.deps import (
    Fingerprinter,
    global_fingerprint,
    structure_key,
    template_digests,
)
from broadsheet.edit_build import forget_snapshot, quick_rebuild, save_snapshot
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.executors import default_jobs, release_free_memory
from broadsheet.feeds import feed_specs, sitemap_files
from broadsheet.guards import check_output_dir
from broadsheet.hosting import precompress as hosting_precompress
from broadsheet.hosting import with_headers
from broadsheet.input_stamps import input_stamp, settings_stamp, with_output
from broadsheet.load import build_site, scan
from broadsheet.locks import build_lock
from broadsheet.manifest import manifest_signature, record_failed_build
from broadsheet.model import Site
from broadsheet.output import Output, Placed
from broadsheet.page_records import PageRecords
from broadsheet.pages import PagePlan
from broadsheet.parse_stage import load_content
from broadsheet.render import Renderer, make_environment, static_outputs
from broadsheet.render_stage import (
    CachedRelated,
    Job,
    LeanSetup,
    RenderPlan,
    lean_workers,
    own_paths,
    render_changed,
    render_order,
)
from broadsheet.search_stage import SearchOutputs
from broadsheet.spare_fill import SpareFill, SpareLag
from broadsheet.stale_pages import choose_renders
from broadsheet.swap import recover
from broadsheet.webapp import webapp_outputs
from broadsheet.write import MissingOutput, SpareTree, WriteStats

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
    # After a full build: its spare tree made like the live one meanwhile (spare_fill.SpareFill). The
    # preview server copies it instead, between builds (spare_fill.settle_spare).
    fill_spare: bool = True


@dataclass(frozen=True)
class BuildResult:
    articles: int
    stats: WriteStats
    seconds: float
    rendered_pages: int = 0
    parsed_files: int = 0
    errors: list[BroadsheetError] = field(default_factory=list)
    fingerprinted_pages: int = 0  # pages whose inputs were hashed: all of them, unless only content changed
    rendered: tuple[str, ...] = ()  # output paths of the pages and feeds rendered
    quick: bool = False  # the site model was patched, not made (edit_build.py)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def cache_path_for(config: SiteConfig, content_dir: Path, output_dir: Path) -> Path:
    key = hashlib.blake2b(f"{content_dir}\0{output_dir}\0{config.timezone}".encode(), digest_size=8).hexdigest()
    return config.root / CACHE_DIR / f"build-{key}.sqlite"


def build(config: SiteConfig, options: BuildOptions = BuildOptions(), progress: Progress = _no_progress) -> BuildResult:
    """Build the site. Raises BuildFailed on input errors (unless keep_going) and leaves the
    previous output untouched; with keep_going, builds what it can and returns the errors."""
    try:
        return _build(config, options, progress)
    except BrokenExecutor as exc:
        # The kernel's out-of-memory killer, or a signal: the spare tree was never swapped in.
        raise BroadsheetError(
            "a worker process of the build stopped unexpectedly (killed, or out of memory?); the site was left "
            "as it was. Build again, or with --jobs 1 to build in one process"
        ) from exc


def _build(config: SiteConfig, options: BuildOptions, progress: Progress) -> BuildResult:
    started = time.perf_counter()
    if options.base_url:
        config = replace(config, base_url=options.base_url)
    content_dir = (options.content_dir or config.path("content_dir")).resolve()
    output_dir = (options.output_dir or config.path("output_dir")).resolve()
    templates_dir = (options.templates_dir or config.path("templates_dir")).resolve()
    output_dir = check_output_dir(output_dir, project_root=config.root, content_dir=content_dir)
    if not content_dir.is_dir():
        raise BroadsheetError("content folder not found", path=str(content_dir))
    bytecode_dir = config.root / CACHE_DIR / "templates" if options.cache else None
    env = make_environment(templates_dir, bytecode_dir)
    jobs = options.jobs or default_jobs()

    # `background`: processes beside the build (the lean render workers, and the spare fill it leaves working,
    # spare_fill.SpareFill), ended or waited for before the lock is let go.
    with build_lock(output_dir) as lock, _collector_paused(), contextlib.ExitStack() as background:
        recover(output_dir)
        cache_file = cache_path_for(config, content_dir, output_dir) if options.cache else None
        # Bodies in the cache (not only in memory): render workers can be lean, forked before the
        # content is even listed. Shut down after the render, or at once when there is nothing to
        # render or a quick rebuild begins, which renders in this process (see `quick_begins`).
        lean_setup = LeanSetup(config, templates_dir, bytecode_dir, cache_file) if cache_file else None
        early = background.enter_context(contextlib.ExitStack())
        lean = early.enter_context(lean_workers(lean_setup, jobs)) if lean_setup else None

        def quick_begins() -> None:
            nonlocal lean
            early.close()  # held beside the site model, they would add to a quick rebuild's peak
            lean = None

        markdown, assets = scan(content_dir)
        cache = BuildCache(cache_file) if cache_file else None
        with cache or contextlib.nullcontext():
            settings = settings_stamp(
                assets, templates_dir, config, (options.drafts, options.keep_going, options.precompress)
            )
            inputs = input_stamp(markdown, settings)
            stamp = with_output(inputs, output_dir)
            if cache and cache.get("stamp") == stamp and (last := cache.blob("last")):
                # Nothing the site is made of has changed since the last clean build: nothing to do.
                articles_count, files = last
                stats = WriteStats(files, 0, files, 0, swapped=False)
                return BuildResult(articles_count, stats, time.perf_counter() - started)
            if cache and not options.precompress:
                try:
                    quick = quick_rebuild(
                        cache,
                        markdown,
                        settings,
                        output_dir,
                        config,
                        lambda site, bodies: Renderer(site, config, env, bodies.facts, bodies),
                        templates_dir,
                        options.drafts,
                        quick_begins,
                    )
                except BroadsheetError as exc:  # a template error: as in a full build
                    record_failed_build(output_dir, [str(exc)])
                    raise
                if quick is not None:
                    cache.set("stamp", with_output(inputs, output_dir))
                    cache.set_blob("last", (len(quick.site.articles), quick.stats.files))
                    return BuildResult(
                        len(quick.site.articles),
                        quick.stats,
                        time.perf_counter() - started,
                        rendered_pages=len(quick.rendered),
                        parsed_files=quick.parsed,
                        fingerprinted_pages=len(quick.rendered),
                        rendered=quick.rendered,
                        quick=True,
                    )
                if lean is None and lean_setup is not None:  # a quick rebuild began, then gave up
                    lean = background.enter_context(lean_workers(lean_setup, jobs))  # forked now: the first were ended
            if cache:
                cache.read_ahead()  # a full build reads most of it
            articles, fresh, errors, parsed = load_content(markdown, config.tz, cache, options.executor, jobs, progress)
            site, index_errors = build_site(articles, drafts=options.drafts, assets=(a.rel for a in assets))
            errors += index_errors
            if errors and not options.keep_going:
                failed = sorted(errors, key=lambda e: (e.path or "", e.line or 0))
                record_failed_build(output_dir, [str(e) for e in failed])  # so publish refuses the old pages
                raise BuildFailed(failed)
            bodies = CachedBodies(fresh, cache_file)
            renderer = Renderer(site, config, env, bodies.facts, bodies)
            extras = {
                "precompress": options.precompress,
                "errors": [str(e) for e in errors],
                "lean": lean,
                # Started once the site is swapped in, waited for before the lock is let go.
                "start_spare_fill": (lambda lag: background.enter_context(SpareFill(output_dir, lock, lag)))
                if options.fill_spare
                else None,
            }
            records_kept = cache is not None
            try:
                with cache.undone_if_failed() if cache else contextlib.nullcontext():
                    stats, rendered, checked = _render_and_write(
                        site, renderer, bodies, cache, templates_dir, content_dir, output_dir, jobs, progress, **extras
                    )
            except MissingOutput:
                # Someone changed files in the output folder: forget what we knew and render everything.
                records_kept = False
                stats, rendered, checked = _render_and_write(
                    site, renderer, bodies, None, templates_dir, content_dir, output_dir, jobs, progress, **extras
                )
            except BroadsheetError as exc:  # a template error: publish must not send the older pages either
                record_failed_build(output_dir, [str(exc)])
                raise
            if cache:
                # Only a build without errors may be skipped next time: a failed file must be retried.
                cache.set("stamp", None if errors else with_output(inputs, output_dir))
                cache.set_blob("last", (len(site.articles), stats.files))
                if records_kept and not errors and not options.precompress:
                    save_snapshot(cache, settings, manifest_signature(output_dir), markdown, site)
                else:  # the cache's page records may not describe this output: no quick rebuild after it
                    forget_snapshot(cache)
    seconds = time.perf_counter() - started
    return BuildResult(len(site.articles), stats, seconds, len(rendered), parsed, errors, checked, rendered)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading and planning make hundreds of thousands of long-lived objects and no reference
    cycles; the garbage collector would walk all of them again and again (a third of the time of a
    small rebuild), so it is off until the render stage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Everything the build made goes to the oldest generation in one step (freezing resets the
        # count of new objects, unfreezing puts them all there), not left counted as new: then the
        # collector's first pass after the build would walk every object a quick rebuild loaded,
        # 0.26 s at 100,000 articles, just before the command exits.
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _render_and_write(
    site: Site,
    renderer: Renderer,
    bodies: CachedBodies,
    cache: BuildCache | None,
    templates_dir: Path,
    content_dir: Path,
    output_dir: Path,
    jobs: int,
    progress: Progress,
    *,
    lean: Executor | None = None,
    precompress: bool = False,
    errors: Sequence[str] = (),
    start_spare_fill: Callable[[SpareLag | None], object] | None = None,
) -> tuple[WriteStats, tuple[str, ...], int]:
    config = renderer.config
    templates = template_digests(templates_dir)
    fingerprints = Fingerprinter(global_fingerprint(config, templates, renderer.site_globals))
    finder = CachedRelated(
        site, config.related_count, renderer.tag_slugs, fingerprints, RelatedAnswers(cache.path) if cache else None
    )
    pages = renderer.page_plan(finder)  # the article pages made as they are asked for
    feeds = feed_specs(site, config)
    tree = SpareTree(output_dir)  # reads the live tree's manifest, which the plan compares with too
    manifest = tree.live if cache else {}
    state = f"{fingerprints.global_key.decode()}:{structure_key(site)}"
    built = cache.built_digests() if cache else {}
    # The articles new or changed since the last successful build and the paths it had that are gone,
    # for this build's records: picked out now rather than holding every digest of that build through
    # the render (a template change, which changes none, held them all; see `gone` below).
    built_new = [a for a in site.articles if built.get(a.path) != a.digest]
    built_gone = list(built.keys() - {a.path for a in site.articles}) if built else []
    # Articles whose content changed since the last successful build, when nothing else did: then
    # only the pages that depend on them can differ from what that build wrote (see deps.py).
    changed = (
        {a.path for a in built_new}
        if cache and cache.get("built") == state and len(built) == len(site.articles)
        else None
    )
    del built

    # Contexts for fingerprints are made afresh, not kept on the pages: comparing every page would
    # otherwise hold every page's lists until the build ends. The few pages rendered make theirs again.
    # Paths interned: the same objects as in the manifests and the cache's records (manifest.files_of, cache).
    paths = [intern(path) for path in pages.paths()] + [f.url for f in feeds]
    global_key = fingerprints.global_key.decode()
    kept, todo, fresh_records, fingerprinted, everything, gone = choose_renders(
        cache, pages, feeds, paths, fingerprints, manifest, changed, templates
    )
    # Every page rendered (cold, or the settings or a template most pages use changed): the workers
    # make the fingerprints, for the next build, along with the pages, and find the related stories.
    plan_fingerprints, plan_related = (fingerprints if cache else None, finder) if everything else (None, None)
    # Compressed copies are made from the bytes on their way to the writer: then pages are not placed early.
    plan = RenderPlan(
        renderer, pages, feeds, plan_fingerprints, plan_related, None if precompress else tree, lean, finder.by_path
    )
    todo = render_order(pages.entries_date, todo)
    search = SearchOutputs(site, renderer, bodies.terms, cache, manifest, output_dir, changed)
    if lean is not None and not precompress:
        search.start_elsewhere(lean, tree)
    records = PageRecords(cache, fresh_records, finder.answers, len(todo), len(paths))
    sitemaps: list[str] = []  # the sitemap's files

    def stream(kept: list[Output], plan: RenderPlan, todo: Sequence[Job], pages: PagePlan) -> Iterator[Output]:
        """Every output in a stable order, rendered as the writer asks for it: never all in memory.
        (What only it needs comes as arguments, to be let go of when it is done: see below.)"""
        yield from kept
        for rendered_path, data, deps, key in render_changed(plan, todo, jobs, progress):
            path = records.note(rendered_path, data, deps, key)
            yield Output(path, placed=data) if isinstance(data, Placed) else Output(path, data)
        known_maps = cache.blob("sitemaps") if changed is not None and cache else None
        if known_maps and all(manifest.get(path) == digest for path, digest in known_maps.items()):
            for path, digest in known_maps.items():  # they list pages and dates: the structure
                sitemaps.append(path)
                yield Output(path, keep=digest)
        else:
            other_urls = [url for url in pages.other_urls() if url != "404.html"]  # (the articles': the site's)
            for path, data in sitemap_files(config, site, other_urls):
                sitemaps.append(path)
                yield Output(path, data)
        # The pages' bytes and contexts (and the sitemap's text: megabytes) came and went among what
        # the build keeps: the heap's freed memory, scattered among it, is not given back by itself.
        # At 100,000 articles it gave back about 30 MB of the build process's 314 MB; a pass over the
        # heap takes a few milliseconds.
        release_free_memory()
        yield Output("robots.txt", f"User-agent: *\nAllow: /\n\nSitemap: {config.site_url}sitemap.xml\n".encode())
        yield from static_outputs(site, templates_dir, content_dir)
        # Reader (issue 8): web app files at the site root, and the search index.
        yield from webapp_outputs(config, templates_dir)
        yield from search.outputs()

    # Cache rules for Netlify / Cloudflare Pages (issue 7) come last: they name every file.
    headers_made: list[set[str]] = []
    source = stream(kept, plan, todo, pages)
    outputs = with_headers(source, headers_made)
    if precompress:
        outputs = hosting_precompress(outputs, previous=tree.live, output_dir=output_dir)
    # Everything loaded and planned so far lives until the end: no need to scan it for cycles again.
    gc.freeze()
    gc.enable()
    try:
        stats = tree.write(outputs, errors=errors)
    finally:
        # Render workers put files into the spare tree: when the writer stops early (an error), the
        # workers stop too, their batches in flight done, before anything else touches that tree.
        source.close()
        search.close()
    # What only the render needed, let go before the records are made: the plan (every page, its
    # context's maker, the lists' slices of articles) and the list entries kept for reuse. At
    # 100,000 articles the build peaked in the records after the swap, while it still held them.
    del pages, plan, todo, kept
    renderer.forget_items()
    release_free_memory()  # what they held, before the records are made: about 30 MB more at 100,000 articles
    if start_spare_fill is not None and cache is not None and not errors and not precompress:
        # A clean build, which the next edit's quick rebuild starts from: its spare tree is made
        # like the live one while this process records the build (the spare now holds the site
        # before, `tree.live`, or nothing if this build made the output folder anew).
        start_spare_fill(SpareLag.between(tree.live, stats.digests) if stats.swapped else None)
    if cache:
        digests = stats.digests
        records.store(digests, gone, own_paths(finder.by_path))
        if changed is None:
            cache.forget_related_except(finder.by_path)
        search.remember(digests)
        cache.set_blob("sitemaps", {path: digests[path] for path in sitemaps})
        # For a quick rebuild that adds or drops a search file: whether `_headers` is ours to make again.
        cache.set_blob("headers", ("made", sorted(headers_made[0])) if headers_made else ("content",))
        cache.record_built(((a.path, a.digest) for a in built_new), built_gone)
        cache.set("built", state)
        cache.set("global", global_key)
        cache.set_blob("templates", templates)
    return stats, tuple(records.rendered), fingerprinted

"""The quick rebuild after edits that keep the site's structure: the site model is patched, not made.

A clean build leaves a snapshot of its site model beside the cache: every article, indexed (the
facts of their bodies stay in the cache, read when a page asks for them). When the next build finds
only a few content files changed, each still with the same path, URL, date and memberships
(deps.structure_of) and nothing else changed (no file added or deleted, same templates, settings and
assets, the output folder as that build left it), the site has the same pages listing the same
articles in the same order. Only the pages that read an edited article (the cache's readers index)
can differ, and the search files holding its words. This build parses the edited files, swaps them
into the snapshot, renders those pages and writes only them, without loading every cached article,
indexing the site, planning every page or passing every output through the writer. Anything else is
left to the full build, which gives the same bytes (tests/test_edit_build.py).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from array import array
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from broadsheet.cache import BuildCache, CachedBodies, RelatedAnswers, dependency_string
from broadsheet.config import SiteConfig
from broadsheet.deps import Fingerprinter, global_fingerprint, structure_of, template_digests
from broadsheet.errors import BroadsheetError
from broadsheet.feeds import feed_specs
from broadsheet.hosting import HEADERS_FILE, headers_file
from broadsheet.load import ScannedFiles, SourceFile, read_source, replace_articles
from broadsheet.manifest import manifest_signature
from broadsheet.model import Article, Facts, Period, Site, Term, share_page_path
from broadsheet.output import Output
from broadsheet.parse_stage import parse_files
from broadsheet.render import Renderer
from broadsheet.render_stage import CachedRelated, RenderPlan, all_jobs
from broadsheet.search_stage import SearchOutputs
from broadsheet.urls import output_path
from broadsheet.write import MissingOutput, TreeCheck, WriteStats, write_changes

MAX_EDITED = 32  # more files changed at once: the full build, which parses them in parallel
# Articles edited since the snapshot, kept beside it; past this many, a fresh snapshot is written
# (each quick rebuild swaps them all into the site model again).
MAX_PATCHED = 64
_SNAPSHOT, _EDITS = "snapshot", "snapshot-edits"
# The snapshot's articles are pickled this many at a time. One pickle of the whole site model (the
# articles, with their facts then, and the indexes naming them) made the pickler note every object
# it wrote, to write an object met again as a reference: at 100,000 articles its table of them, and
# the state tuples it kept alive, took the build process from 239 to 363 MB while it wrote the
# snapshot, after the site was swapped in, when a cold build peaks. Each part has a pickle of its
# own (what its articles share, their tag and author names, is noted once in it), and the indexes
# name articles by position.
_SNAPSHOT_PART = 1024
_SNAPSHOT_FORMAT = 4  # the layout of the snapshot file, checked first
_SNAPSHOT_BUFFER = 1 << 16  # bytes read at a time: a pickle frame


class FileStamps(NamedTuple):
    """Every Markdown file a full build read: a digest of their paths, in order, and their sizes and
    modification times in arrays. As a dict of path -> (size, time), they took about 240 bytes a
    file in a quick rebuild (the path, the tuple, its ints, the entry, a merged copy's entry): 24 MB
    at 100,000 articles beside the site model."""

    paths: bytes
    sizes: array
    mtimes: array

    @classmethod
    def of(cls, markdown: ScannedFiles) -> FileStamps:
        return cls(_paths_digest(markdown), markdown.sizes, markdown.mtimes)  # (a scan's columns never change)

    def changed(self, markdown: ScannedFiles, edits: Mapping[str, tuple[int, int]]) -> list[SourceFile] | None:
        """The files of `markdown` whose size or time differ from these (or, for a file edited since,
        from the edit's), or None when they are not the same files."""
        if len(markdown) != len(self.sizes) or _paths_digest(markdown) != self.paths:
            return None
        sizes, mtimes = array("q", self.sizes), array("q", self.mtimes)
        for rel, (size, mtime_ns) in edits.items():
            at = bisect_left(markdown.rels, rel)
            if at == len(markdown) or markdown.rels[at] != rel:
                return None
            sizes[at], mtimes[at] = size, mtime_ns
        pairs = zip(markdown.sizes, markdown.mtimes, sizes, mtimes, strict=True)
        return [markdown[i] for i, (size, mtime_ns, was, then) in enumerate(pairs) if size != was or mtime_ns != then]


def _paths_digest(markdown: ScannedFiles) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for rel in markdown.rels:
        digest.update(rel.encode("utf-8", "surrogatepass") + b"\0")
    return digest.digest()


@dataclass(frozen=True)
class Snapshot:
    """The site model of the last full build, and what it was made from."""

    settings: str  # input_stamps.settings_stamp: templates, assets, settings, code
    files: FileStamps  # every Markdown file
    site: Site


@dataclass(frozen=True)
class Edits:
    """What quick rebuilds changed since the snapshot, and the output folder they left."""

    output: str  # manifest.manifest_signature of the output folder they left
    files: dict[str, tuple[int, int]]
    articles: dict[str, Article]
    settings: str  # the snapshot's: a build with other templates or settings need not load it


@dataclass(frozen=True)
class QuickResult:
    site: Site
    stats: WriteStats
    rendered: tuple[str, ...]
    parsed: int


def save_snapshot(
    cache: BuildCache,
    settings: str,
    output: str,
    markdown: ScannedFiles,
    site: Site,
) -> None:
    """Keep the model of a clean full build for the quick rebuilds after it.

    It goes in a file beside the cache, not in it: SQLite reads a large value page by page, several
    times slower than reading a file. A token in the cache, stored in the same transaction as the
    page records it goes with, says which snapshot file is the right one."""
    files = FileStamps.of(markdown)
    token = os.urandom(8).hex()
    target = _snapshot_file(cache)
    staged = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    articles = site.articles
    try:
        # Written as it is pickled (never all in memory: 55 MB at 100k articles), in parts (see
        # `_SNAPSHOT_PART`): the header, the articles a part at a time, then the indexes, which name
        # each article by its position.
        with open(staged, "wb") as handle:
            pickle.dump((_SNAPSHOT_FORMAT, token, settings, files, len(articles)), handle, pickle.HIGHEST_PROTOCOL)
            for start in range(0, len(articles), _SNAPSHOT_PART):
                pickle.dump(articles[start : start + _SNAPSHOT_PART], handle, pickle.HIGHEST_PROTOCOL)
            pickle.dump(_indexes(site), handle, pickle.HIGHEST_PROTOCOL)
        os.replace(staged, target)
    except BaseException:
        staged.unlink(missing_ok=True)  # no half-written file left beside the cache
        raise
    cache.set(_SNAPSHOT, token)
    cache.set_blob(_EDITS, Edits(output, {}, {}, settings))


def forget_snapshot(cache: BuildCache) -> None:
    """After a build that did not leave a clean site: the next one must be a full build."""
    cache.set(_SNAPSHOT, None)
    cache.set_blob(_EDITS, None)


def _snapshot_file(cache: BuildCache) -> Path:
    return cache.path.with_name(cache.path.name + ".snapshot")


def _load_snapshot(cache: BuildCache) -> Snapshot | None:
    token = cache.get(_SNAPSHOT)
    if token is None:
        return None
    try:
        # Unpickled from the open file, a frame (64 kB) at a time, not from a copy of the whole file
        # read first (59 MB at 100,000 articles): since the file is in parts, that is no slower.
        with open(_snapshot_file(cache), "rb", buffering=_SNAPSHOT_BUFFER) as stream:
            form, found, settings, files, count = pickle.load(stream)
            if form != _SNAPSHOT_FORMAT or found != token:
                return None
            articles: list[Article] = []
            while len(articles) < count:
                part = pickle.load(stream)
                # The manifests, read first (quick_rebuild's TreeCheck), name each article's page:
                # the article holds their string, not a copy (10 MB at 100,000 articles).
                for article in part:
                    share_page_path(article)
                articles += part
            site = _indexed(tuple(articles), *pickle.load(stream))
        return Snapshot(settings, files, site)
    except Exception:  # noqa: BLE001 - unreadable in any way, or from another version: a full build makes a new one
        return None


def _indexes(site: Site) -> tuple[list, list, tuple[str, ...]]:
    """The site's indexes as plain data, each group's articles as their positions in `site.articles`
    (which every index is made from: load.build_site, load.replace_articles)."""
    position = {id(article): i for i, article in enumerate(site.articles)}

    def positions(articles: tuple[Article, ...]) -> array:
        return array("l", [position[id(article)] for article in articles])

    terms = [
        [(t.kind, t.slug, t.name, positions(t.articles)) for t in group]
        for group in (site.tags, site.sources, site.authors)
    ]
    periods = [
        [(p.year, p.month, p.day, positions(p.articles)) for p in group]
        for group in (site.years, site.months, site.days)
    ]
    return terms, periods, site.assets


def _indexed(articles: tuple[Article, ...], terms: list, periods: list, assets: tuple[str, ...]) -> Site:
    """The site that `_indexes` gave, on these articles."""

    def members(at: array) -> tuple[Article, ...]:
        # One C call per group (a site's groups hold eight or so references an article): through
        # `map(articles.__getitem__, at)`, this took 8-15 ms of the 60-70 ms load at 10,000 articles.
        return itemgetter(*at)(articles) if len(at) > 1 else tuple(articles[i] for i in at)

    tags, sources, authors = (tuple(Term(k, slug, name, members(at)) for k, slug, name, at in g) for g in terms)
    years, months, days = (tuple(Period(y, m, d, members(at)) for y, m, d, at in g) for g in periods)
    return Site(articles, tags, sources, authors, years, months, days, assets)


def quick_rebuild(
    cache: BuildCache,
    markdown: ScannedFiles,
    settings: str,
    output_dir: Path,
    config: SiteConfig,
    make_renderer: Callable[[Site, CachedBodies], Renderer],
    templates_dir: Path,
    drafts: bool,
    begins: Callable[[], None] = lambda: None,
) -> QuickResult | None:
    """Rebuild after edits that keep the site's structure, or None (nothing written, nothing
    stored) when this build is not one of those. `begins` is called once the cheap checks have
    passed, before the snapshot is loaded."""
    edits: Edits | None = cache.blob(_EDITS)
    # Checked before anything costs time: a template or settings change (a full build) loads no
    # snapshot and looks at no tree.
    if edits is None or edits.settings != settings or edits.output != manifest_signature(output_dir):
        return None
    begins()
    check = TreeCheck(output_dir)  # looks at both trees meanwhile
    try:
        return _rebuild(cache, edits, check, markdown, settings, config, make_renderer, templates_dir, drafts)
    finally:
        check.close()


def _rebuild(
    cache: BuildCache,
    edits: Edits,
    check: TreeCheck,
    markdown: ScannedFiles,
    settings: str,
    config: SiteConfig,
    make_renderer: Callable[[Site, CachedBodies], Renderer],
    templates_dir: Path,
    drafts: bool,
) -> QuickResult | None:
    output_dir = check.output
    snapshot = _load_snapshot(cache)
    if snapshot is None or snapshot.settings != settings:
        return None
    edited = snapshot.files.changed(markdown, edits.files)
    if not edited or len(edited) > MAX_EDITED:
        return None

    parsed = _parse(edited, config.timezone)
    if parsed is None:
        return None
    # The edited files' articles as they were (not a map of every article: 4 MB at 100,000).
    before = {a.path: a for a in snapshot.site.articles if a.path in parsed}
    patched = {**edits.articles}
    fresh: dict[str, tuple[str, str, Facts]] = {}
    for rel, (article, facts, html, terms) in parsed.items():
        old = before.get(rel)
        if old is None or structure_of(old) != structure_of(article) or (article.draft and not drafts):
            return None
        patched[rel] = article
        fresh[article.digest] = (html, terms, facts)
    site = replace_articles(snapshot.site, patched)
    bodies = CachedBodies(fresh, cache.path)
    renderer = make_renderer(site, bodies)
    changed = set(parsed)

    manifest = check.live
    search = SearchOutputs(site, renderer, bodies.terms, cache, manifest, output_dir, changed)
    changes = [o for o in search.outputs() if o.keep is None]
    if search.made_again or search.known is None:
        return None  # made again from every article's terms, read from the cache: a full build's work
    gone = set(search.known[1]) - set(search.paths)
    if gone or len(search.paths) != len(search.known[1]):
        # A search file appears or goes, so `_headers`, which names every file, may change.
        headers = cache.blob("headers")
        if headers is None:
            return None
        if headers[0] == "made":
            paths = {p for p in manifest if p not in gone} | set(search.paths)
            changes.append(Output(HEADERS_FILE, headers_file(paths, set(headers[1]))))
    dirty = cache.pages_reading(changed)
    fingerprints = Fingerprinter(global_fingerprint(config, template_digests(templates_dir), renderer.site_globals))
    finder = CachedRelated(site, config.related_count, renderer.tag_slugs, fingerprints, RelatedAnswers(cache.path))
    # A page at URL u is written to u or u + "index.html" (urls.output_path).
    urls = {path.removesuffix("index.html") for path in dirty} | dirty
    pages = [p for p in renderer.pages(finder, only=urls) if output_path(p.url) in dirty]
    feeds = [f for f in feed_specs(site, config) if f.url in dirty]
    if len(pages) + len(feeds) != len(dirty):
        return None  # the readers index names a page this site does not have
    rendered = RenderPlan(renderer, pages, feeds, fingerprints, finder).run(all_jobs(len(pages), len(feeds)))

    changes += [Output(path, data) for path, data, _, _ in rendered]
    try:
        stats = write_changes(changes, check, gone)
    except MissingOutput:
        return None  # a file of the live site is gone: the full build finds out which
    by_rel = {f.rel: f for f in edited}
    cache.store_articles((rel, by_rel[rel].size, by_rel[rel].mtime_ns, a) for rel, (a, *_) in parsed.items())
    cache.store_rendered((a.digest, html, terms, f) for a, f, html, terms in parsed.values())
    digests = stats.digests
    cache.store_pages((path, key or "", digests[path], dependency_string(deps)) for path, _, deps, key in rendered)
    search.remember(digests)
    cache.record_built(((p, a.digest) for p, (a, *_) in parsed.items()), ())
    if len(patched) >= MAX_PATCHED:
        save_snapshot(cache, settings, manifest_signature(output_dir), markdown, site)
    else:
        signatures = {**edits.files, **{f.rel: (f.size, f.mtime_ns) for f in edited}}
        cache.set_blob(_EDITS, Edits(manifest_signature(output_dir), signatures, patched, settings))
    return QuickResult(site, stats, tuple(path for path, *_ in rendered), len(parsed))


def _parse(edited: list[SourceFile], timezone: str) -> dict[str, tuple[Article, Facts, str, str]] | None:
    """The edited files parsed, or None if any has an error: the full build reports it."""
    items = []
    for source in edited:
        try:
            items.append((source.rel, read_source(source)))
        except (BroadsheetError, OSError):
            return None
    results = parse_files(items, timezone)
    if any(error is not None for _, _, error in results):
        return None
    return {rel: found for rel, found, _ in results}

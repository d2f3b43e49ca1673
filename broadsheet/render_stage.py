"""The render stage: pages whose fingerprint changed are rendered, in worker processes too.

With a build cache, the render worker is lean: forked before the content folder is even listed, it
holds none of the site. It renders the article pages and the feeds, whose contexts are small (an
article, its neighbours, its related stories; a feed's newest articles): each batch brings them,
made here; the articles' bodies and facts are read from the cache. This process renders the rest
(lists, periods), and shipped batches too whenever it has nothing else to do. A forked worker would
inherit the site instead, and every page of memory that either process writes after the fork
(CPython's reference counts write to every object read) is then held twice: at 100,000 articles the
worker held a second copy of most of the site model.
Without a cache, where bodies exist only in this process's memory, the worker is forked after the
site is planned and receives page numbers.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import pickle
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from sys import intern
from typing import Any, NamedTuple

from broadsheet.cache import CachedBodies
from broadsheet.config import SiteConfig
from broadsheet.deps import Fingerprinter
from broadsheet.executors import ForkedWorkers, chunked, fork_pool
from broadsheet.feeds import FeedSpec, atom_feed
from broadsheet.model import Article, Site
from broadsheet.output import Placed
from broadsheet.pages import Page, RelatedIndex
from broadsheet.render import Renderer, make_environment
from broadsheet.urls import output_path
from broadsheet.write import SparePart

Progress = Callable[[str, int, int], None]
_RENDER_CHUNK = 64  # pages per batch; the parent holds a few finished ones (~1 MB each with their bytes)
# Batches shipped to each lean worker and not yet back. They are shipped only between this process's
# own batches, each of which takes as long as two or three of a worker's: with fewer waiting, the
# worker runs dry. (Their related stories are found as they are shipped: so many batches ahead.)
_SHIPPED_AHEAD = 6


# A page to render, by its index in the plan's pages, or a feed, by its index in the feeds as ~index
# (negative): a plain int, which a build keeps in an array of them, one for every page of the site
# (8 bytes a page, where a tuple of a kind and an index took 94 with its int, by tracemalloc).
Job = int


def all_jobs(pages: int, feeds: int) -> array[int]:
    """Every page and then every feed of a plan with that many, as jobs."""
    jobs = array("q", range(pages))
    jobs.extend(~i for i in range(feeds))
    return jobs


# output path, bytes (or where they went, for a plan that places them), paths of the articles it
# depends on, and its fingerprint when the plan makes them
Rendered = tuple[str, bytes | Placed, set[str], str | None]


@dataclass(frozen=True)
class LeanSetup:
    """What a lean worker starts from: enough to make the same template environment and renderer
    as the build's, and to read bodies from the cache."""

    config: SiteConfig
    templates_dir: Path
    bytecode_dir: Path | None
    cache_path: Path


class Shipment(NamedTuple):
    """A batch for a lean worker (`RenderPlan.ship`)."""

    articles: dict[str, Article]  # those the batch's pages name, by path
    # (url, template, context) of each page, or a feed's FeedSpec, pickled with articles as references into `articles`
    contexts: bytes
    part: SparePart | None  # the spare tree's entries for the batch's files
    site_globals: dict[str, Any]  # what templates see as `site`: it depends on the site
    global_key: str | None  # the fingerprints' key, when the worker makes them


class RenderPlan:
    """What to render. With `fingerprints`, each page is also fingerprinted where it is rendered
    (a build that renders every page has no use for the keys before): in the workers, in parallel,
    and its context (related stories, lists) is made there and only there (for an article page sent
    to a lean worker: here, as it is sent). With `tree` (the spare tree, or a batch's part of it),
    each file is put into the output tree where it is rendered too: a worker's bytes are neither
    sent back to the build process nor hashed and written there, which would leave that process the
    busiest of all."""

    def __init__(
        self,
        renderer: Renderer,
        pages: Sequence[Page],
        feeds: list[FeedSpec],
        fingerprints: Fingerprinter | None = None,
        related: CachedRelated | None = None,
        tree: SparePart | None = None,
        lean: Executor | None = None,
        by_path: Mapping[str, Article] | None = None,
    ) -> None:
        self.renderer = renderer
        self.pages = pages
        self.feeds = feeds
        self.fingerprints = fingerprints
        self.related = related
        self.tree = tree
        self.lean = lean  # lean render workers (`lean_workers`), when the build has them
        self._by_path = by_path  # the site's articles by path, if the caller has them already

    def own_paths(self) -> Callable[[str], str]:
        """`own_paths` of the site's articles."""
        if self._by_path is None:
            self._by_path = {a.path: a for a in self.renderer.site.articles}
        return own_paths(self._by_path)

    def run(self, jobs: Sequence[Job]) -> list[Rendered]:
        return self.render([self.pages[job] if job >= 0 else self.feeds[~job] for job in jobs])

    def render(self, items: Sequence[Page | FeedSpec]) -> list[Rendered]:
        out: list[Rendered] = []
        fingerprints = self.fingerprints
        place = self.tree.place if self.tree is not None else None
        if self.tree is not None:
            self.tree.read_ahead(output_path(item.url) if isinstance(item, Page) else item.url for item in items)
        for item in items:
            key = None
            if isinstance(item, Page):
                result, deps = self.renderer.render_tracked(item)
                if fingerprints is not None:
                    key, named = fingerprints.key_and_deps(result.path, item.template, item.context)
                    deps |= named
                item.forget_context()  # made again if ever needed: memory stays flat
                path, data = result.path, result.data or b""
            else:  # a feed reads only the articles it lists, which its context names
                deps = set()
                if fingerprints is not None:
                    key, deps = fingerprints.key_and_deps(item.url, "atom", feed_context(item))
                path, data = item.url, atom_feed(self.renderer.config, self.renderer, item)
            out.append((path, place(path, data) if place is not None else data, deps, key))
        return out

    def ship(self, jobs: Sequence[Job]) -> Shipment:
        """A batch for a lean worker: self-contained pages (`Page.self_contained`) with their contexts
        (made here, then let go) and feeds, the articles they name, and the spare
        tree's entries for their files."""
        items: list[tuple[str, str, dict[str, Any]] | FeedSpec] = []
        paths: list[str] = []
        for job in jobs:
            if job >= 0:
                page = self.pages[job]
                items.append((page.url, page.template, page.context))
                paths.append(output_path(page.url))
                page.forget_context()
            else:
                feed = self.feeds[~job]
                items.append(feed)
                paths.append(feed.url)
        buffer = io.BytesIO()
        packer = _Packer(buffer)
        packer.dump(items)
        part = self.tree.part(paths) if self.tree is not None else None
        key = self.fingerprints.global_key.decode() if self.fingerprints is not None else None
        return Shipment(packer.articles, buffer.getvalue(), part, self.renderer.site_globals, key)


def render_order(entries_date: Callable[[int], datetime | None], jobs: Sequence[Job]) -> Sequence[Job]:
    """The jobs in the order to render them: the lists of articles (pages with an `entries_date`,
    which `entries_date(job)` gives for a page's job) newest first, all in the place of the first
    of them; the other jobs in plan order, which has the article pages first (newest first too).

    An article's list entry is rendered once and reused by every list that shows it
    (Renderer.item_html), and its facts are read from the cache once for all of them if they come
    close together (cache.CachedBodies.facts). In plan order its lists are far apart (tag by tag,
    each from newest to oldest, then day by day), so every entry would have to be kept until the
    last; swept by date, they come within a short stretch of the build, and the renderer keeps only
    a window of recent entries, the bodies' reader a window of recent facts."""

    swept: list[tuple[datetime, Job]] = []
    rest = array("q")
    at = None  # where in `rest` the swept lists go
    for job in jobs:
        newest = entries_date(job) if job >= 0 else None
        if newest is None:
            rest.append(job)
            continue
        if at is None:
            at = len(rest)
        swept.append((newest, job))
    if at is None:
        return rest
    swept.sort(key=lambda dated: dated[0], reverse=True)  # stable: equal dates keep plan order
    ordered = rest[:at]
    ordered.extend(job for _, job in swept)
    ordered.extend(rest[at:])
    return ordered


def feed_context(spec: FeedSpec) -> dict[str, Any]:
    """What a feed's fingerprint covers."""
    return {"title": spec.title, "articles": spec.articles}


class _Packer(pickle.Pickler):
    """Pickles contexts with each article as its path (its persistent ID), noting the articles in
    `articles`: one copy each however many pages of the batch name it."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.articles: dict[str, Article] = {}

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj) is not Article:
            return None
        self.articles.setdefault(obj.path, obj)
        return obj.path


_worker_plan: RenderPlan | None = None


def _init_worker(plan: RenderPlan) -> None:
    global _worker_plan  # one plan per worker process, set once when the worker starts
    _worker_plan = plan


@contextlib.contextmanager
def lean_workers(setup: LeanSetup, workers: int) -> Iterator[Executor | None]:
    """Render workers for a build that has not yet read its content, forked now, while this process
    holds only its code, which they share with it untouched: not the scan of the content folder,
    nor anything a quick rebuild let go of (at 100,000 articles a worker forked after the scan
    peaked at 72 MB rather than 48). Never given a task (nothing to build, a quick rebuild), they
    cost a fork each. None where there is no second core or no fork."""
    if workers <= 1 or not hasattr(os, "fork"):
        yield None
        return
    with ForkedWorkers(workers - 1, _init_lean_worker, (setup,)) as pool:
        yield pool


def _init_lean_worker(setup: LeanSetup) -> None:
    """A lean worker's plan: the build's renderer made again, without a site."""
    gc.enable()  # forked while the build has the collector off (see builder): rendering makes cycles
    env = make_environment(setup.templates_dir, setup.bytecode_dir)
    bodies = CachedBodies({}, setup.cache_path)
    _init_worker(RenderPlan(Renderer.detached(setup.config, env, bodies.facts, bodies), [], []))


Finished = tuple[list[Rendered], dict, list]  # a batch, related-story answers, list entries rendered


def _run_in_worker(jobs: Sequence[Job], items: list) -> Finished:
    """A batch, the related-story answers found for it (the parent keeps them for next time) and
    the list entries rendered for it; `items`: entries rendered elsewhere since the last batch."""
    plan = _worker_plan
    assert plan is not None
    plan.renderer.add_items(items)
    rendered = plan.run(jobs)
    answers = {}
    if plan.related is not None:
        answers, plan.related.answers = plan.related.answers, {}
    return rendered, answers, plan.renderer.take_items()


def _run_shipped(shipment: Shipment) -> list[Rendered]:
    """A batch `RenderPlan.ship` made, rendered in a lean worker (related stories were found where
    the contexts were made)."""
    plan = _worker_plan
    assert plan is not None
    plan.renderer.site_globals.update(shipment.site_globals)
    unpickler = pickle.Unpickler(io.BytesIO(shipment.contexts))
    unpickler.persistent_load = shipment.articles.__getitem__  # type: ignore[method-assign]
    batch = [entry if type(entry) is FeedSpec else Page.made(*entry) for entry in unpickler.load()]
    if shipment.global_key is not None and plan.fingerprints is None:
        plan.fingerprints = Fingerprinter(shipment.global_key)  # shipped contexts name no groups: one serves all
    plan.tree = shipment.part
    rendered = plan.render(batch)
    return rendered


def render_changed(plan: RenderPlan, jobs: Sequence[Job], workers: int, progress: Progress) -> Iterator[Rendered]:
    if not jobs:
        return
    progress("render", 0, len(jobs))
    if workers <= 1 or len(jobs) < 2 * _RENDER_CHUNK:
        for done, batch in enumerate(chunked(jobs, _RENDER_CHUNK), 1):
            yield from plan.run(batch)
            progress("render", min(done * _RENDER_CHUNK, len(jobs)), len(jobs))
        return
    if plan.lean is not None:
        yield from _render_lean(plan, plan.lean, workers - 1, jobs, progress)
        return
    plan.renderer.preload({plan.pages[job].template for job in jobs if job >= 0})
    # Frozen objects are left alone by the garbage collector, so forked workers share their memory
    # pages with this process instead of copying them.
    gc.collect()
    gc.freeze()
    own = plan.own_paths()
    # An article's list entry appears on a dozen pages, rendered by any of the processes: each
    # entry is rendered once and passed on (a few kB a batch), not rendered again by every process.
    renderer = plan.renderer
    renderer.share_items()
    relay = workers > 2  # with one worker, what it sends need not go back to it
    chunks = iter(chunked(jobs, _RENDER_CHUNK))
    # Batches in order, each rendered by a worker or here. A few are in flight, not all (as
    # Executor.map would submit): finished batches wait in memory until the writer takes them.
    slots: deque[Future[Finished]] = deque()
    held, queued = 4 * workers, 2 * (workers - 1)  # batches at most in `slots`, and given to workers
    relayed: list[tuple[tuple, bytes]] = []

    def here() -> bool:
        """Render the next batch in this process. Instead of waiting for a worker, this process
        takes a share of the pages, so one worker fewer is forked: each worker ends up with its own
        copy of most of the site's objects (touching an object writes its memory)."""
        chunk = next(chunks, None)
        if chunk is None:
            return False
        future: Future[Finished] = Future()
        future.set_result((plan.run(chunk), {}, []))
        slots.append(future)
        return True

    try:
        with fork_pool(workers - 1, _init_worker, (plan,), fork_one=True) as pool:
            done = 0
            while True:
                busy = sum(not f.done() for f in slots)
                while busy < queued and len(slots) < held and (chunk := next(chunks, None)) is not None:
                    outbox = renderer.take_items() + relayed
                    relayed = []
                    slots.append(pool.submit(_run_in_worker, chunk, outbox))
                    busy += 1
                if not slots:
                    break
                if not slots[0].done() and len(slots) < held and here():
                    continue  # the next batch is not ready: render one here meanwhile
                batch, answers, items = slots.popleft().result()
                renderer.add_items(items)
                if relay:
                    relayed += items
                yield from _received(plan, batch, answers, own)
                done += 1
                progress("render", min(done * _RENDER_CHUNK, len(jobs)), len(jobs))
    finally:
        gc.unfreeze()


def _render_lean(
    plan: RenderPlan, pool: Executor, workers: int, jobs: Sequence[Job], progress: Progress
) -> Iterator[Rendered]:
    """Article pages and feeds go to the lean workers, shipped a batch at a time with a few in flight;
    this process renders the other pages meanwhile, and shipped batches from the far end of the queue
    when it has nothing else to do. Batches come out as they are done: the writer needs no order."""
    pages = plan.pages
    shipped, kept_here = array("q"), array("q")
    for job in jobs:
        # A feed's context names its articles only: feeds are shipped too, after the article pages.
        (shipped if job < 0 or pages[job].self_contained else kept_here).append(job)
    to_ship = deque(chunked(shipped, _RENDER_CHUNK))
    mine = deque(chunked(kept_here, _RENDER_CHUNK))
    in_flight: deque[tuple[Future[list[Rendered]], list[Job]]] = deque()
    own = plan.own_paths()
    # The workers render the article pages, whose related stories need the most list entries kept;
    # this process the lists, which need a quarter as many. At 30,000 articles the build process
    # then ended the render at 102 MB against 124 MB, for about 9% more entries rendered here.
    plan.renderer.keep_items(plan.renderer.LIST_ITEMS_KEPT)
    done = 0
    try:
        while True:
            # Once this process has only shipped batches left to take too, fewer wait for the worker:
            # at the end, this process would otherwise wait idle for all of them.
            while len(in_flight) < (_SHIPPED_AHEAD if mine else 1) * workers and to_ship:
                batch = to_ship.popleft()
                in_flight.append((pool.submit(_run_shipped, plan.ship(batch)), batch))
            if in_flight and in_flight[0][0].done():
                yield from _received(plan, in_flight.popleft()[0].result(), {}, own)
            elif mine or to_ship:
                yield from plan.run(mine.popleft() if mine else to_ship.pop())
            elif in_flight and in_flight[-1][0].cancel():
                # Nothing left here, and the last batch shipped has not started: it is rendered here
                # (its contexts made again) rather than waited for.
                yield from plan.run(in_flight.pop()[1])
            elif in_flight:
                yield from _received(plan, in_flight.popleft()[0].result(), {}, own)
            else:
                break
            done += 1
            progress("render", min(done * _RENDER_CHUNK, len(jobs)), len(jobs))
    finally:
        # Stopped early (an error; the writer gave up): the batches in flight finish, or never start,
        # before anything else touches the spare tree they put files into.
        for future, _ in in_flight:
            future.cancel()
        wait([future for future, _ in in_flight])
    pool.shutdown()  # the workers are for rendering only: the search stage is lighter without them


def _received(plan: RenderPlan, batch: list[Rendered], answers: dict, own: Callable[[str], str]) -> list[Rendered]:
    if plan.related is not None:
        found_now = answers.items()
        plan.related.answers.update((own(path), (key, tuple(map(own, found)))) for path, (key, found) in found_now)
    return [(path, data, set(map(own, deps)), key) for path, data, deps, key in batch]


def own_paths(articles: Mapping[str, Article]) -> Callable[[str], str]:
    """The build's own object for a path read back (from a worker, or the cache), where a fresh
    string would come for every page that names it, all held until the build's records are
    written: an article's path as its article holds it (`articles`: by path), any other (an output
    path, which the plan interns; a template's) interned."""

    def own(path: str) -> str:
        article = articles.get(path)
        return article.path if article is not None else intern(path)

    return own


class CachedRelated:
    """Related stories, remembered between builds. An article's answer depends only on which
    articles its tags hold (not on what they say), so it is reused while those are unchanged.
    `known` looks up the answer found before (cache.RelatedAnswers); the answers found now wait
    in `answers` for whoever stores them."""

    def __init__(
        self,
        site: Site,
        count: int,
        tag_slugs: Callable[[Article], Sequence[str]],
        fingerprints: Fingerprinter,
        known: Callable[[str], tuple[bytes, Sequence[str]] | None] | None,
    ) -> None:
        self.site = site
        self.count = count
        self.tag_slugs = tag_slugs
        self.fingerprints = fingerprints
        self.tags = {t.slug: t for t in site.tags}
        self.by_path = {a.path: a for a in site.articles}
        self.index: RelatedIndex | None = None  # built on the first cache miss
        self.known = known
        self.answers: dict[str, tuple[bytes, tuple[str, ...]]] = {}

    def __call__(self, article: Article, at: int | None = None) -> list[Article]:
        """`article`'s related stories; `at`, its position in the site's articles, if known."""
        slugs = self.tag_slugs(article)
        parts = [str(self.count).encode()] + [self.fingerprints.members(self.tags[s]) for s in slugs]
        key = hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()
        hit = self.known(article.path) if self.known is not None else None
        if hit and hit[0] == key and all(p in self.by_path for p in hit[1]):
            found = [self.by_path[p] for p in hit[1]]
        else:
            if self.index is None:
                self.index = RelatedIndex(self.site)
            found = self.index(article, slugs, self.count, at)
        self.answers[article.path] = (key, tuple(a.path for a in found))
        return found

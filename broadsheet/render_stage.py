"""The render stage: pages whose fingerprint changed are rendered, in forked worker processes.

Workers are forked after the site is planned, so they inherit the renderer and the page list and
receive only page numbers; each returns (path, bytes) batches in order.
"""

from __future__ import annotations

import gc
import hashlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from broadsheet.deps import Fingerprinter
from broadsheet.executors import chunked, fork_pool
from broadsheet.feeds import FeedSpec, atom_feed
from broadsheet.model import Article, Site
from broadsheet.pages import Page, RelatedIndex
from broadsheet.render import Placed, Renderer

Progress = Callable[[str, int, int], None]
_RENDER_CHUNK = 64  # pages per batch; the parent holds a few finished ones (~1 MB each with their bytes)


Job = tuple[str, int]  # ("page" | "feed", index)
# output path, bytes (or where they went, for a plan that places them), paths of the articles it
# depends on, and its fingerprint when the plan makes them
Rendered = tuple[str, bytes | Placed, set[str], str | None]


class RenderPlan:
    """What to render. With `fingerprints`, each page is also fingerprinted where it is rendered
    (a build that renders every page has no use for the keys before): in the workers, in parallel,
    and its context (related stories, lists) is made there and only there. With `place` (the
    spare tree's), each file is put into the output tree where it is rendered too: a worker's
    bytes are neither sent back to the build process nor hashed and written there, which would
    leave that process the busiest of all."""

    def __init__(
        self,
        renderer: Renderer,
        pages: list[Page],
        feeds: list[FeedSpec],
        fingerprints: Fingerprinter | None = None,
        related: CachedRelated | None = None,
        place: Callable[[str, bytes], Placed] | None = None,
    ) -> None:
        self.renderer = renderer
        self.pages = pages
        self.feeds = feeds
        self.fingerprints = fingerprints
        self.related = related
        self.place = place

    def run(self, jobs: Sequence[Job]) -> list[Rendered]:
        out: list[Rendered] = []
        fingerprints = self.fingerprints
        place = self.place
        for kind, index in jobs:
            key = None
            if kind == "page":
                page = self.pages[index]
                result, deps = self.renderer.render_tracked(page)
                if fingerprints is not None:
                    key, named = fingerprints.key_and_deps(result.path, page.template, page.context)
                    deps |= named
                page.forget_context()  # made again if ever needed: memory stays flat
                path, data = result.path, result.data or b""
            else:  # a feed reads only the articles it lists, which its context names
                spec = self.feeds[index]
                deps = set()
                if fingerprints is not None:
                    key, deps = fingerprints.key_and_deps(spec.url, "atom", feed_context(spec))
                path, data = spec.url, atom_feed(self.renderer.config, self.renderer, spec)
            out.append((path, place(path, data) if place is not None else data, deps, key))
        return out


def render_order(pages: Sequence[Page], jobs: Sequence[Job]) -> list[Job]:
    """The jobs in the order to render them: the lists that share entries (pages with an
    `entries_date`) newest first, all in the place of the first of them; the other jobs in plan
    order, which has the article pages first (newest first too).

    An article's list entry is rendered once and reused by every list that shows it
    (Renderer.item_html). In plan order its lists are far apart (tag by tag, each from newest to
    oldest), so every entry would have to be kept until the last; swept by date, they come within
    a short stretch of the build, and the renderer keeps only a window of recent entries."""

    swept: list[tuple[datetime, Job]] = []
    rest: list[Job] = []
    at = None  # where in `rest` the swept lists go
    for job in jobs:
        newest = pages[job[1]].entries_date if job[0] == "page" else None
        if newest is None:
            rest.append(job)
            continue
        if at is None:
            at = len(rest)
        swept.append((newest, job))
    if at is None:
        return rest
    swept.sort(key=lambda dated: dated[0], reverse=True)  # stable: equal dates keep plan order
    return rest[:at] + [job for _, job in swept] + rest[at:]


def feed_context(spec: FeedSpec) -> dict[str, Any]:
    """What a feed's fingerprint covers."""
    return {"title": spec.title, "articles": spec.articles}


_worker_plan: RenderPlan | None = None


def _init_worker(plan: RenderPlan) -> None:
    global _worker_plan  # one plan per worker process, set once when the worker starts
    _worker_plan = plan


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


def render_changed(plan: RenderPlan, jobs: list[Job], workers: int, progress: Progress) -> Iterator[Rendered]:
    if not jobs:
        return
    progress("render", 0, len(jobs))
    if workers <= 1 or len(jobs) < 2 * _RENDER_CHUNK:
        for done, batch in enumerate(chunked(jobs, _RENDER_CHUNK), 1):
            yield from plan.run(batch)
            progress("render", min(done * _RENDER_CHUNK, len(jobs)), len(jobs))
        return
    plan.renderer.preload({plan.pages[index].template for kind, index in jobs if kind == "page"})
    # Frozen objects are left alone by the garbage collector, so forked workers share their memory
    # pages with this process instead of copying them.
    gc.collect()
    gc.freeze()
    # Paths arrive from the workers as fresh strings on every page that names them; the parent keeps
    # them all until the build's records are written, so each is swapped for the site's own copy.
    own = {a.path: a.path for a in plan.renderer.site.articles}
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


def _received(plan: RenderPlan, batch: list[Rendered], answers: dict, own: dict[str, str]) -> list[Rendered]:
    if plan.related is not None:
        plan.related.answers.update(
            (own.get(path, path), (key, tuple(own.get(p, p) for p in found))) for path, (key, found) in answers.items()
        )
    return [(path, data, {own.get(p, p) for p in deps}, key) for path, data, deps, key in batch]


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

    def __call__(self, article: Article) -> list[Article]:
        slugs = self.tag_slugs(article)
        parts = [str(self.count).encode()] + [self.fingerprints.members(self.tags[s]) for s in slugs]
        key = hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()
        hit = self.known(article.path) if self.known is not None else None
        if hit and hit[0] == key and all(p in self.by_path for p in hit[1]):
            found = [self.by_path[p] for p in hit[1]]
        else:
            if self.index is None:
                self.index = RelatedIndex(self.site)
            found = self.index(article, slugs, self.count)
        self.answers[article.path] = (key, tuple(a.path for a in found))
        return found

"""Which pages a full build renders again and which it keeps, from the last build's page records
(see deps.py): each page's fingerprint compared, or only the pages that read an edited article."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from broadsheet.cache import BuildCache
from broadsheet.deps import TEMPLATE_DEP, Fingerprinter, changed_templates
from broadsheet.feeds import FeedSpec
from broadsheet.output import Output
from broadsheet.pages import Page
from broadsheet.render_stage import Job, all_jobs, feed_context

# A page or feed to plan: (its job, output path, template, its context's maker).
Entry = tuple[Job, str, str, Callable[[], Mapping[str, Any]]]


class Renders(NamedTuple):
    """What a full build renders and what it keeps (`choose_renders`)."""

    kept: list[Output]  # the outputs still right, as the last build wrote them
    todo: Sequence[Job]  # the pages and feeds to render
    fresh: dict[str, tuple[str, set[str]]]  # path -> (key, deps) of a page to render, when the plan made them
    fingerprinted: int  # pages whose inputs were hashed
    everything: bool  # every page is rendered: their keys are for the next build, made where they are rendered
    gone: list[str]  # the pages the last build recorded that this site no longer has


def choose_renders(
    cache: BuildCache | None,
    pages: Sequence[Page],
    feeds: list[FeedSpec],
    paths: list[str],
    fingerprints: Fingerprinter,
    manifest: Mapping[str, str],
    changed: set[str] | None,
    templates: Mapping[str, str],
) -> Renders:
    """Which pages (of `pages` and `feeds`, whose output paths are `paths`) to render, from the last
    build's records in `cache`: every page, when there is no cache, the settings or a template most
    pages use changed; those whose key or live file differ; or, with `changed` (the articles edited
    when nothing else was), only the pages that read them. `templates`: the theme's digests now."""
    # Pages that loaded a template edited since the last build, whatever else they show; with a
    # template added or removed (or none known), every page.
    edited = changed_templates(cache.blob("templates"), templates) if cache else None
    stale = cache.pages_reading(TEMPLATE_DEP + name for name in edited) if cache and edited else set()
    # The last build's page records, unless every page is rendered anyway: then they are not compared.
    everything = (
        cache is None
        or edited is None
        or (changed is None and (not cache.has_pages() or cache.get("global") != fingerprints.global_key.decode()))
        or len(stale) * 2 > len(paths)  # (a page shell most pages extend): cheaper than comparing
    )
    known = cache.pages() if cache and not everything else {}
    if everything:
        # Fingerprints are only for the next build, so the workers make them along with the pages.
        records = ([], all_jobs(len(pages), len(feeds)), {}, len(paths) if cache else 0)
    else:
        assert cache is not None
        dirty = cache.pages_reading(changed) | stale if changed is not None else None
        entries = page_entries(pages, feeds, paths)
        records = plan_renders(entries, len(paths), fingerprints, known, manifest, dirty, stale)
        if records is None:  # the last build's page records do not fit: compare every page
            entries = page_entries(pages, feeds, paths)
            records = plan_renders(entries, len(paths), fingerprints, known, manifest, None, stale)
        assert records is not None
    # Of the last build's page records, only which pages this build no longer has is needed after
    # the render, found now: neither the records compared nor the pages that loaded an edited
    # template (every page, after an edit to base.html) are held through it. With the last build's
    # article digests let go as well (builder), a template change's build process held 339-341 MB
    # in the render at 100,000 articles, not 377-380.
    # (With `changed`, the site has the same pages: only those rendered get new records.)
    gone: list[str] = []
    if cache and changed is None:
        present = set(paths)
        gone = [path for path in (known or cache.page_paths()) if path not in present]
    return Renders(*records, everything, gone)


def page_entries(pages: Sequence[Page], feeds: list[FeedSpec], paths: list[str]) -> Iterator[Entry]:
    """Each page and feed to plan, with its output path, made as it is asked for: a list of them
    would hold a tuple and an index for every page until the build ends (22 MB at 100,000
    articles), where the pages hold all of it already."""
    jobs = all_jobs(len(pages), len(feeds))
    for i, page in enumerate(pages):
        yield jobs[i], paths[i], page.template, page.make_context
    for i, feed in enumerate(feeds, start=len(pages)):
        yield jobs[i], paths[i], "atom", _feed_context(feed)


def _feed_context(spec: FeedSpec) -> Callable[[], Mapping[str, Any]]:
    return lambda: feed_context(spec)


def plan_renders(
    entries: Iterable[Entry],
    count: int,
    fingerprints: Fingerprinter,
    known: Mapping[str, tuple[str, str]],
    manifest: Mapping[str, str],
    dirty: set[str] | None,
    stale: Container[str] = (),
) -> tuple[list[Output], Sequence[Job], dict[str, tuple[str, set[str]]], int] | None:
    """Which outputs are still right (kept) and which to render (todo), with the fresh (key, deps)
    of each page to render (rendering adds the articles its templates read), and how many pages
    were fingerprinted. With `dirty` (the site's structure is unchanged: the pages reading an
    edited article or template), only those are; None when the last build's records do not fit.
    Pages in `stale` (which loaded an edited template) are rendered whatever their key."""
    kept: list[Output] = []
    todo = array("q")  # (render_stage.Job)
    fresh: dict[str, tuple[str, set[str]]] = {}
    if dirty is not None:
        if len(known) != count:
            return None
        for job, path, template, context in entries:
            record = known.get(path)
            if record is None:
                return None
            if path not in dirty and manifest.get(path) == record[1]:
                kept.append(Output(path, keep=record[1]))
            else:  # it shows an edited article, or the live file is not the one we wrote
                fresh[path] = fingerprints.key_and_deps(path, template, context())
                todo.append(job)
        return kept, todo, fresh, len(fresh)
    for job, path, template, context in entries:
        key, deps = fingerprints.key_and_deps(path, template, context())
        old = known.get(path)
        if old and old[0] == key and manifest.get(path) == old[1] and path not in stale:
            kept.append(Output(path, keep=old[1]))  # same inputs: it reads the same articles too
        else:
            fresh[path] = (key, deps)
            todo.append(job)
    return kept, todo, fresh, count

"""Which pages a full build renders again and which it keeps, from the last build's page records
(see deps.py): each page's fingerprint compared, or only the pages that read an edited article."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from typing import Any

from broadsheet.deps import Fingerprinter
from broadsheet.feeds import FeedSpec
from broadsheet.output import Output
from broadsheet.pages import Page
from broadsheet.render_stage import Job, all_jobs, feed_context

# A page or feed to plan: (its job, output path, template, its context's maker).
Entry = tuple[Job, str, str, Callable[[], Mapping[str, Any]]]


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

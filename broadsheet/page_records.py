"""The records a full build makes of the pages it renders: each page's inputs' key, the digest of its
bytes and the articles it read (see deps.py), which the next build compares with. When most pages
are rendered (a cold build, a template changed), they go into the cache as the pages come, rather
than being held until the end; which pages read each article is then found again from all of them
(`BuildCache.readers_again`), rather than change by change."""

from __future__ import annotations

from collections.abc import Callable
from sys import intern

from broadsheet.cache import BuildCache, dependency_string
from broadsheet.output import Placed

_RECORDS_PER_WRITE = 1024  # records (of pages, of related stories) stored at a time as the render finds them
_STREAMED_FROM = 0.25  # the share of pages rendered from which their records are stored as they come


class PageRecords:
    """Notes each page as it is rendered (`note`), and stores the records at the end (`store`).
    `planned`: path -> (key, deps) of the pages whose keys the plan made (the others' come with them);
    `related`: the related stories found meanwhile (render_stage.CachedRelated.answers), stored as
    they mount up; `rendering` of the site's `pages` are rendered."""

    def __init__(
        self,
        cache: BuildCache | None,
        planned: dict[str, tuple[str, set[str]]],
        related: dict[str, tuple[bytes, tuple[str, ...]]],
        rendering: int,
        pages: int,
    ) -> None:
        self.cache = cache
        self.planned = planned
        self.related = related
        # Stored as they come when `rendering` (pages) is a large share of the site's `pages`.
        self.streamed = cache is not None and rendering > pages * _STREAMED_FROM
        self.rendered: list[str] = []  # the output paths rendered
        self._rows: list[tuple[str, str, str, str]] = []  # complete, not yet stored
        self._undigested: dict[str, tuple[str, str]] = {}  # path -> (key, deps): its digest comes from the writer

    def note(self, rendered_path: str, data: bytes | Placed, deps: set[str], key: str | None) -> str:
        """A page rendered (render_stage.Rendered): its path as the build's own object."""
        path = intern(rendered_path)  # a worker's copy: one object per path, as in the plan
        self.rendered.append(path)
        record = None  # (key, the articles read as the string stored: a tenth of a set's memory)
        if key is not None:  # the worker made the page's key
            record = (key, dependency_string(deps))
        elif (planned := self.planned.pop(path, None)) is not None:  # the plan did
            record = (planned[0], dependency_string(planned[1] | deps))
        if record is not None and not isinstance(data, Placed):
            self._undigested[path] = record
        elif record is not None:
            self._rows.append((path, record[0], data.digest, record[1]))
            if self.streamed and len(self._rows) >= _RECORDS_PER_WRITE:
                self._put()
        if self.cache is not None and len(self.related) >= _RECORDS_PER_WRITE:
            self.cache.put_related(self.related)  # rather than holding every article's until the end
            self.related.clear()
        return path

    def store(self, digests: dict[str, str], gone: list[str], own: Callable[[str], str]) -> None:
        """Store what is left, once the writer has the digest of every file, and forget the records of
        the pages in `gone`. (`own`: the build's own object for a path read back.)"""
        cache = self.cache
        assert cache is not None
        self._rows += ((path, key, digests[path], deps) for path, (key, deps) in self._undigested.items())
        self._undigested.clear()
        cache.put_related(self.related)
        if self.streamed:
            self._put()
            cache.readers_again(gone, own)
        else:
            cache.store_pages(self._rows, gone)
            self._rows.clear()

    def _put(self) -> None:
        assert self.cache is not None
        self.cache.put_pages(self._rows)
        self._rows.clear()

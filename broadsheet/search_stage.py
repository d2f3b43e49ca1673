"""The search index as build outputs: kept, patched in place or made again, whichever is right."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from pathlib import Path

from broadsheet.cache import BuildCache, CachedBodies
from broadsheet.executors import release_free_memory
from broadsheet.manifest import file_digest
from broadsheet.model import Article, Site
from broadsheet.output import Output, Placed
from broadsheet.render import Renderer
from broadsheet.search_index import (
    SEARCH_DIR,
    documents,
    patch_search_files,
    search_files,
    search_fingerprint,
    term_shards,
)
from broadsheet.write import SparePart, SpareTree


class SearchOutputs:
    """The search index: kept while no article changed (e.g. after a template edit), updated in
    place after an edit that keeps the site's structure, and made again otherwise. `terms_of`
    gives an article's search terms (cache.CachedBodies.terms): only what is made is asked for."""

    def __init__(
        self,
        site: Site,
        renderer: Renderer,
        terms_of: Callable[[Article], str],
        cache: BuildCache | None,
        manifest: Mapping[str, str],
        output_dir: Path,
        changed: set[str] | None,
    ) -> None:
        self.site, self.renderer, self.terms_of, self.cache = site, renderer, terms_of, cache
        self.manifest, self.output_dir, self.changed = manifest, output_dir, changed
        self.key = search_fingerprint(site, renderer.config.base_path)
        self.known = known = cache.blob("search") if cache else None
        self.intact = known is not None and all(manifest.get(path) == d for path, d in known[1].items())
        self.kept = self.intact and known[0] == self.key  # the live index is this site's: nothing to make
        self.paths: list[str] = []
        self.made_again = False  # every file made from every article's terms (not kept or patched)
        self._shards: Future[list[tuple[str, Placed]]] | None = None

    def start_elsewhere(self, pool: Executor, tree: SpareTree) -> None:
        """When the index is to be made again from every article, have `pool` (a lean render
        worker, which reads the terms from the cache itself) make its term shards meanwhile and
        put them into `tree`: the part of the index that grows with the archive, in time and memory
        (2 s at 10,000 wire stories), is then neither held nor waited for by this process."""
        if self.changed is not None or self.cache is None or self.kept:
            return  # kept or patched here: each needs only a few articles' terms
        prefix = f"{SEARCH_DIR}/t-"
        part = tree.part([p for p in {*tree.live, *tree.have} if p.startswith(prefix)])
        # Digests alone: the worker holds them while it makes the postings, when it peaks. With each
        # article's path too, it peaked at 143 MB rather than 127 MB at 100,000 articles.
        digests = [a.digest for a in documents(self.site)]
        self._shards = pool.submit(placed_term_shards, digests, self.cache.path, part)

    def close(self) -> None:
        """The shards being made elsewhere are done, or never started: the build has stopped with
        them still in flight, and nothing else may touch the spare tree before they are."""
        if self._shards is not None:
            self._shards.cancel()
            wait([self._shards])

    def outputs(self) -> Iterator[Output]:
        known = self.known
        if self.kept:
            yield from self._keep(known[1])
            return
        if self.intact and self.changed is not None and self.cache is not None:
            patched = patch_search_files(
                self.site,
                self.terms_of,
                self.renderer.summary,
                self.cache.built_terms(self.changed),
                current=self._current,
                files=list(known[1]),
                base_path=self.renderer.config.base_path,
            )
            if patched is not None:
                yield from self._keep({p: d for p, d in known[1].items() if p not in patched})
                for path, data in patched.items():
                    if data is not None:
                        self.paths.append(path)
                        yield Output(path, data)
                return
        self.made_again = True
        base_path = self.renderer.config.base_path
        shards = self._placed(self._shards) if self._shards is not None else None
        for path, data in search_files(
            self.site, self.terms_of, self.renderer.summary, base_path=base_path, shards=shards
        ):
            self.paths.append(path)
            yield Output(path, placed=data) if isinstance(data, Placed) else Output(path, data)

    @staticmethod
    def _placed(shards: Future[list[tuple[str, Placed]]]) -> Iterator[tuple[str, Placed]]:
        yield from shards.result()  # asked for once the documents files are written

    def _keep(self, files: Mapping[str, str]) -> Iterator[Output]:
        for path, digest in files.items():
            self.paths.append(path)
            yield Output(path, keep=digest)

    def _current(self, path: str) -> bytes | None:
        """A search file as the live site has it, if it is still what the manifest says."""
        try:
            data = (self.output_dir / path).read_bytes()
        except OSError:
            return None
        return data if file_digest(data) == self.manifest.get(path) else None

    def remember(self, digests: Mapping[str, str]) -> None:
        assert self.cache is not None
        self.cache.set_blob("search", (self.key, {path: digests[path] for path in self.paths}))


def placed_term_shards(digests: Sequence[str], cache_path: Path, part: SparePart) -> list[tuple[str, Placed]]:
    """The term shards of the articles with these content digests, in document order, with their
    terms read from the cache: each put into the spare tree through `part` as it is made."""
    bodies = CachedBodies({}, cache_path)
    # Postings spilled beside the cache, on the site's disk: the system's temporary folder may be in memory.
    shards = term_shards(map(bodies.terms_at, digests), spill_dir=cache_path.parent)
    placed = [(path, part.place(path, data)) for path, data in shards]
    # The postings, one small array per distinct term, leave the heap in holes that the pages this
    # worker renders next do not fill: at 30,000 articles it held 13 MB more for the rest of the build.
    release_free_memory()
    return placed

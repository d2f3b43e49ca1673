"""The search index as build outputs: kept, patched in place or made again, whichever is right."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from broadsheet.cache import BuildCache
from broadsheet.model import Article, Site
from broadsheet.render import Output, Renderer
from broadsheet.search_index import patch_search_files, search_files, search_fingerprint
from broadsheet.write import file_digest


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
        self.known = cache.blob("search") if cache else None
        self.paths: list[str] = []
        self.made_again = False  # every file made from every article's terms (not kept or patched)

    def outputs(self) -> Iterator[Output]:
        known = self.known
        intact = known is not None and all(self.manifest.get(path) == d for path, d in known[1].items())
        if intact and known[0] == self.key:
            yield from self._keep(known[1])
            return
        if intact and self.changed is not None and self.cache is not None:
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
        for path, data in search_files(self.site, self.terms_of, self.renderer.summary, base_path=base_path):
            self.paths.append(path)
            yield Output(path, data)

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

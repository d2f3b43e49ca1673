"""Extras for static hosts: cache rules (`_headers`) and precompressed copies of text files.

Functions over the build's outputs; nothing here writes a file.
"""

from __future__ import annotations

import gzip
import importlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path

from broadsheet.output import Output

HEADERS_FILE = "_headers"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
# Text types worth a precompressed copy; images other than SVG are compressed already.
COMPRESSIBLE = (".html", ".css", ".js", ".mjs", ".json", ".xml", ".txt", ".svg", ".map", ".webmanifest")

Compressor = tuple[str, Callable[[bytes], bytes]]


def with_headers(outputs: Iterable[Output], made: list[set[str]] | None = None) -> Iterator[Output]:
    """The outputs, then a `_headers` file with cache rules for them (unless content brings its own).
    When it makes one, the paths of the immutable files it named are appended to `made`."""
    seen: list[str] = []
    immutable: set[str] = set()
    for item in outputs:
        seen.append(item.path)
        if item.immutable:
            immutable.add(item.path)
        yield item
    if HEADERS_FILE not in seen:
        yield Output(HEADERS_FILE, headers_file(seen, immutable))
        if made is not None:
            made.append(immutable)


def headers_file(paths: Iterable[str], immutable: Collection[str]) -> bytes:
    """A Netlify / Cloudflare Pages `_headers` file: hashed files cached for a year, the rest revalidated.

    Both hosts apply every rule whose pattern matches a request and join repeated headers with
    commas, so the rules here never overlap: one rule per top-level folder (`/2024/*`, `/tags/*`)
    or file, split into exact per-file rules only where a folder mixes hashed and plain files.
    Paths are relative to the published folder, which those hosts serve at their root.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        if path == HEADERS_FILE or path.startswith(".") or "/." in path:
            continue
        groups[path.split("/", 1)[0] if "/" in path else ""].append(path)
    rules: list[tuple[str, str]] = []
    for top in sorted(groups):
        files = sorted(groups[top])
        if top and all(f in immutable for f in files):
            rules.append((f"/{top}/*", IMMUTABLE))
        elif top and not any(f in immutable for f in files):
            rules.append((f"/{top}/*", REVALIDATE))
        else:
            for f in files:
                value = IMMUTABLE if f in immutable else REVALIDATE
                rules.extend((pattern, value) for pattern in _file_patterns(f))
    lines = ["# Cache rules for Netlify and Cloudflare Pages, written by Broadsheet."]
    for pattern, value in rules:
        lines += [pattern, f"  Cache-Control: {value}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _file_patterns(path: str) -> list[str]:
    """URL patterns that serve `path`: a folder's index.html is also its folder URL."""
    if path == "index.html":
        return ["/", "/index.html"]
    if path.endswith("/index.html"):
        return [f"/{path.removesuffix('index.html')}", f"/{path}"]
    return [f"/{path}"]


def default_compressors() -> list[Compressor]:
    """gzip always; Brotli when the optional `brotli` package is installed (`pip install broadsheet[brotli]`)."""
    compressors: list[Compressor] = [(".gz", _gzip)]
    try:
        brotli = importlib.import_module("brotli")
    except ImportError:
        return compressors
    compressors.append((".br", lambda data: brotli.compress(data, quality=11)))
    return compressors


def _gzip(data: bytes) -> bytes:
    # mtime=0: no timestamp in the header, so the same page gives the same bytes on every build.
    return gzip.compress(data, compresslevel=9, mtime=0)


def precompress(
    outputs: Iterable[Output],
    *,
    previous: Mapping[str, str],
    output_dir: Path,
    compressors: Iterable[Compressor] | None = None,
) -> Iterator[Output]:
    """Each output, followed by compressed copies (`page.html.gz`, `.br`) of text files they shrink.

    Servers such as nginx (`gzip_static`) send these instead of compressing on every request.
    A page the build keeps unchanged keeps its compressed copies too (`previous` is the output
    folder's manifest); only when there were none are they made from the file already there.
    """
    chosen = list(default_compressors() if compressors is None else compressors)
    for item in outputs:
        yield item
        if not item.path.endswith(COMPRESSIBLE) or not chosen:
            continue
        if item.keep is not None and all(item.path + suffix in previous for suffix, _ in chosen):
            for suffix, _ in chosen:
                yield Output(item.path + suffix, keep=previous[item.path + suffix])
            continue
        if item.data is not None:
            data = item.data
        else:
            data = (output_dir / item.path if item.keep is not None else item.source).read_bytes()  # type: ignore[union-attr]
        for suffix, compress in chosen:
            packed = compress(data)
            if len(packed) < len(data):
                yield Output(item.path + suffix, packed)

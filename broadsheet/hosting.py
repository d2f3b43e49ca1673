"""Extras for static hosts: cache rules (`_headers`), precompressed copies, a pinned build time.

Pure functions over output paths and bytes; nothing here reads the clock or writes a file.
"""

from __future__ import annotations

import gzip
import importlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from broadsheet.errors import BroadsheetError

if TYPE_CHECKING:  # render imports this module for headers_file
    from broadsheet.render import Output

HEADERS_FILE = "_headers"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
# Text types worth a precompressed copy; images other than SVG are compressed already.
COMPRESSIBLE = (".html", ".css", ".js", ".mjs", ".json", ".xml", ".txt", ".svg", ".map", ".webmanifest")

Compressor = tuple[str, Callable[[bytes], bytes]]


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


def precompress(outputs: Iterable[Output], compressors: Iterable[Compressor] | None = None) -> Iterator[Output]:
    """Each output, followed by compressed copies (`page.html.gz`, `.br`) of text files they shrink.

    Servers such as nginx (`gzip_static`) send these instead of compressing on every request.
    """
    from broadsheet.render import Output

    chosen = list(default_compressors() if compressors is None else compressors)
    for item in outputs:
        if not item.path.endswith(COMPRESSIBLE) or not chosen:
            yield item
            continue
        data = item.data if item.data is not None else item.source.read_bytes()  # type: ignore[union-attr]
        yield Output(item.path, data)
        for suffix, compress in chosen:
            packed = compress(data)
            if len(packed) < len(data):
                yield Output(item.path + suffix, packed)


def source_date_epoch(environ: Mapping[str, str]) -> datetime | None:
    """The build time fixed by SOURCE_DATE_EPOCH (reproducible-builds.org), or None when unset."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise BroadsheetError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, got {value!r}") from None

"""The site's full-text search index: Pagefind run over the rendered article pages.

Pagefind (from PyPI `pagefind[bin]`) indexes the built HTML and writes a bundle of small, hashed
index chunks plus a JS/WASM client under /pagefind/; the browser downloads only the chunks a query
needs, so search works on any static host and offline. Articles mark what is indexed with
`data-pagefind-*` attributes in templates/article.html (body, headline, date, source, tags, authors).

`with_search_index` passes the site's outputs through unchanged and appends the bundle, so the index
lands in the same staging folder and atomic swap as every other file; nothing here touches site/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from broadsheet.errors import BroadsheetError
from broadsheet.render import Output

BUNDLE_DIR = "pagefind"
MARKER = b"data-pagefind-body"
# The search page uses Pagefind's JS API only; its ready-made UIs (~400 kB) are left out of the site.
_KEEP_FILES = ("pagefind.js", "pagefind-worker.js", "pagefind-entry.json")
_KEEP_DIRS = ("index", "fragment", "filter")


def pagefind_executable() -> Path:
    """The Pagefind binary: $PAGEFIND_BINARY_PATH, else the one the `pagefind[bin]` wheel ships."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        get_executable = None
    found = get_executable() if get_executable else None
    if found is None:
        which = shutil.which("pagefind")
        found = Path(which) if which else None
    if found is None or not found.is_file():
        raise BroadsheetError(
            "the search index needs the Pagefind binary: install it with  pip install 'pagefind[bin]'  "
            "or set PAGEFIND_BINARY_PATH",
            path="pagefind",
        )
    return found


def _kept_in_bundle(rel: PurePosixPath) -> bool:
    if len(rel.parts) > 1:
        return rel.parts[0] in _KEEP_DIRS
    name = rel.name
    return name in _KEEP_FILES or name.endswith(".pf_meta") or (name.startswith("wasm.") and name.endswith(".pagefind"))


def _stage_page(item: Output, pages: Path, previous: Path | None) -> bool:
    """Put one HTML page where Pagefind will read it. False if it is not an indexed page."""
    target = pages / item.path
    data = item.data
    if data is None and item.source is not None:
        data = item.source.read_bytes()
    if data is None and getattr(item, "keep", None) and previous is not None:
        # An unchanged page the build did not re-render: its bytes are the ones already published.
        data = (previous / item.path).read_bytes()
    if data is None or MARKER not in data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return True


def with_search_index(outputs: Iterable[Output], *, language: str, previous: Path | None = None) -> Iterator[Output]:
    """`outputs`, then the Pagefind bundle for the article pages among them.

    `language` (the site's, e.g. "en" or "en-GB") is used for the whole index, so one search finds
    articles in every language; `previous` is the current output folder, read for pages passed as kept.
    """
    lang = language.split("-")[0].lower() or "en"
    with tempfile.TemporaryDirectory(prefix="broadsheet-search-") as tmp:
        pages = Path(tmp, "pages")
        pages.mkdir()
        indexed = 0
        for item in outputs:
            yield item
            if item.path.endswith(".html") and _stage_page(item, pages, previous):
                indexed += 1
        if not indexed:
            return
        bundle = Path(tmp, "bundle")
        command = [
            os.fspath(pagefind_executable()),
            "--site", os.fspath(pages),
            "--output-path", os.fspath(bundle),
            "--force-language", lang,
            "--silent",
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-5:]
            raise BroadsheetError("search index: pagefind failed: " + " / ".join(detail), path="pagefind") from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BroadsheetError(f"search index: could not run pagefind: {exc}", path="pagefind") from None
        for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
            rel = PurePosixPath(path.relative_to(bundle).as_posix())
            if _kept_in_bundle(rel):
                yield Output(f"{BUNDLE_DIR}/{rel}", data=path.read_bytes())

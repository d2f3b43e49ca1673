"""Static assets (templates/static/) under content-hashed names, so hosts can cache them for a year.

`style.css` is published as `static/style.<hash>.css`; templates ask for it with `asset('style.css')`.
A changed file gets a new name, so a long cache lifetime can never serve a stale stylesheet, and an
unchanged one keeps its name from build to build. HTML keeps stable names (it is what links point at).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

HASH_LENGTH = 10
# url(...) in CSS; quoted or bare. @import "x.css" without url() is left alone (see below).
_CSS_URL = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<ref>[^'")\s]+)(?P=q)\s*\)""")


@dataclass(frozen=True)
class StaticAsset:
    name: str  # as templates name it, relative to templates/static: "style.css", "fonts/a.woff2"
    path: str  # output path: "static/style.0123456789.css"
    data: bytes


def hashed_name(name: str, data: bytes) -> str:
    """`dir/file.ext` -> `dir/file.<hash>.ext` (hash of the bytes; no extension: `file.<hash>`)."""
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    folder, base = posixpath.split(name)
    stem, dot, ext = base.rpartition(".")
    new = f"{stem}.{digest}.{ext}" if dot and stem else f"{base}.{digest}"
    return posixpath.join(folder, new) if folder else new


def hash_static(static_dir: Path) -> tuple[StaticAsset, ...]:
    """Every file under static_dir, with hashed names, sorted by name.

    Stylesheets are hashed after their `url(...)` references to other static files are rewritten
    to the hashed names, so a changed font or image also changes the stylesheet that points at it.
    """
    if not static_dir.is_dir():
        return ()
    files = {
        p.relative_to(static_dir).as_posix(): p.read_bytes()
        for p in sorted(static_dir.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
    names: dict[str, str] = {}
    for name, data in files.items():
        if not name.endswith(".css"):
            names[name] = hashed_name(name, data)
    result: dict[str, bytes] = {}
    for name, data in files.items():
        if name.endswith(".css"):
            data = rewrite_css_urls(name, data, names)
            names[name] = hashed_name(name, data)
        result[name] = data
    return tuple(StaticAsset(name, "static/" + names[name], result[name]) for name in sorted(files))


def rewrite_css_urls(css_name: str, data: bytes, names: dict[str, str]) -> bytes:
    """Point relative url(...) references at hashed names; anything else is left as written.

    References between stylesheets are not rewritten (their hashes would depend on each other);
    those keep working only if the target keeps its plain name, which it does not — so keep
    stylesheets self-contained, as templates/static/style.css is.
    """
    text = data.decode("utf-8", "surrogateescape")  # any bytes survive untouched
    folder = posixpath.dirname(css_name)

    def replace(match: re.Match[str]) -> str:
        ref = match.group("ref")
        if ref.startswith(("/", "#", "data:")) or "://" in ref:
            return match.group(0)
        path = re.split(r"[?#]", ref, maxsplit=1)[0]
        target = posixpath.normpath(posixpath.join(folder, path))
        if target not in names:
            return match.group(0)
        new = posixpath.relpath(names[target], folder or ".")
        suffix = ref[len(path) :]
        return f"url({match.group('q')}{new}{suffix}{match.group('q')})"

    return _CSS_URL.sub(replace, text).encode("utf-8", "surrogateescape")

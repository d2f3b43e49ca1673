"""Which file, if any, answers a request path of the preview server.

Refuses rather than normalises: the answer is a regular file inside the output folder, a
redirect, the reload channel, or nothing (the caller's 404).
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

# The preview's own URLs; no built page can live here (slugs never start with an underscore).
PREVIEW_PREFIX = "/__broadsheet/"
EVENTS_PATH = PREVIEW_PREFIX + "events"
CLIENT_PATH = PREVIEW_PREFIX + "reload.js"

# Explicit types for what a site holds; text gets a charset so nothing is left to sniffing.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".webmanifest": "application/manifest+json; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".pdf": "application/pdf",
}


def content_type(path: Path) -> str:
    if path.name == "feed.xml":  # the site's Atom feeds (see urls); other .xml is generic XML
        return "application/atom+xml; charset=utf-8"
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class Target:
    kind: Literal["file", "redirect", "events", "client", "missing"]
    path: Path | None = None
    location: str | None = None


MISSING = Target("missing")


def resolve_target(raw: str, base_path: str, root: Path) -> Target:
    """Map a raw request target to a file under `root`, a redirect, the reload channel, or nothing.

    Refuses rather than normalises: any `.`/`..`/hidden or empty segment, backslash, NUL or
    control character (raw or percent-decoded) is a miss, and so is a file that resolves outside
    `root` through a symlink.
    """
    if not raw.startswith("/"):
        return MISSING  # absolute-form and `*` targets: a preview server is nobody's proxy
    raw_path, _, query = raw.partition("#")[0].partition("?")
    if "\\" in raw_path:
        return MISSING
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return MISSING
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return MISSING
    if path == EVENTS_PATH:
        return Target("events")
    if path == CLIENT_PATH:
        return Target("client")
    suffix = f"?{query}" if query else ""
    base = unquote(base_path)
    if path.startswith(PREVIEW_PREFIX):
        return MISSING
    if path + "/" == base or (path == "/" and base != "/"):
        return Target("redirect", location=quote(base) + suffix)
    if not path.startswith(base):
        return MISSING
    rel = path[len(base) :]
    parts = rel.split("/")
    wants_dir = rel == "" or rel.endswith("/")
    if wants_dir:
        parts = parts[:-1]
    if any(not part or part.startswith(".") for part in parts):
        return MISSING
    candidate = root.joinpath(*parts) / "index.html" if wants_dir else root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
        inside = real.is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):
        return MISSING
    if not inside:
        return MISSING
    if real.is_dir():
        if (real / "index.html").is_file():
            return Target("redirect", location=quote(path + "/") + suffix)
        return MISSING
    return Target("file", path=real)


def read_regular_file(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file (never follows a last symlink, never blocks on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read()

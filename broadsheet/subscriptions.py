"""Feed subscriptions: the `[[feeds]]` tables of site.toml, checked, and each feed's saved state.

    [[feeds]]
    url = "https://example.org/world/rss.xml"
    name = "Example World"          # shown as the articles' source (default: the feed's own title)
    tags = ["World"]                # added to every article from this feed
    full_text = false               # fetch each entry's page and extract the article from it
    republish = "full"              # full | excerpt (with a link to the original) | headline

The state file (ETag, Last-Modified, the entries seen and where they went) lives under
`.broadsheet-cache/feeds/` beside site.toml, with the last feed body next to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broadsheet.config import CONFIG_NAME, SiteConfig
from broadsheet.errors import BroadsheetError
from broadsheet.ingest.feed import Republish
from broadsheet.urls import slugify

REPUBLISH: tuple[Republish, ...] = ("full", "excerpt", "headline")
CACHE_DIR = ".broadsheet-cache"
_STATE_VERSION = 1
_KEYS: dict[str, str] = {
    "url": "an http(s) URL",
    "name": "a string",
    "tags": "an array of strings",
    "full_text": "true or false",
    "republish": "one of " + ", ".join(f'"{r}"' for r in REPUBLISH),
    "allow_loopback": "true or false",
}


@dataclass(frozen=True)
class Subscription:
    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    full_text: bool = False
    republish: Republish = "full"
    allow_loopback: bool = False  # for a feed served from this machine; off for anything else

    @property
    def label(self) -> str:
        return self.name or self.url


def parse_subscriptions(tables: Sequence[dict[str, Any]], source: str) -> tuple[Subscription, ...]:
    """Check every `[[feeds]]` table; errors name the key, the entry and (when found) the line."""
    text = _read(source)
    headers = _table_lines(text)
    found: list[Subscription] = []
    seen: dict[str, int] = {}
    for number, table in enumerate(tables, start=1):
        header = headers[number - 1] if number <= len(headers) else None

        def fail(
            message: str, key: str | None = None, number: int = number, header: int | None = header
        ) -> BroadsheetError:
            line = _key_line(text, header, key) if key else header
            return BroadsheetError(f"[[feeds]] entry {number}: {message}", path=source, line=line)

        if not isinstance(table, dict):
            raise fail("must be a table")
        for key in table:
            if key not in _KEYS:
                raise fail(f"unknown key {key!r} (known: {', '.join(_KEYS)})", key)
        if "url" not in table:
            raise fail("missing key 'url'")
        url = table["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(f"key 'url' must be {_KEYS['url']}, got {url!r}", "url")
        if url in seen:
            raise fail(f"key 'url': {url} is already subscribed in entry {seen[url]}", "url")
        seen[url] = number
        name = table.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise fail(f"key 'name' must be {_KEYS['name']} (not empty)", "name")
        tags = table.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise fail(f"key 'tags' must be {_KEYS['tags']}", "tags")
        for key in ("full_text", "allow_loopback"):
            if not isinstance(table.get(key, False), bool):
                raise fail(f"key {key!r} must be {_KEYS[key]}, not {table[key]!r}", key)
        republish = table.get("republish", "full")
        if republish not in REPUBLISH:
            raise fail(f"key 'republish' must be {_KEYS['republish']}, not {republish!r}", "republish")
        found.append(
            Subscription(
                url=url,
                name=name.strip() if name else None,
                tags=tuple(t.strip() for t in tags),
                full_text=table.get("full_text", False),
                republish=republish,
                allow_loopback=table.get("allow_loopback", False),
            )
        )
    return tuple(found)


def subscriptions(config: SiteConfig) -> tuple[Subscription, ...]:
    return parse_subscriptions(config.feeds, str(config.root / CONFIG_NAME))


def _read(source: str) -> str:
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""  # line numbers are a courtesy; the config was already parsed from this file


def _table_lines(text: str) -> list[int]:
    """Line numbers of the `[[feeds]]` headers in the config text, in order."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*feeds\s*\]\]", line)]


def _key_line(text: str, header: int | None, key: str) -> int | None:
    """The line of `key = ...` inside the table that starts at `header` (else the header's line)."""
    if header is None:
        return None
    lines = text.splitlines()
    for n in range(header, len(lines)):
        if re.match(r"\s*\[", lines[n]):
            break
        if re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", lines[n]):
            return n + 1
    return header


# --- per-feed state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeenEntry:
    hash: str  # the `import_hash` the entry had when last processed
    path: str | None = None  # content file (relative to content/) it was written to
    grouped_into: str | None = None  # content file it was recorded on as a syndicated copy


@dataclass(frozen=True)
class FeedState:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    entries: dict[str, SeenEntry] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "version": _STATE_VERSION,
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "entries": {k: {a: b for a, b in vars(v).items() if b is not None} for k, v in self.entries.items()},
        }
        return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def state_path(cache_dir: Path, sub: Subscription) -> Path:
    """One file per feed URL; the readable part is the name, the hash keeps two names apart."""
    digest = hashlib.sha256(sub.url.encode("utf-8")).hexdigest()[:12]
    return cache_dir / "feeds" / f"{slugify(sub.label, fallback='feed')[:40]}-{digest}.json"


def load_state(path: Path, url: str) -> FeedState:
    """The saved state, or a fresh one when there is none (or it is unreadable: it is only a cache)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != _STATE_VERSION or data.get("url") != url:
            return FeedState(url)
        entries = {
            str(k): SeenEntry(**{a: v.get(a) for a in ("hash", "path", "grouped_into")})
            for k, v in data["entries"].items()
        }
        return FeedState(url, data.get("etag"), data.get("last_modified"), entries)
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return FeedState(url)


def save_state(path: Path, state: FeedState) -> bool:
    """Write the state if it changed; True when written."""
    text = state.to_json()
    return _write_if_changed(path, text.encode("utf-8"))


def save_body(path: Path, body: bytes) -> bool:
    return _write_if_changed(path.with_suffix(".xml"), body)


def load_body(path: Path) -> bytes | None:
    try:
        return path.with_suffix(".xml").read_bytes()
    except OSError:
        return None


def _write_if_changed(path: Path, data: bytes) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".state-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return True

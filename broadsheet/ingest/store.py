"""Writing web and feed articles into content/: find the file an article already has, update it only
when its source changed and no person edited it, never create a second copy, and fold near-duplicate
syndicated copies into one article (`also_published_by`).

File writes go through the text importer's atomic helpers (temp file + link/rename, never replacing a
file that appeared meanwhile) and its edit check (`import_digest`), so all importers share one rule
for "a file a person edited is never overwritten".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml

from broadsheet.errors import BroadsheetError
from broadsheet.frontmatter import parse_article, split
from broadsheet.ingest.dedupe import DuplicateIndex
from broadsheet.ingest.emit import DIGEST_KEY, edited_since_import
from broadsheet.ingest.importer import write_new, write_replace
from broadsheet.load import scan
from broadsheet.urls import slugify

Status = Literal["new", "updated", "unchanged", "edited", "grouped"]
ALSO_KEY = "also_published_by"


def document(meta: Mapping[str, Any], body: str) -> str:
    """Content file text with an `import_digest` of everything else in it (same scheme as ingest.emit)."""
    head = yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=False)
    text = f"---\n{head}---\n\n{body.strip()}\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text.replace("\n---\n", f"\n{DIGEST_KEY}: {digest}\n---\n", 1)


def fingerprint(value: Any) -> str:
    """`sha256:` hash of any JSON-able value: what `import_hash` records for web and feed sources."""
    data = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Draft:
    """An article ready to write. `key` identifies its source across runs (feed + entry id, or URL);
    `meta` must hold `import_hash`; a missing `date` is filled from the existing file, else `now`."""

    key: str
    meta: Mapping[str, Any]
    body: str
    compare_text: str = ""  # what near-duplicate detection reads (the full text, whatever is republished)
    also: Mapping[str, str] = field(default_factory=dict)  # {source, url} to record if grouped


@dataclass(frozen=True)
class Saved:
    status: Status
    path: Path
    message: str = ""


@dataclass
class _Record:
    path: Path
    meta: dict[str, Any]
    body: str
    text: str
    url: str  # site URL the article has


class ContentStore:
    """The content folder as importers see it: indexed once, then kept current as they write."""

    def __init__(self, content_dir: Path, tz: ZoneInfo, *, now: dt.datetime | None = None) -> None:
        self.content_dir = content_dir
        self.tz = tz
        self.now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self._by_key: dict[str, _Record] = {}
        self._by_path: dict[Path, _Record] = {}
        self._urls: set[str] = set()
        self._dupes = DuplicateIndex()
        if content_dir.is_dir():
            for source in scan(content_dir)[0]:
                self._load(Path(source.path))

    def _load(self, path: Path) -> _Record | None:
        try:
            text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
            rel = path.relative_to(self.content_dir).as_posix()
            article = parse_article(text, rel, self.tz)
            meta = split(text, rel)[0]  # as written: dates stay text, so rewriting keeps them as they were
        except (OSError, UnicodeDecodeError, BroadsheetError):
            return None  # the build reports broken files; here they only keep their name taken
        record = _Record(path, meta, article.body, text, article.url)
        self._remember(record)
        return record

    def _remember(self, record: _Record) -> None:
        old = self._by_path.get(record.path)
        if old is not None:
            self._urls.discard(old.url)
        self._by_path[record.path] = record
        self._urls.add(record.url)
        for key in _keys(record.meta):
            self._by_key[key] = record
        self._dupes.add(str(record.path), record.body)

    def find(self, key: str) -> Path | None:
        record = self._by_key.get(key)
        return record.path if record else None

    def exists(self, path: Path) -> bool:
        return path in self._by_path

    def save(self, draft: Draft) -> Saved:
        record = self._by_key.get(draft.key)
        if record is not None:
            return self._update(record, draft)
        match = self._dupes.match(draft.compare_text or draft.body) if draft.also else None
        if match is not None:
            return self._group(self._by_path[Path(match[0])], draft, match[1])
        return self._create(draft)

    # --- the three ways an article lands --------------------------------------------------------
    def _update(self, record: _Record, draft: Draft) -> Saved:
        if record.meta.get("import_hash") == draft.meta.get("import_hash"):
            return Saved("unchanged", record.path)
        if _edited(record):
            return Saved("edited", record.path, "edited by hand since import; left as it is")
        meta = dict(draft.meta)
        meta.setdefault("date", record.meta["date"])
        if record.meta.get(ALSO_KEY):
            meta[ALSO_KEY] = record.meta[ALSO_KEY]
        meta = _ordered(meta)
        write_replace(record.path, document(meta, draft.body))
        self._load(record.path)
        return Saved("updated", record.path, "the source changed since the last import")

    def _group(self, canonical: _Record, draft: Draft, score: float) -> Saved:
        also = [dict(x) for x in canonical.meta.get(ALSO_KEY) or [] if isinstance(x, dict)]
        entry = {k: v for k, v in draft.also.items() if v}
        if entry.get("url") in {x.get("url") for x in also} or entry.get("url") == canonical.meta.get("original_url"):
            return Saved("grouped", canonical.path, f"already recorded on {canonical.path.name}")
        if _edited(canonical):
            note = f"a copy of {canonical.path.name} (edited by hand, so not noted on it)"
            return Saved("grouped", canonical.path, note)
        meta = dict(canonical.meta)
        meta[ALSO_KEY] = [*also, entry]
        meta.pop(DIGEST_KEY, None)
        write_replace(canonical.path, document(meta, canonical.body))
        self._load(canonical.path)
        return Saved("grouped", canonical.path, f"a copy of {canonical.path.name} ({score:.0%} alike)")

    def _create(self, draft: Draft) -> Saved:
        meta = dict(draft.meta)
        meta.setdefault("date", self.now.isoformat())
        when = _as_datetime(meta["date"], self.tz)
        folder = self.content_dir / f"{when:%Y}" / f"{when:%m}"
        base = slugify(str(meta.get("title", "")), fallback="article")
        for n in range(1, 1000):
            slug = base if n == 1 else f"{base}-{n}"
            target = folder / f"{slug}.md"
            if f"{when:%Y/%m/%d}/{slug}/" in self._urls or target.exists():
                continue
            if write_new(target, document(_ordered(meta), draft.body)):
                self._load(target)
                return Saved("new", target)
        raise BroadsheetError(f"too many articles named {base!r}", path=str(folder))


def _keys(meta: Mapping[str, Any]) -> list[str]:
    keys = []
    if meta.get("feed") and meta.get("feed_entry"):
        keys.append(entry_key(str(meta["feed"]), str(meta["feed_entry"])))
    if meta.get("original_url") and not meta.get("feed"):
        keys.append(page_key(str(meta["original_url"])))
    return keys


def entry_key(feed_url: str, entry_id: str) -> str:
    return f"entry {feed_url} {entry_id}"


def page_key(url: str) -> str:
    return f"page {url}"


_ORDER = ("title", "date", "authors", "source", "language", "image", "tags", "summary", "original_url")


def _ordered(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Contract keys first, provenance after: the order a person reading the file expects."""
    first = {k: meta[k] for k in _ORDER if k in meta}
    return {**first, **{k: v for k, v in meta.items() if k not in first}}


def _edited(record: _Record) -> bool:
    """Read the file again right before writing: a person may have saved it since we indexed it."""
    try:
        return edited_since_import(record.path.read_text(encoding="utf-8-sig").replace("\r\n", "\n"))
    except (OSError, UnicodeDecodeError):
        return True


def _as_datetime(value: Any, tz: ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=tz)
    else:
        text = str(value)
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=tz)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(tz)

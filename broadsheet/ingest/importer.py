"""`broadsheet import`: raw .txt articles -> content/YYYY/MM/<slug>.md, never losing the user's data.

Rules: the same source bytes are imported once (`import_hash`); a file a person edited since import
(its `import_digest` no longer matches) is never overwritten; a different article that wants a taken
file name gets `-2`, `-3`...; every write is a temp file in the same folder, then a rename.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from broadsheet.ingest.decode import NotText, decode
from broadsheet.ingest.emit import edited_since_import, to_markdown
from broadsheet.ingest.tags import extract_tags
from broadsheet.ingest.wire import parse_wire
from broadsheet.urls import slugify

_HASH_LINE = re.compile(r"^import_hash: ['\"]?(?:sha256:)?([0-9a-f]{64})['\"]?\s*$", re.M)
_FROM_LINE = re.compile(r"^imported_from: (.+?)\s*$", re.M)
MAX_INPUT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    status: str  # "wrote", "updated", "skipped", "refused"
    source: Path
    message: str

    @property
    def failed(self) -> bool:
        return self.status == "refused"

    def __str__(self) -> str:
        return f"{self.status} {self.source}: {self.message}"


def import_paths(
    paths: Sequence[Path],
    content_dir: Path,
    *,
    date: datetime.date | None = None,
    tag_aliases: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Import every .txt file (directories are walked for *.txt); print one line per input:
    wrote/skipped/refused with the reason; return the process exit code (0 ok, 1 if any input failed).
    `out` defaults to the standard output at call time (so a captured stdout is honoured)."""
    out = out or sys.stdout
    content_dir = Path(content_dir)
    index = _ImportIndex(content_dir)
    failed = 0
    counts: dict[str, int] = {}
    for source in _inputs(paths):
        if isinstance(source, Outcome):
            outcome = source
        else:
            outcome = import_file(source, content_dir, index, date=date, tag_aliases=tag_aliases)
        print(outcome, file=out)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        failed += outcome.failed
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no .txt files found"
    print(f"import: {summary}", file=out)
    return 1 if failed or not counts else 0


def _inputs(paths: Sequence[Path]) -> Iterator[Path | Outcome]:
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.txt") if p.is_file() and not p.name.startswith("."))
            if not found:
                yield Outcome("refused", path, "no .txt files in this folder")
        elif path.is_file():
            found = [path]
        else:
            yield Outcome("refused", path, "no such file or folder")
            continue
        for item in found:
            key = item.resolve()
            if key not in seen:
                seen.add(key)
                yield item


class _ImportIndex:
    """Which source hashes the content folder already holds, read once from the files' frontmatter."""

    def __init__(self, content_dir: Path) -> None:
        self.by_hash: dict[str, Path] = {}
        # Files written by this run: a second input with the same file name (from another folder)
        # is a different article, never a newer version of one imported a moment ago.
        self.written: set[Path] = set()
        if content_dir.is_dir():
            for path in sorted(content_dir.rglob("*.md")):
                m = _HASH_LINE.search(_head(path))
                if m:
                    self.by_hash.setdefault(m.group(1), path)


def _head(path: Path) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            text = handle.read(64 * 1024)
    except OSError:
        return ""
    end = text.find("\n---", 3)
    return text[: end if end > 0 else len(text)]


def import_file(
    source: Path,
    content_dir: Path,
    index: _ImportIndex,
    *,
    date: datetime.date | None = None,
    tag_aliases: Mapping[str, str] | None = None,
) -> Outcome:
    try:
        if source.stat().st_size > MAX_INPUT_BYTES:
            return Outcome("refused", source, f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB; not an article")
        data = source.read_bytes()
    except OSError as exc:
        return Outcome("refused", source, f"cannot read it ({exc.strerror or exc})")
    digest = hashlib.sha256(data).hexdigest()
    if digest in index.by_hash:
        return Outcome("skipped", source, f"already imported as {index.by_hash[digest]} (same source)")
    try:
        text = decode(data)
    except NotText as exc:
        return Outcome("refused", source, f"{exc}; nothing written")
    article = parse_wire(text)
    if article.date is None and date is not None:
        article = replace(article, date=date, time=None, timezone=None, utc_offset=None)
    missing = article.missing()
    if missing:
        hint = " (pass --date YYYY-MM-DD to supply the date)" if article.date is None else ""
        return Outcome("refused", source, f"{'; '.join(missing)}{hint}; nothing written")
    assert article.date is not None and article.title is not None
    article = replace(article, tags=extract_tags(article, tag_aliases))
    provenance = {"imported_from": source.name, "import_hash": f"sha256:{digest}"}
    new_text = to_markdown(article, provenance)

    folder = content_dir / f"{article.date:%Y}" / f"{article.date:%m}"
    slug = slugify(article.title, fallback="article")
    for n in range(1, 1000):
        target = folder / (f"{slug}.md" if n == 1 else f"{slug}-{n}.md")
        if not target.exists():
            if write_new(target, new_text):
                index.by_hash[digest] = target
                index.written.add(target)
                return Outcome("wrote", source, str(target))
            continue  # someone created it between our check and our write: try the next name
        existing = target.read_text(encoding="utf-8", errors="replace")
        from_line = _FROM_LINE.search(_head(target))
        same_source = from_line is not None and from_line.group(1).strip("'\"") == source.name
        if not same_source or target in index.written:
            continue  # a different article (or a hand-written file) owns this name
        if edited_since_import(existing):
            return Outcome(
                "refused", source,
                f"{target} was edited since it was imported; not overwriting it "
                "(delete or rename that file to import this version)",
            )  # fmt: skip
        write_replace(target, new_text)
        index.by_hash[digest] = target
        index.written.add(target)
        return Outcome("updated", source, f"{target} (the source changed since the last import)")
    return Outcome("refused", source, f"too many articles named {slug!r} in {folder}")


def _temp_in(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_new(target: Path, text: str) -> bool:
    """Create `target` atomically; False (and nothing changed) if it already exists."""
    temp = _temp_in(target.parent, text)
    try:
        os.link(temp, target)  # fails rather than replacing a file that appeared meanwhile
    except FileExistsError:
        return False
    except OSError:
        # File systems without hard links: fall back to an exclusive create check plus rename.
        if target.exists():
            return False
        os.replace(temp, target)
        return True
    finally:
        temp.unlink(missing_ok=True)
    return True


def write_replace(target: Path, text: str) -> None:
    temp = _temp_in(target.parent, text)
    try:
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)

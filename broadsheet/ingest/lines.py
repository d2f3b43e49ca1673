"""Text -> units: the paragraphs, lines and list items an article is made of, before any meaning.

Copied text comes in three shapes that need different handling: blank-line paragraphs, one paragraph
per line (single newlines), and paragraphs hard-wrapped at a fixed width. A wrapped file is recognised
by many lines ending near the same column; only then are neighbouring lines joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from broadsheet.ingest.dates import is_date_line

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
BULLET_RE = re.compile(r"^\s*(?P<mark>[•●▪◦‣∙*\-–—]|(?P<num>\d{1,2})[.)])\s+(?P<text>\S.*)$")
_BYLINE_START = re.compile(r"^(by|von|por|par)\s", re.IGNORECASE)
WRAP_LIMIT = 100  # lines longer than this were not wrapped by hand or by a mailer


@dataclass(frozen=True)
class Unit:
    """One paragraph, line or list item. `line` is its first line number in the source (1-based)."""

    text: str
    line: int
    group: int  # units in the same group had no blank line between them
    bullet: str | None = None  # "-" for bullets, "1" (the number) for numbered items


def clean_text(text: str) -> str:
    """Remove invisible characters and non-breaking spaces, which copied web text is full of."""
    text = text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(_SPACES.sub(" ", line).rstrip() for line in text.split("\n"))


def wrap_width(lines: list[str]) -> int | None:
    """The column the text was hard-wrapped at, or None when it was not wrapped."""
    lengths = [len(line) for line in lines if line.strip()]
    if not lengths:
        return None
    short = [n for n in lengths if n <= WRAP_LIMIT]
    if len(short) < 0.9 * len(lengths) or not short:
        return None
    width = max(short)
    near = sum(1 for n in short if n >= width - 12)
    return width if near >= 3 and width >= 40 else None


def _starts_new_unit(line: str) -> bool:
    stripped = line.strip()
    return bool(_BYLINE_START.match(stripped)) or is_date_line(stripped)


def split_units(text: str) -> list[Unit]:
    """Split cleaned text into units, joining wrapped lines and list-item continuations."""
    raw_lines = text.split("\n")
    width = wrap_width(raw_lines)
    units: list[Unit] = []
    current: list[str] = []  # physical lines of the unit being built
    current_meta: tuple[int, int, str | None] = (0, 0, None)
    group = 0
    previous_blank = True

    def flush() -> None:
        if current:
            line_no, grp, bullet = current_meta
            units.append(Unit(_join(current), line_no, grp, bullet))
            current.clear()

    for number, line in enumerate(raw_lines, start=1):
        if not line.strip():
            flush()
            if not previous_blank:
                group += 1
            previous_blank = True
            continue
        previous_blank = False
        bullet = BULLET_RE.match(line)
        is_item = bullet is not None and not is_date_line(line.strip()) and not _is_rule(line)
        indented = line[:1] == " "
        if current and not is_item:
            prev = current[-1]
            continues_item = current_meta[2] is not None and indented
            if continues_item or (width and _wrapped(prev, line, width) and not _starts_new_unit(line)):
                current.append(line.strip())
                continue
        flush()
        if is_item:
            assert bullet is not None
            mark = bullet.group("num") or "-"
            current_meta = (number, group, mark)
            current.append(bullet.group("text").strip())
        else:
            current_meta = (number, group, None)
            current.append(line.strip())
    flush()
    return units


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\s*[-–—_*=~#•·\s]{3,}", line))


def _wrapped(prev: str, line: str, width: int) -> bool:
    """True when `prev` ended only because the next word would not fit in the column."""
    prev = prev.rstrip()
    if len(prev) < 0.6 * width or _starts_new_unit(prev):
        return False
    first_word = line.strip().split(" ", 1)[0]
    return len(prev) + 1 + len(first_word) > width - 6


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        # A compound broken at its hyphen ("Norfolk-\nbased") is one word again.
        if re.search(r"[^\W\d_]-$", text) and line[:1].islower():
            text += line
        else:
            text += " " + line
    return text.strip()

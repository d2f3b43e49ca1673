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
_ENDS_SENTENCE = re.compile(r"[.!?]['\"”’»)]*$")
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
    """The column the text was hard-wrapped at, or None when it was not wrapped.

    Only lines followed by another line of the same paragraph can have been wrapped, so the last
    line of each paragraph (and a lone headline) does not count.
    """
    lines = [line for line, after in zip(lines, [*lines[1:], ""], strict=True) if line.strip() and after.strip()]
    lengths = [len(line) for line in lines]
    if not lengths:
        return None
    short = [n for n in lengths if n <= WRAP_LIMIT]
    if len(short) < 0.9 * len(lengths) or not short:
        return None
    width = max(short)
    near = [line.rstrip() for line in lines if width - 12 <= len(line) <= width]
    # Wrapping breaks lines mid-sentence; lines that all end in full stops are separate paragraphs.
    open_ended = sum(1 for line in near if not re.search(r"[.!?:]['\"”’»)]*$", line))
    return width if len(near) >= 3 and width >= 40 and open_ended >= max(1, len(near) // 4) else None


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
            # A line that starts in lower case continues a sentence, whatever the layout.
            continues_sentence = line.lstrip()[:1].islower() and not re.search(r"[.!?]['\"”’»)]*$", prev)
            wrapped = width is not None and _wrapped(prev, line, width)
            # "Tuesday." alone under a long unfinished line is the end of that line's sentence.
            tail = (
                len(prev) >= 40
                and not _ENDS_SENTENCE.search(prev)
                and len(line.split()) <= 3
                and bool(_ENDS_SENTENCE.search(line))
            )
            if continues_item or continues_sentence or tail or (wrapped and not _starts_new_unit(line)):
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
    # A line ending a sentence before the next starts a capitalised one may end a paragraph: only a
    # word that truly would not fit proves it was wrapped.
    slack = 0 if re.search(r"[.!?:]['\"”’»)]*$", prev) and first_word[:1].isupper() else 6
    return len(prev) + 1 + len(first_word) > width - slack


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        # A compound broken at its hyphen ("Norfolk-\nbased") is one word again.
        if re.search(r"[^\W\d_]-$", text) and line[:1].islower():
            text += line
        else:
            text += " " + line
    return text.strip()

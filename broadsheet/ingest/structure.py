"""What each unit of an article is: head material (headline, byline, date, caption), body or clutter.

Works on the units from `lines.split_units` and the clutter kinds from `boilerplate.classify`; the
result says, per unit, which role it plays. `wire.parse_wire` then reads the fields from those roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from broadsheet.ingest.boilerplate import Kind, classify
from broadsheet.ingest.bylines import is_outlet_line, parse_byline, parse_name_line
from broadsheet.ingest.dates import is_date_line
from broadsheet.ingest.headline import parse_caption
from broadsheet.ingest.lines import Unit


class Role(Enum):
    CLUTTER = "clutter"  # see Analysis.kinds for what kind
    HEADLINE = "headline"
    DEK = "dek"
    BYLINE = "byline"
    NAME = "name"  # byline without "By"
    OUTLET = "outlet"
    DATE = "date"
    CAPTION = "caption"
    PARAGRAPH = "paragraph"
    HEADING = "heading"
    ITEM = "item"
    QUOTE = "quote"
    OTHER = "other"  # head or tail text that is none of the above; not body


_TERMINAL = re.compile(r"[.!?…:;]['\"”’»)\]]*$")


def is_prose(text: str) -> bool:
    """A sentence-shaped paragraph: long enough and ending like a sentence."""
    words = len(text.split())
    return (len(text) >= 60 and words >= 8 and bool(_TERMINAL.search(text))) or len(text) >= 160


def _is_sentence(text: str) -> bool:
    """Prose, a full quotation, or a short sentence ("Glencore declined to comment.")."""
    return (
        is_prose(text)
        or bool(_quoted(text))
        or (len(text.split()) >= 3 and bool(re.search(r"[.!?…]['\"”’»)]*$", text)) and text[:1].isupper())
    )


def headline_strength(text: str) -> int:
    """2 for a likely headline, 1 for a possible one, 0 for text that cannot be one."""
    words = len(text.split())
    if len(text) > 200 or words < 1 or re.search(r"[.!,;:]$", text):
        return 0
    if not text[:1].isalnum() and not re.match(r"^[\"“‘'«¿¡]", text):
        return 0  # headlines open with a letter, a digit or a quotation mark
    return 2 if words >= 4 else 1


def _is_heading(text: str) -> bool:
    words = text.split()
    return (
        1 <= len(words) <= 10
        and len(text) <= 80
        and not re.search(r"[.,;:!\"”»)]$", text)
        and (text[:1].isupper() or text[:1].isdigit())
    )


def _quoted(text: str) -> str | None:
    m = re.fullmatch(r"[\"“„«‘]\s*(.+?)\s*[\"”“»’]", text)
    return m.group(1) if m and not re.search(r"[\"“”„«»]", m.group(1)) else None


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


@dataclass(frozen=True)
class Analysis:
    units: tuple[Unit, ...]
    kinds: tuple[Kind | None, ...]
    roles: tuple[Role, ...]
    is_press_release: bool


def analyse(units: list[Unit]) -> Analysis:
    kinds: list[Kind | None] = [classify(u.text) for u in units]
    press_release = any(k is Kind.PR_SOURCE for k in kinds) or any(
        re.search(
            r"[/(]\s*(pr ?newswire|globe ?newswire|business ?wire|accesswire)\s*[/)]|for immediate release",
            u.text,
            re.I,
        )
        for u in units
    )
    _absorb_blocks(units, kinds, press_release)
    roles = [Role.CLUTTER if k else Role.OTHER for k in kinds]
    start = _find_body_start(units, kinds, roles)
    _assign_body(units, kinds, roles, start)
    return Analysis(tuple(units), tuple(kinds), tuple(roles), press_release)


def _absorb_blocks(units: list[Unit], kinds: list[Kind | None], press_release: bool) -> None:
    """Clutter that spans units: link lists under "Most Read", contact blocks, a release's About section."""
    for i, kind in enumerate(kinds):
        if kind is Kind.RECIRCULATION:
            j = i + 1
            while j < len(units) and kinds[j] is None:
                u = units[j]
                if (
                    u.bullet
                    or (u.group == units[i].group and not is_prose(u.text))
                    or (len(u.text) < 100 and not _TERMINAL.search(u.text))
                ):
                    kinds[j] = Kind.JUNK
                    j += 1
                else:
                    break
        elif kind is Kind.PR_CONTACT:
            j = i + 1
            while j < len(units) and kinds[j] in (None, Kind.JUNK):
                if kinds[j] is None and (len(units[j].text) > 80 or is_prose(units[j].text)):
                    break
                kinds[j] = Kind.JUNK
                j += 1
        elif kind is Kind.PR_ABOUT and press_release:
            for j in range(i + 1, len(units)):
                if kinds[j] is None or kinds[j] is Kind.PR_ABOUT:
                    kinds[j] = Kind.JUNK
        elif kind is Kind.PR_ABOUT:
            kinds[i] = None  # an ordinary subheading outside press releases


def _head_role(text: str) -> Role:
    if parse_caption(text):
        return Role.CAPTION
    if is_date_line(text):
        return Role.DATE
    if parse_byline(text):
        return Role.BYLINE
    if parse_name_line(text):
        return Role.NAME
    if is_outlet_line(text):
        return Role.OUTLET
    if is_prose(text):
        return Role.PARAGRAPH
    if headline_strength(text):
        return Role.HEADLINE
    return Role.OTHER


def _find_body_start(units: list[Unit], kinds: list[Kind | None], roles: list[Role]) -> int:
    """Index of the first body paragraph; roles of the head units before it are filled in."""
    seen_headline = False
    n = len(units)
    for i, unit in enumerate(units):
        if kinds[i]:
            continue
        role = _head_role(unit.text)
        if role is Role.PARAGRAPH and unit.bullet is None:
            if seen_headline and not _is_dek(units, kinds, i):
                _pick_headline(units, kinds, roles, i)
                return _first_sentence_after_head(units, kinds, roles, i)
            role = Role.DEK if seen_headline else Role.OTHER
        if role is Role.HEADLINE and unit.bullet is None:
            seen_headline = True
        roles[i] = role
    _pick_headline(units, kinds, roles, n)
    return _first_sentence_after_head(units, kinds, roles, n)


def _first_sentence_after_head(units: list[Unit], kinds: list[Kind | None], roles: list[Role], start: int) -> int:
    """Where the body starts, given its first paragraph long enough to be sure of (`start`, or the
    end): at a shorter sentence before it, if one follows the head's last byline or date ("The
    council delayed the vote." opening a brief), which would otherwise be lost."""
    anchors = [i for i in range(start) if roles[i] in (Role.BYLINE, Role.DATE)]
    for i in range(anchors[-1] + 1 if anchors else start, start):
        if not kinds[i] and units[i].bullet is None and _is_sentence(units[i].text):
            return i
    return start


def _is_dek(units: list[Unit], kinds: list[Kind | None], i: int) -> bool:
    """A standfirst: a sentence under the headline that still has the byline or date after it."""
    following = [j for j in range(i + 1, len(units)) if not kinds[j]][:3]
    return any(_head_role(units[j].text) in (Role.BYLINE, Role.DATE) for j in following)


def _pick_headline(units: list[Unit], kinds: list[Kind | None], roles: list[Role], end: int) -> None:
    """Keep one HEADLINE: the last candidate before the first byline/date/caption that follows one."""
    candidates = [i for i in range(end) if roles[i] is Role.HEADLINE]
    strong = [i for i in candidates if headline_strength(units[i].text) == 2]
    pool = strong or candidates
    if not pool:
        return
    anchors = [i for i in range(end) if roles[i] in (Role.BYLINE, Role.DATE, Role.CAPTION, Role.NAME)]
    chosen = pool[-1]
    for anchor in anchors:
        before = [c for c in pool if c < anchor]
        if before:
            chosen = before[-1]
            break
    for i in candidates:
        if i != chosen:
            roles[i] = Role.OTHER
    for i in range(end):
        # Only a byline after the headline counts; a name before it is a masthead or a kicker.
        if roles[i] in (Role.NAME, Role.DEK) and i < chosen:
            roles[i] = Role.OTHER


def _assign_body(units: list[Unit], kinds: list[Kind | None], roles: list[Role], start: int) -> None:
    for i in range(start, len(units)):
        if kinds[i]:
            continue
        unit = units[i]
        text = unit.text
        if unit.bullet:
            roles[i] = Role.ITEM
        elif parse_caption(text):
            roles[i] = Role.CAPTION
        elif is_date_line(text):
            roles[i] = Role.DATE
        else:
            roles[i] = Role.PARAGRAPH
    # Tail: after the last real paragraph or list, leftovers are page furniture.
    last = max((i for i in range(start, len(units)) if roles[i] is Role.ITEM
                or (roles[i] is Role.PARAGRAPH and _is_sentence(units[i].text))),
               default=start - 1)  # fmt: skip
    for i in range(last + 1, len(units)):
        if roles[i] in (Role.PARAGRAPH, Role.ITEM):
            roles[i] = Role.OTHER
    paragraphs = [i for i in range(start, last + 1) if roles[i] is Role.PARAGRAPH]
    texts = {i: _norm(units[i].text) for i in paragraphs}
    for pos, i in enumerate(paragraphs):
        text = units[i].text
        if pos > 0 and not is_prose(text) and _is_heading(text) and _next_is_body(roles, i, last):
            roles[i] = Role.HEADING
            continue
        inner = _quoted(text)
        if inner and any(_norm(inner) in t and j != i for j, t in texts.items()):
            roles[i] = Role.QUOTE


def _next_is_body(roles: list[Role], i: int, last: int) -> bool:
    for j in range(i + 1, last + 1):
        if roles[j] in (Role.PARAGRAPH, Role.ITEM, Role.QUOTE):
            return True
        if roles[j] is Role.HEADING:
            return False
    return False

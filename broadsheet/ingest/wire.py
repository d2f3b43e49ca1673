"""Plain-text news article -> RawArticle. Pure: text in, record out; never raises on odd text."""

from __future__ import annotations

import datetime as dt
import re

from broadsheet.ingest.article import Block, Caption, RawArticle
from broadsheet.ingest.boilerplate import PR_ABOUT_RE, PR_SOURCE_RE, Kind, correction_text, note_text
from broadsheet.ingest.bylines import parse_byline, parse_name_line, reporters
from broadsheet.ingest.dates import find_dates, find_moments, pick_publication
from broadsheet.ingest.headline import clean_headline, parse_caption
from broadsheet.ingest.lines import clean_text, split_units
from broadsheet.ingest.sources import (
    agency_in_marker,
    canonical_distributor,
    canonical_source,
    copyright_holder,
    copyright_notice,
    find_dateline,
    release_issuer,
)
from broadsheet.ingest.stopwords import detect_language
from broadsheet.ingest.structure import Analysis, Role, analyse


def parse_wire(text: str) -> RawArticle:
    """Read a wire story, web page copy or press release saved as plain text."""
    units = split_units(clean_text(text))
    a = analyse(units)
    # Numeric dates read day-first except in English copy; the language is known from the text.
    dayfirst = detect_language(" ".join(u.text for u in units)) != "en"
    blocks = _blocks(a)
    title_prefix, title = None, None
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.HEADLINE:
            title_prefix, title = clean_headline(unit.text)
            break
    authors, byline_outlet = _authors(a)
    moment = _moment(a, dayfirst)
    first = blocks[0].text if blocks and blocks[0].kind == "paragraph" else ""
    dateline = find_dateline(first) if first else None
    day = moment.date if moment else None
    if day is None and dateline:
        found = find_dates(dateline.date_text)
        day = found[0][0] if found else None
    copyright_line = _first_text(a, Kind.COPYRIGHT)
    notice = copyright_notice(copyright_line) if copyright_line else None
    body_text = " ".join(b.text or " ".join(b.items) for b in blocks)
    return RawArticle(
        title=title,
        title_prefix=title_prefix,
        date=day,
        time=moment.time if moment else None,
        timezone=moment.zone if moment and moment.time else None,
        utc_offset=moment.utc_offset() if moment else None,
        blocks=tuple(blocks),
        authors=tuple(authors),
        source=_source(a, dateline.agency if dateline else None, notice, byline_outlet, first),
        distributor=_distributor(a, dateline.distributor if dateline else None),
        copyright=notice,
        dateline=dateline.place if dateline else None,
        language=detect_language(f"{title or ''} {body_text}"),
        image=_image(a),
        editor_note=_joined(a, Kind.EDITOR_NOTE, note_text),
        correction=_joined(a, Kind.CORRECTION, correction_text),
        summary=_first_role(a, Role.DEK),
    )


def _blocks(a: Analysis) -> list[Block]:
    blocks: list[Block] = []
    items: list[str] = []
    ordered = False
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.ITEM:
            if not items:
                ordered = unit.bullet != "-"
            items.append(unit.text)
            continue
        if role in (Role.PARAGRAPH, Role.HEADING, Role.QUOTE) or role is Role.CLUTTER:
            if items and role is not Role.CLUTTER:
                blocks.append(Block("list", items=tuple(items), ordered=ordered))
                items = []
            if role is Role.PARAGRAPH:
                blocks.append(Block("paragraph", unit.text))
            elif role is Role.HEADING:
                blocks.append(Block("heading", unit.text))
            elif role is Role.QUOTE:
                blocks.append(Block("quote", unit.text))
    if items:
        blocks.append(Block("list", items=tuple(items), ordered=ordered))
    return blocks


def _authors(a: Analysis) -> tuple[list[str], str | None]:
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.BYLINE:
            parsed = parse_byline(unit.text)
            if parsed:
                return parsed
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.NAME:
            parsed = parse_name_line(unit.text)
            if parsed:
                return parsed
    names: list[str] = []
    for unit, kind in zip(a.units, a.kinds, strict=True):
        if kind is Kind.CREDIT:
            names += [n for n in reporters(unit.text) if n not in names]
    return names, None


def _moment(a: Analysis, dayfirst: bool):  # noqa: ANN202 - Moment | None
    moments = []
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.DATE:
            moments += find_moments(unit.text, dayfirst=dayfirst)
        if role in (Role.PARAGRAPH, Role.ITEM, Role.HEADING) and moments:
            break  # dates after the body starts are updates or asides, not the publication date
    return pick_publication(moments)


def _first_text(a: Analysis, kind: Kind) -> str | None:
    return next((u.text for u, k in zip(a.units, a.kinds, strict=True) if k is kind), None)


def _first_role(a: Analysis, role: Role) -> str | None:
    return next((u.text for u, r in zip(a.units, a.roles, strict=True) if r is role), None)


def _joined(a: Analysis, kind: Kind, extract) -> str | None:  # noqa: ANN001 - str -> str | None
    texts = [extract(u.text) for u, k in zip(a.units, a.kinds, strict=True) if k is kind]
    texts = [t for t in texts if t]
    return " ".join(texts) or None


def _source(a: Analysis, agency: str | None, notice: str | None, byline_outlet: str | None, first: str) -> str | None:
    if a.is_press_release:
        for unit, kind in zip(a.units, a.kinds, strict=True):
            m = PR_SOURCE_RE.match(unit.text) if kind is Kind.PR_SOURCE else None
            if m:
                return canonical_source(m.group("name"))
        for unit in a.units:
            m = PR_ABOUT_RE.match(unit.text)
            if m:
                return canonical_source(m.group("name"))
        issuer = release_issuer(first)
        if issuer:
            return issuer
    if agency:
        return agency
    holder = copyright_holder(notice) if notice else None
    if holder:
        return holder
    if byline_outlet:
        return canonical_source(byline_outlet)
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.OUTLET:
            return canonical_source(unit.text)
    for unit, kind in zip(a.units, a.kinds, strict=True):
        if kind is Kind.CREDIT:
            found = agency_in_marker(unit.text)
            if found:
                return found
    return None


def _distributor(a: Analysis, from_dateline: str | None) -> str | None:
    if from_dateline:
        return from_dateline
    for unit, kind in zip(a.units, a.kinds, strict=True):
        if kind in (Kind.DISTRIBUTION, Kind.COPYRIGHT):
            m = re.search(r"(distributed by|distribué par|distribuido por)\s+(?P<name>.+)", unit.text, re.I)
            if m:
                return canonical_distributor(m.group("name")) or canonical_source(m.group("name"))
    return None


def _image(a: Analysis) -> Caption | None:
    for unit, role in zip(a.units, a.roles, strict=True):
        if role is Role.CAPTION:
            return parse_caption(unit.text)
    return None


def has_time(article: RawArticle) -> bool:
    return isinstance(article.time, dt.time)

"""Dates, times and time zones as news pages print them, in English, German, Spanish and French."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_MONTH_NAMES = {
    1: "january jan enero ene janvier janv januar jänner jän",
    2: "february feb febrero février fevrier févr fevr februar",
    3: "march mar marzo mars märz maerz mär mrz",
    4: "april apr abril abr avril avr",
    5: "may mayo mai",
    6: "june jun junio juin juni",
    7: "july jul julio juillet juil juli",
    8: "august aug agosto ago août aout",
    9: "september sept sep septiembre setiembre set septembre",
    10: "october oct octubre octobre oktober okt",
    11: "november nov noviembre novembre",
    12: "december dec diciembre dic décembre decembre déc dezember dez",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH = "(?:" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?(?![\w])"

_WEEKDAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|"
    "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag|"
    "lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo|"
    "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
)
WEEKDAY_NAMES = frozenset(_WEEKDAYS.split("|"))
WEEKDAY_RE = re.compile(rf"\b(?:{_WEEKDAYS})\b\.?,?", re.IGNORECASE)

_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|º|°)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)(?!\d)"
DATE_PATTERNS = (
    # August 8, 2023 / Jan. 9, 2026 / Sept 12 2023
    re.compile(rf"(?<!\w)(?P<mon>{_MONTH})\s*{_DAY},?\s+{_YEAR}", re.IGNORECASE),
    # 12. März 2024 / 14 septiembre 2022 / 14 de septiembre de 2022 / 7 novembre 2023
    re.compile(rf"(?<![\w.]){_DAY}\.?\s+(?:de\s+)?(?P<mon>{_MONTH}),?\s+(?:de\s+)?{_YEAR}", re.IGNORECASE),
    # 2024-03-12
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)-(?P<mon>[01]?\d)-(?P<day>[0-3]?\d)(?!\d)"),
    # 12.03.2024 (day first, as in German and most of Europe)
    re.compile(r"(?<![\d.])(?P<day>[0-3]?\d)\.(?P<mon>[01]?\d)\.(?P<year>(?:19|20)\d\d)(?!\d)"),
    # 03/12/2024 (month first, as in US copy)
    re.compile(r"(?<![\d/])(?P<mon>[01]?\d)/(?P<day>[0-3]?\d)/(?P<year>(?:19|20)\d\d)(?!\d)"),
)
# A date without a year, as wire datelines print it ("Sept 12", "14 Sep.").
PARTIAL_DATE_RE = re.compile(rf"(?<!\w)(?:{_MONTH}\s*[0-3]?\d\b|[0-3]?\d\.?\s+(?:de\s+)?{_MONTH})", re.IGNORECASE)

_AMPM = r"(?:[ap]\.\s?m\.|[ap]m\b|[AP]\.\s?M\.|[AP]M\b)"
TIME_RE = re.compile(
    rf"(?<![\d.:/])(?P<h>[0-2]?\d)(?:(?P<sep>[:.h])(?P<m>[0-5]\d)|(?=\s*{_AMPM})|h(?!\w))"
    rf"(?:\s*(?P<ampm>{_AMPM}))?(?:\s*Uhr\b)?(?!\d)",
)

# Fixed offsets for labels that name one; generic US labels (ET, CT...) depend on the date.
_FIXED = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "MEZ": 1, "CEST": 2, "MESZ": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "IST": 5.5, "SGT": 8, "HKT": 8, "JST": 9, "KST": 9, "AEST": 10,
    "AEDT": 11, "NZST": 12, "NZDT": 13, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5,
}  # fmt: skip
_GENERIC = {
    "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles",
}  # fmt: skip
# Press-release wires spell the zone out ("Eastern Standard Time").
_LONG_ZONES = {
    f"{region} {kind} Time": f"{region[0]}{kind[0] if kind != 'Time' else ''}T"
    for region in ("Eastern", "Central", "Mountain", "Pacific")
    for kind in ("Standard", "Daylight")
} | {f"{region} Time": f"{region[0]}T" for region in ("Eastern", "Central", "Mountain", "Pacific")}
_ZONE_NAMES = sorted([*_FIXED, *_GENERIC, *_LONG_ZONES], key=len, reverse=True)
ZONE_RE = re.compile(
    r"\(?(?P<tz>(?:GMT|UTC)\s?[+\-−]\s?\d{1,2}(?::?\d\d)?|" + "|".join(_ZONE_NAMES) + r")\)?(?![\w+\-])"
)

PUBLISHED = "published"
UPDATED = "updated"
_LABELS = {
    PUBLISHED: r"published|posted|first published|originally published|publicado|publicada|publicación|"
    r"publié|publiée|publie|veröffentlicht|erschienen|créé|creado",
    UPDATED: r"updated|last updated|modified|actualizado|actualizada|act\.|actualización|modifié|modifiée|"
    r"mis à jour|mise à jour|aktualisiert|geändert|stand",
}
LABEL_RE = re.compile(
    r"(?<!\w)(?:(?P<published>" + _LABELS[PUBLISHED] + r")|(?P<updated>" + _LABELS[UPDATED] + r"))(?!\w)",
    re.IGNORECASE,
)
# Words that may share a date line with the date itself.
_FILLER_RE = re.compile(
    r"(?<!\w)(?:on|at|le|la|el|de|a|à|las|um|am|den|der|du|et|y|und|and|the|uhr|\d+\s+(?:hours?|minutes?|mins?|"
    r"days?|hrs?)\s+ago|hace\s+\d+\s+\w+|il y a\s+\d+\s+\w+|vor\s+\d+\s+\w+)(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Moment:
    """A date found in text, with the printed time and zone label if they were given."""

    date: dt.date
    time: dt.time | None
    zone: str | None
    label: str | None  # PUBLISHED, UPDATED or None
    start: int
    end: int

    def utc_offset(self) -> dt.timedelta | None:
        return zone_offset(self.zone, self.date, self.time) if self.zone and self.time else None


def find_dates(text: str, *, dayfirst: bool = False) -> list[tuple[dt.date, int, int]]:
    """Every complete calendar date in `text` as (date, start, end), in order, without overlaps.

    `dayfirst` reads 03/12/2024 as 3 December (European copy) instead of March 12 (US copy); a date
    that is only valid one way round is read that way.
    """
    found: list[tuple[dt.date, int, int]] = []
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for _, s, e in found):
                continue
            month, day = m.group("mon"), m.group("day")
            number = int(month) if month.isdigit() else MONTHS.get(month.lower().rstrip("."))
            if number is None:
                continue
            orders = [(number, int(day))]
            if "/" in m.group():
                orders.insert(0 if dayfirst else 1, (int(day), number))
            for mon, dd in orders:
                try:
                    found.append((dt.date(int(m.group("year")), mon, dd), m.start(), m.end()))
                    break
                except ValueError:
                    continue
    return sorted(found, key=lambda item: item[1])


def find_moments(line: str, *, dayfirst: bool = False) -> list[Moment]:
    """Dates on a date line, each with the time and zone printed beside it and its label."""
    labels = [(m.start(), PUBLISHED if m.group("published") else UPDATED) for m in LABEL_RE.finditer(line)]
    dates = find_dates(line, dayfirst=dayfirst)
    moments = []
    for index, (day, start, end) in enumerate(dates):
        label = None
        for pos, kind in labels:
            if pos < start:
                label = kind
        # The segment that belongs to this date: from the previous date/label to the next one.
        seg_start = max([dates[index - 1][2]] if index else [0])
        seg_start = max([seg_start] + [p for p, _ in labels if p < start])
        seg_end = min([len(line)] + [p for p, _ in labels if p > end] + [s for _, s, _ in dates[index + 1 :]])
        when, zone = find_time(line[seg_start:start] + " \x00 " + line[end:seg_end])
        moments.append(Moment(day, when, zone, label, start, end))
    return moments


def find_time(text: str) -> tuple[dt.time | None, str | None]:
    """The first clock time in `text` (12- or 24-hour) and the zone label right after it."""
    for m in TIME_RE.finditer(text):
        hour, minute = int(m.group("h")), int(m.group("m") or 0)
        ampm = (m.group("ampm") or "").lower().replace(".", "").replace(" ", "")
        if m.group("sep") == "." and not ampm and m.group("h") and len(m.group("h")) == 1:
            continue  # "5.3" is a number, not a time; "06.00" is a time
        if ampm:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        if hour > 23:
            continue
        after = m.end()
        while after < len(text) and text[after] in " ,":
            after += 1
        zone_match = ZONE_RE.match(text, after)
        zone = None
        if zone_match:
            zone = zone_match.group("tz").replace("−", "-")
            if zone.startswith(("GMT", "UTC")):
                zone = zone.replace(" ", "")
        return dt.time(hour, minute), zone
    return None, None


def zone_offset(zone: str, day: dt.date, when: dt.time | None) -> dt.timedelta | None:
    """UTC offset a printed zone label meant on that day, or None for labels we do not know."""
    m = re.fullmatch(r"(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d\d))?", zone)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    zone = _LONG_ZONES.get(zone, zone)
    if zone in _FIXED:
        return dt.timedelta(hours=_FIXED[zone])
    if zone in _GENERIC:
        local = dt.datetime.combine(day, when or dt.time(12), tzinfo=ZoneInfo(_GENERIC[zone]))
        return local.utcoffset()
    return None


def is_date_line(text: str) -> bool:
    """A short line that is a date stamp (with its label, weekday, time and zone) and little else."""
    if len(text) > 140 or not find_dates(text):
        return False
    rest = text
    for _, start, end in reversed(find_dates(text)):
        rest = rest[:start] + " " + rest[end:]
    rest = LABEL_RE.sub(" ", rest)
    rest = TIME_RE.sub(" ", rest)
    rest = ZONE_RE.sub(" ", rest)
    rest = WEEKDAY_RE.sub(" ", rest)
    rest = _FILLER_RE.sub(" ", rest)
    words = re.findall(r"[^\W\d_]{2,}", rest)
    return len(words) <= 2


def pick_publication(moments: list[Moment]) -> Moment | None:
    """The published moment if one is printed (or unlabelled), else the first updated one."""
    for moment in moments:
        if moment.label != UPDATED:
            return moment
    return moments[0] if moments else None

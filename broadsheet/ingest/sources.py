"""Who wrote and who distributed a piece: agency markers, copyright holders, wire names, datelines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from broadsheet.ingest.dates import PARTIAL_DATE_RE, find_dates

# Spellings agencies use for themselves in markers, bylines and notices -> the name readers know.
_AGENCIES = {
    "ap": "Associated Press", "associated press": "Associated Press", "the associated press": "Associated Press",
    "reuters": "Reuters", "thomson reuters": "Reuters", "bloomberg": "Bloomberg", "bloomberg news": "Bloomberg",
    "afp": "AFP", "agence france-presse": "AFP", "agence france presse": "AFP", "dpa": "dpa",
    "dpa-infocom": "dpa", "deutsche presse-agentur": "dpa", "efe": "EFE", "agencia efe": "EFE",
    "europa press": "Europa Press", "ansa": "ANSA", "upi": "UPI", "xinhua": "Xinhua", "kyodo": "Kyodo",
    "apa": "APA", "sda": "SDA", "belga": "Belga", "anp": "ANP", "tass": "TASS", "pa": "PA Media",
    "pa media": "PA Media", "cnn": "CNN", "bbc": "BBC", "kna": "KNA", "epd": "epd", "rtr": "Reuters",
}  # fmt: skip
_DISTRIBUTORS = [
    (re.compile(r"tribune (content agency|news service|media services)|\bTNS\b", re.I), "Tribune Content Agency"),
    (re.compile(r"pr ?newswire", re.I), "PRNewswire"),
    (re.compile(r"globe ?newswire", re.I), "GlobeNewswire"),
    (re.compile(r"business ?wire", re.I), "Business Wire"),
    (re.compile(r"accesswire", re.I), "ACCESSWIRE"),
    (re.compile(r"newswire\.com|\bnewswire\b", re.I), "Newswire"),
    (re.compile(r"andrews mcmeel", re.I), "Andrews McMeel Syndication"),
    (re.compile(r"washington post (news service|writers group)", re.I), "Washington Post News Service"),
    (re.compile(r"new york times (news service|syndicate|licensing)", re.I), "New York Times News Service"),
]
_CORPORATE = re.compile(
    r"[,\s]+(l\.?\s?p\.?|llc\.?|inc\.?|incorporated|ltd\.?|limited|plc\.?|corp\.?|corporation|company|co\.|"
    r"gmbh|ag|s\.?a\.?|s\.?l\.?|sas|sarl|b\.?v\.?|n\.?v\.?|pty\.? ltd\.?)\s*$",
    re.I,
)
_WIRE_MARKER = re.compile(
    r"/\s*(?P<wire>[A-Za-z][\w ]{2,30}?)\s*/"
    r"|\((?P<paren>(?:BUSINESS ?WIRE|GLOBE ?NEWSWIRE|PR ?NEWSWIRE|ACCESSWIRE)[^)]*)\)",
    re.I,
)
_AGENCY_MARKER = re.compile(r"\((?P<agency>[^()]{2,40})\)")
_DATELINE_SEP = re.compile(r"\s+(?:—|–|--|-)\s+|\s*(?:—|–)\s*(?=[A-Z])|(?<=\))\s*\.?(?:--|-|—|–)\s*(?=\S)")


def canonical_source(name: str | None) -> str | None:
    """An outlet's name without corporate suffix or city in parentheses, agencies in their usual form."""
    if not name:
        return None
    text = re.sub(r"\s*\([^)]*\)\s*$", "", name.strip()).strip(" .,;:-—–")
    for _ in range(2):
        text = _CORPORATE.sub("", text).strip(" .,;:")
    key = text.lower()
    if key in _AGENCIES:
        return _AGENCIES[key]
    first = key.split("/")[0].strip()  # "dpa/lnw" is dpa's regional service
    if first in _AGENCIES:
        return _AGENCIES[first]
    return text or None


def canonical_distributor(text: str) -> str | None:
    for pattern, name in _DISTRIBUTORS:
        if pattern.search(text):
            return name
    return None


def copyright_notice(text: str) -> str:
    """The notice as printed; a line that also says "Visit ..." / "Distributed by ..." keeps its first part."""
    cut = re.search(r"\s(visit\s+\S+\.\w|distributed by\b|distribué par\b)", text, re.I)
    return text[: cut.start()].strip() if cut else text.strip()


def copyright_holder(notice: str) -> str | None:
    """The holder named in a copyright notice: "© 2023 Bloomberg L.P" -> "Bloomberg"."""
    text = re.sub(r"^(copyright|\(c\)|©|℗|\s)+", "", notice, flags=re.I)
    text = re.sub(r"^(copyright|\(c\)|©|\s)+", "", text, flags=re.I)
    text = re.sub(r"^\d{4}(\s*[-–]\s*\d{4})?[,\s]+", "", text)
    # The first sentence, minus rights boilerplate and a trailing year.
    text = re.split(r"\.\s|\s[—–|]\s|\.$", text)[0]
    text = re.sub(r"\s*\d{4}$", "", text.strip()).strip()
    text = text.split(",")[0] if re.search(r",\s*\w+:", text) else text
    return canonical_source(text)


def release_issuer(paragraph: str) -> str | None:
    """The organisation a release's first sentence is about: "Acme, Inc. (NASDAQ: ACME), a ... today"."""
    m = _DATELINE_SEP.search(paragraph[:160])
    text = paragraph[m.end() :] if m else paragraph
    m = re.match(r"(?P<org>[A-Z][\w&.'’-]*(?:\s+[A-Z0-9][\w&.'’-]*){0,5}(?:,?\s+(?:Inc|LLC|Ltd|Corp|Co)\.?)?)"
                 r"(?=\s*(?:,|\(|\s+today\b|\s+announced\b|\s+reported\b|\s+said\b))", text)  # fmt: skip
    return canonical_source(m.group("org")) if m else None


def agency_in_marker(text: str) -> str | None:
    """The agency in a dateline marker: "(AP)", "(dpa/lnw)", "(EUROPA PRESS)"."""
    m = _AGENCY_MARKER.search(text)
    return canonical_source(m.group("agency")) if m else None


@dataclass(frozen=True)
class Dateline:
    place: str
    agency: str | None
    distributor: str | None
    date_text: str  # the part of the prefix that may carry a date ("Feb. 6, 2025")


def find_dateline(paragraph: str) -> Dateline | None:
    """The dateline that opens a first paragraph: "BALTIMORE (AP) —", "RENO, Nev., Feb. 6, 2025 /PRNewswire/ --"."""
    m = _DATELINE_SEP.search(paragraph[:120])
    if not m or m.start() == 0:
        return None
    prefix = paragraph[: m.start()].strip()
    # Business Wire runs the place into its marker: "AUSTIN, Texas--(BUSINESS WIRE)".
    prefix = re.sub(r"(?<=[\w.])--(?=\()", " ", prefix)
    wire = _WIRE_MARKER.search(prefix)
    distributor = canonical_distributor(wire.group(0)) if wire else None
    marker = _AGENCY_MARKER.search(_WIRE_MARKER.sub(" ", prefix))
    agency = canonical_source(marker.group("agency")) if marker else None
    bare = _WIRE_MARKER.sub(" ", prefix)
    bare = _AGENCY_MARKER.sub(" ", bare).strip(" ,")
    if not bare or len(bare) > 70:
        return None
    pieces = [p.strip() for p in bare.split(",")]
    kept: list[str] = []
    for piece in pieces:
        if not piece or find_dates(piece) or PARTIAL_DATE_RE.fullmatch(piece) or re.fullmatch(r"\d{4}", piece):
            break
        kept.append(piece)
    if not kept or len(kept) > 3:
        return None
    place = kept[0]
    words = place.split()
    if not 1 <= len(words) <= 4 or not place[0].isupper() or any(ch.isdigit() for ch in place):
        return None
    shouting = place.upper() == place and sum(ch.isalpha() for ch in place) >= 2
    if not (shouting or agency or distributor):
        return None
    if any(len(p.split()) > 3 or not p[0].isupper() for p in kept[1:]):
        return None
    return Dateline(", ".join(kept), agency, distributor, bare)

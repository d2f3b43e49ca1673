"""Headlines and photo captions: prefixes, ALL CAPS headlines, trailing photo credits."""

from __future__ import annotations

import re

from broadsheet.ingest.article import Caption

_PREFIX_RE = re.compile(
    r"^(?P<label>(?:UPDATE|WRAPUP|RPT|REFILE|CORRECTED|CORRECTED-UPDATE|REFILE-UPDATE)(?:[ -]?\d{1,2})?|"
    r"EXCLUSIVE|BREAKING(?: NEWS)?|ANALYSIS|FACTBOX|EXPLAINER|INSIGHT|FOCUS|COLUMN|PREVIEW|INTERVIEW|"
    r"FEATURE|OPINION|EDITORIAL|WATCH|LIVE|EILMELDUNG|EXKLUSIV|EXCLUSIVA|ÚLTIMA HORA|EXCLUSIF)"
    r"\s*(?:-|:|—|–|\|)\s*(?P<rest>\S.*)$"
)
SMALL_WORDS = {"a", "an", "the", "and", "but", "or", "nor", "for", "of", "on", "in", "to", "at", "by", "as", "via"}


def split_prefix(headline: str) -> tuple[str | None, str]:
    """("UPDATE 2", rest) for "UPDATE 2-Rest", ("EXCLUSIVE", rest) for "EXCLUSIVE: Rest"."""
    m = _PREFIX_RE.match(headline.strip())
    if not m:
        return None, headline.strip()
    label = re.sub(r"[ -]?(\d+)$", r" \1", m.group("label"))
    return label, m.group("rest").strip()


def is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and all(c.isupper() for c in letters) and len(text.split()) >= 2


def title_case(text: str) -> str:
    """Title case for an ALL CAPS headline: small words lower-case unless first or last."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        low = word.lower()
        core = low.strip("\"'“”‘’«»()[],.:;!?")
        if core in SMALL_WORDS and 0 < i < len(words) - 1:
            out.append(low)
        elif re.fullmatch(r"(?:[a-z]\.)+[a-z]\.?", low.strip("\"'“”‘’«»()[],:;!?")):  # U.S., U.K.
            out.append(word)
        else:
            out.append(re.sub(r"(^|[-/\"“‘(«])([^\W\d_])", lambda m: m.group(1) + m.group(2).upper(), low))
    return " ".join(out)


def clean_headline(text: str) -> tuple[str | None, str]:
    prefix, rest = split_prefix(text)
    return prefix, title_case(rest) if is_shouting(rest) else rest


# Photo credits: "(Name/Agency)" at the end, or a "Photo: Name" label after the caption's last sentence.
_PAREN_CREDIT = re.compile(r"^(?P<caption>.*?)\s*\((?P<credit>[^()]{3,120})\)\s*$", re.S)
_CREDIT_HINT = re.compile(
    r"/|\b(photo|photos|foto|fotos|photograph|image|images|getty|ap|reuters|afp|epa|tns|shutterstock|"
    r"courtesy|handout|pool|file|illustration|imago|picture alliance|dpa|efe|alamy)\b",
    re.I,
)
_LABEL_CREDIT = re.compile(
    r"^(?P<caption>(?:.*?[.!?”\"»)]\s+)?)(?:photo credit|photograph|photo|photos|image|picture|foto|bild|imagen|"
    r"fotografía|crédit photo|crédits? photo|credit|crédito|illustration)\s*(?:by\b|:|/)\s*(?P<credit>\S[^\n]{1,100}?)"
    r"\.?\s*$",
    re.I | re.S,
)
_LEADING_LABEL = re.compile(r"^(photo|photograph|foto|image|picture)\s*(by\b|:)\s*", re.I)


def parse_caption(text: str) -> Caption | None:
    """Caption and credit of a photo caption line, or None when `text` does not end in a credit."""
    text = text.strip()
    m = _PAREN_CREDIT.match(text)
    if m and _CREDIT_HINT.search(m.group("credit")) and len(m.group("credit").split()) <= 12:
        credit = _LEADING_LABEL.sub("", m.group("credit").strip())
        caption = m.group("caption").strip() or None
        if caption is None or len(caption) >= 15:
            return Caption(caption, credit or None)
    m = _LABEL_CREDIT.match(text)
    if m and len(m.group("credit").split()) <= 10:
        caption = m.group("caption").strip() or None
        return Caption(caption, m.group("credit").strip())
    return None

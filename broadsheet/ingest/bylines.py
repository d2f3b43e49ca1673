"""Bylines and the people in them: "By MARCO DELGADO and HELEN FORSYTH Associated Press" -> two names."""

from __future__ import annotations

import re

BYLINE_RE = re.compile(
    r"^(?:(?:written|story|words|text|reporting) by|by|von|por|par|texto:|text:)\s*:?\s+(?P<names>\S.{1,150})$",
    re.IGNORECASE,
)
REPORTING_BY_RE = re.compile(r"\(?reporting by (?P<names>[^;)]+)", re.IGNORECASE)
# Words that belong to outlets and desks, never to a person's name.
ORG_WORDS = {
    "associated", "press", "ap", "reuters", "bloomberg", "news", "afp", "dpa", "efe", "europa", "staff",
    "writer", "writers", "reporter", "reporters", "correspondent", "correspondents", "editor", "editors",
    "service", "agency", "times", "post", "journal", "sun", "ledger", "tribune", "daily", "herald", "gazette",
    "chronicle", "wire", "media", "network", "radio", "tv", "magazine", "observer", "guardian", "telegraph",
    "register", "courier", "examiner", "standard", "star", "record", "review", "bulletin", "dispatch",
    "inquirer", "globe", "mail", "express", "independent", "monitor", "report", "desk", "team", "newsroom",
    "special", "senior", "chief", "contributing", "freelance", "redaktion", "redacción", "rédaction",
    "agencias", "agences", "the", "for", "in", "at", "of", "to", "with", "from", "zeitung", "presse", "prensa",
    "business", "citizen", "week", "weekly", "online", "digital", "group", "company", "inc", "llc", "l.p",
    "kurier", "nachrichten", "rundschau", "diario", "periódico", "journaliste", "periodista",
}  # fmt: skip
_PARTICLES = {"de", "del", "della", "di", "da", "dos", "das", "du", "van", "von", "der", "den", "la", "le",
              "bin", "ibn", "al", "el", "ter", "ten", "y"}  # fmt: skip
_HONORIFICS = re.compile(r"^(dr|prof|mr|mrs|ms|mx|sir|dame)\.?\s+", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\bund\b|\bet\b|\by\b|\|)\s*", re.IGNORECASE)
_NAME_TOKEN = re.compile(r"^(?![\w'’.-]*['’]s$)[A-ZÀ-ÖØ-Þ][\w'’.-]*$|^[A-ZÀ-ÖØ-Þ]\.$")


_DESK_WORDS = {
    "staff",
    "writer",
    "writers",
    "reporter",
    "reporters",
    "correspondent",
    "correspondents",
    "editor",
    "editors",
    "senior",
    "special",
    "chief",
    "contributing",
    "freelance",
    "desk",
    "team",
    "newsroom",
    "the",
    "for",
    "to",
    "a",
    "an",
    "of",
    "political",
    "business",
    "sports",
    "foreign",
}


def _is_desk(text: str) -> bool:
    return all(w.lower().strip(".,") in _DESK_WORDS for w in text.split())


def _fix_case(token: str) -> str:
    """MARCO -> Marco, O'NEIL -> O'Neil, JEAN-PAUL -> Jean-Paul (only for all-caps input)."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group().capitalize(), token.lower())


def clean_name(piece: str) -> tuple[str | None, str]:
    """A person's name from one byline piece, and the outlet text that followed it (if any)."""
    piece = _HONORIFICS.sub("", piece.strip(" .,:;-—–"))
    tokens = piece.split()
    if not tokens:
        return None, ""
    # "MARCO DELGADO Associated Press": a shouted name runs until the case changes.
    caps = [t for t in tokens if t.upper() == t and any(c.isalpha() for c in t)]
    if len(caps) < len(tokens) and tokens[0] in caps:
        n = 0
        while n < len(tokens) and tokens[n] in caps:
            n += 1
        name_tokens, rest = tokens[:n], tokens[n:]
    else:
        name_tokens, rest = [], []
        for i, token in enumerate(tokens):
            low = token.lower().strip(".,")
            if low in _PARTICLES and 0 < i < len(tokens) - 1:
                name_tokens.append(token)
                continue
            if low in ORG_WORDS or not _NAME_TOKEN.match(token):
                rest = tokens[i:]
                break
            name_tokens.append(token)
    while name_tokens and name_tokens[-1].lower() in _PARTICLES:
        rest.insert(0, name_tokens.pop())
    if not name_tokens or len(name_tokens) > 5 or (len(name_tokens) == 1 and len(tokens) > 1 and not rest):
        return None, " ".join(tokens)
    if len(name_tokens) == 1 and name_tokens[0].lower().strip(".") in ORG_WORDS:
        return None, " ".join(tokens)
    name = " ".join(name_tokens)
    if name.upper() == name:
        name = " ".join(_fix_case(t) for t in name_tokens)
    return name, " ".join(rest)


def split_names(text: str) -> tuple[list[str], str | None]:
    """People named in a byline's name part, and an outlet named alongside them."""
    names: list[str] = []
    outlet: str | None = None
    for piece in _SPLIT.split(text):
        if not piece.strip():
            continue
        name, rest = clean_name(piece)
        if name and (len(name.split()) >= 2 or (not rest and len(name) > 2)) and name not in names:
            names.append(name)
        if rest and not outlet and rest[:1].isupper() and not _is_desk(rest):
            outlet = rest.strip(" .,")
    return names, outlet


def parse_byline(text: str) -> tuple[list[str], str | None] | None:
    """(authors, outlet) for a "By ..." line, or None when `text` is not one."""
    m = BYLINE_RE.match(text.strip())
    if not m or len(text) > 160:
        return None
    names, outlet = split_names(m.group("names"))
    return (names, outlet) if names else None


def parse_name_line(text: str) -> tuple[list[str], str | None] | None:
    """A bare byline without "By": "Dana Whitfield", "Priya Raman, Bloomberg News"."""
    text = text.strip()
    if len(text) > 80 or re.search(r"[.!?:;]$|\d", text):
        return None
    parts = re.split(r"\s*(?:,|\||—|–|\s-\s)\s*", text, maxsplit=1)
    head, tail = parts[0], (parts[1] if len(parts) > 1 else "")
    tokens = head.split()
    if not 2 <= len(tokens) <= 4:
        return None
    if any(t.lower() in ORG_WORDS or not _NAME_TOKEN.match(t) for t in tokens if t.lower() not in _PARTICLES):
        return None
    if tail and len(tail.split()) > 6:
        return None
    name, _ = clean_name(head)
    outlet = tail.strip() or None
    return ([name], None if outlet and _is_desk(outlet) else outlet) if name else None


def is_outlet_line(text: str) -> bool:
    """A masthead or outlet line: "The Baltimore Sun", "Great Lakes News Service"."""
    words = text.strip().split()
    if not 2 <= len(words) <= 6 or re.search(r"[.!?:]$|\d", text.strip()):
        return False
    if not all(w[:1].isupper() or w.lower() in {"of", "the", "and", "de", "la", "du", "des", "der"} for w in words):
        return False
    return any(w.lower().strip(".,") in ORG_WORDS - {"the", "for", "in", "at", "of", "to", "with", "from"}
               for w in words)  # fmt: skip


def reporters(credit_line: str) -> list[str]:
    """Names in "Reporting by A and B in City; Editing by C" (only the reporters)."""
    m = REPORTING_BY_RE.search(credit_line)
    if not m or re.match(r"\s*additional", credit_line[max(0, m.start() - 11) : m.start()], re.I):
        return []
    if re.search(r"additional\s+$", credit_line[: m.start()], re.I):
        return []
    names = re.sub(r"\s+in\s+[A-Z][\w .'-]*?(?=(,|\band\b|$))", "", m.group("names"))
    return split_names(names)[0]

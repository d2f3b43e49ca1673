"""Recognise the lines that come with copied articles but are not the article.

`classify` looks at one unit of text alone and says what kind of clutter or footer it is, or None
for text that may be content. Rules are phrased as the general shapes of such lines (calls to action,
share-button labels, wire credit lines, notices) in English, German, Spanish and French.
"""

from __future__ import annotations

import re
from enum import Enum


class Kind(Enum):
    JUNK = "junk"  # ads, share buttons, cookie banners, navigation, promos, update notes
    RECIRCULATION = "recirculation"  # "Most Read" style heading; the link list after it goes too
    COPYRIGHT = "copyright"
    DISTRIBUTION = "distribution"  # "Distributed by ...", "Visit example.com"
    CREDIT = "credit"  # "Reporting by ...", "... contributed to this report"
    EDITOR_NOTE = "editor_note"
    CORRECTION = "correction"
    BIO = "bio"  # author bio / contact line at the end
    PR_ABOUT = "pr_about"  # "About Company" heading of a press release
    PR_CONTACT = "pr_contact"  # "Media Contact:" heading
    PR_SOURCE = "pr_source"  # "SOURCE Company"


_I = re.IGNORECASE
_EXACT_JUNK = {
    "advertisement", "advertising", "ad", "ads", "sponsored", "sponsored content", "anzeige", "werbung",
    "publicité", "publicite", "publicidad", "annonce", "share", "share this", "share this article",
    "share this story", "share article", "share on facebook", "share on twitter", "share on x", "facebook",
    "twitter", "x", "e-mail", "email", "whatsapp", "linkedin", "pinterest", "reddit", "telegram", "print",
    "copy link", "link copied", "partager", "teilen", "compartir", "imprimer", "drucken", "imprimir",
    "comments", "comment", "kommentare", "commentaires", "comentarios", "skip to main content",
    "skip to content", "zur startseite", "back to top", "accept all", "reject all", "manage preferences",
    "menu", "search", "sign in", "log in", "subscribe", "continue reading", "weiterlesen", "lire la suite",
    "leer más", "seguir leyendo", "close", "hide caption", "toggle caption", "enlarge this image", "gallery",
    "view comments", "follow", "for immediate release", "press release", "news release", "media advisory",
    "story continues below advertisement", "article continues below", "scroll to continue",
    "zurück", "volver", "retour", "home", "newsletter", "podcast", "video", "audio", "listen",
}  # fmt: skip
_RECIRCULATION_HEADINGS = re.compile(
    r"^(most (read|popular|viewed|shared)|trending( now| stories)?|top stories|related( stories| articles| "
    r"coverage| content| links| news)?|more (stories|news|from [\w .’']+)|recommended( for you| stories)?|"
    r"you (may|might) also (like|be interested in)|editor['’]s picks|latest( news| stories)?|"
    r"lo más (leído|visto)|les plus (lus|populaires)|meistgelesen|am meisten gelesen|top-artikel|"
    r"auch interessant|à lire aussi|lire aussi|lea también|te puede interesar)\s*:?$",
    _I,
)
_RECIRCULATION_INLINE = re.compile(
    r"^(read more|read also|also read|related|see also|more|watch|listen|mehr zum thema|lesen sie auch|"
    r"auch interessant|das könnte sie auch interessieren|lire aussi|à lire aussi|a lire aussi|voir aussi|"
    r"à voir aussi|a voir aussi|lea también|lee también|le puede interesar|te puede interesar|ver también|"
    r"leer más|más información)\s*[:|»>–—]",
    _I,
)
_JUNK_PATTERNS = [
    re.compile(r"^listen to (this|the) (article|story)\b", _I),
    re.compile(r"^(\d+\s*)?min(ute)?s?\.?( read)?$|^\d+\s*min(ute)?s?\s+(read|de lecture|lesezeit)|reading time", _I),
    re.compile(r"^(artikel|beitrag) (anhören|vorlesen)|^écouter (l['’]article|cet article)|^escuchar", _I),
    re.compile(r"^our standards:|thomson reuters trust principles", _I),
    re.compile(
        r"^\((adds|updates|recasts|changes|rewrites|refiles|repeats|fixes|removes|inserts|"
        r"updates with|releases|deletes|clarifies|amends|add|tops|new throughout)\b.*\)$",
        _I,
    ),
    re.compile(r"^(cision\b|view original content|photo\s*-\s*https?:|logo\s*-\s*https?:|to view the original)", _I),
    re.compile(r"^https?://\S+$|^www\.\S+$", _I),
    re.compile(r"^[\w.+-]+@[\w-]+\.[\w.]+$|^(tel\.?|phone|fax|t|p)?:?\s*\+?[\d ().-]{7,}$", _I),
    re.compile(r"^[_\-=*~#•·\s]{3,}$"),
    re.compile(r"^skip to\b|^jump to\b", _I),
]
# Calls to action: promos, newsletters, app and channel plugs.
_CTA_START = re.compile(
    r"^(sign up|subscribe|join (our|us|the)|follow (us|our)|download (our|the)|click here|tap here|"
    r"get (our|the .{0,60} (newsletter|app|inbox))|register (now|for free|here)|abonnez-vous|abonnez vous|"
    r"inscrivez-vous|suscríbete|suscribete|regístrate|registrate|jetzt (abonnieren|anmelden|registrieren)|"
    r"abonnieren sie|melden sie sich|folgen sie uns|síguenos|suivez-nous|téléchargez|descarga)\b",
    _I,
)
_CTA_ANY = re.compile(
    r"(sign[- ]up|subscribe|delivered to your inbox|join (our|us)|abonn|inscri|suscr|regístr|anmelden)", _I
)
_PROMO_NOUN = re.compile(r"(newsletter|inbox|telegram|whatsapp|channel|podcast|our app|the app|infolettre|boletín)", _I)
_COOKIES = re.compile(r"\bcookies?\b", _I)
_COOKIE_ACTION = re.compile(
    r"(accept|consent|preferences|we use|this site uses|aceptar|utilizamos|akzeptieren|verwenden|"
    r"einstellungen|accepter|utilisons|paramétrer|configurar|gestionar)",
    _I,
)
_COPYRIGHT = re.compile(r"^(copyright\b|©|\(c\)\s*(?:\d|[A-Z])|℗)", _I)
_RIGHTS = re.compile(
    r"all rights reserved|tous droits réservés|todos los derechos reservados|alle rechte vorbehalten", _I
)
_DISTRIBUTION = re.compile(r"^(distributed by|distribué par|distribuido por|vertrieben von)\b|^visit \S+\.\w+", _I)
_CREDIT = [
    re.compile(
        r"^\(?(reporting|additional reporting|editing|writing|compiled|edited|research|graphics|"
        r"reporting and writing|with reporting|fact-?checking|production) by\b",
        _I,
    ),
    re.compile(r"contributed (to )?(this )?(report|reporting|story|article)\.?\)?$", _I),
    re.compile(r"^[A-Z][\w.'’ -]{2,60} reported from [^.]{2,80}\.$"),
    re.compile(r"^(with files from|con información de|avec (l['’])?afp|mit material von|material von)\b", _I),
]
NOTE_RE = re.compile(
    r"^\[?\(?\s*(editor['’]?s['’]? note|editors['’] note|note from the editor|ed\. note|anmerkung der redaktion|"
    r"nota del editor|nota de la redacción|nota de la redaccion|note de la rédaction|note de la redaction)"
    r"\s*[:.—–-]\s*(?P<text>.+?)\s*\)?\]?$",
    _I,
)
CORRECTION_RE = re.compile(
    r"^\[?\s*(corrections?|clarification|korrektur|berichtigung|corrección|correccion|fe de errores|"
    r"rectificatif|erratum)\s*[:—–]\s*(?P<text>.+?)\s*\]?$",
    _I,
)
_CORRECTION_SENTENCE = re.compile(
    r"^(an earlier version of this (story|article|report)|this (story|article|report) has been corrected)"
    r"|^\((corrects|fixes typo|clarifies)\b",
    _I,
)
_BIO = [
    re.compile(
        r"^[A-Z][\w.'’-]+( [A-Z][\w.'’-]+){1,3} (covers|writes about|reports on|is an? (staff |senior |"
        r"freelance |contributing )?(reporter|writer|correspondent|columnist|journalist|editor)|"
        r"is the \w+(?: \w+)? (reporter|editor|correspondent|columnist))\b"
    ),
    re.compile(r"^(reach|contact|email|e-mail|follow) (him|her|them|the (author|writer|reporter))\b", _I),
    re.compile(r"\b(reach|contact|email) (him|her|them) at\b", _I),
    re.compile(r"^(contact|reach|email|e-mail|follow|write to) [A-Z][\w.'’-]+( [A-Z][\w.'’-]+){0,3}\s*(:|at\b|on\b)"),
    re.compile(r"\bfollow (him|her|them|us) on\b|^follow [A-Z]\w+ on (x|twitter|instagram|threads|bluesky)\b", _I),
]
PR_ABOUT_RE = re.compile(r"^About (?P<name>[A-Z0-9][\w&.,'’ -]{1,80}?)\s*:?$")
_PR_CONTACT = re.compile(
    r"^((media|press|investor|news|public relations)\s+)?(contacts?|inquiries|enquiries|relations)\s*:?\s*$|"
    r"^(media|press|investor) (contacts?|inquiries|enquiries)\s*:",
    _I,
)
PR_SOURCE_RE = re.compile(r"^SOURCE:?\s+(?P<name>.+?)\s*$")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(" .:!|·•»›>")).lower()


def _is_nav(text: str) -> bool:
    """Breadcrumbs and section labels: "NEWS | WILDFIRES", "Home › World › Europe"."""
    parts = [p.strip() for p in re.split(r"\s[|›»>/]\s", text)]
    if len(parts) < 2 or text.rstrip().endswith("."):
        return False
    return all(0 < len(p.split()) <= 2 for p in parts) or (
        text.upper() == text and all(len(p.split()) <= 3 for p in parts)
    )


def classify(text: str) -> Kind | None:
    """What kind of non-article line `text` is, or None when it may be article content."""
    t = text.strip()
    low = _squash(t)
    if low in _EXACT_JUNK:
        return Kind.JUNK
    if NOTE_RE.match(t):
        return Kind.EDITOR_NOTE
    if CORRECTION_RE.match(t) or _CORRECTION_SENTENCE.match(t):
        return Kind.CORRECTION
    if _COPYRIGHT.match(t) or (len(t) < 300 and _RIGHTS.search(t)):
        return Kind.COPYRIGHT
    if _DISTRIBUTION.match(t):
        return Kind.DISTRIBUTION
    if any(p.search(t) for p in _CREDIT):
        return Kind.CREDIT
    if PR_SOURCE_RE.match(t):
        return Kind.PR_SOURCE
    if _PR_CONTACT.match(t):
        return Kind.PR_CONTACT
    if PR_ABOUT_RE.match(t):
        return Kind.PR_ABOUT
    if _RECIRCULATION_HEADINGS.match(t):
        return Kind.RECIRCULATION
    if _RECIRCULATION_INLINE.match(t) or any(p.search(t) for p in _JUNK_PATTERNS):
        return Kind.JUNK
    if len(t) < 400 and _COOKIES.search(t) and _COOKIE_ACTION.search(t):
        return Kind.JUNK
    if len(t) < 250 and (_CTA_START.match(t) or (_CTA_ANY.search(t) and _PROMO_NOUN.search(t))):
        return Kind.JUNK
    if len(t) < 300 and any(p.search(t) for p in _BIO):
        return Kind.BIO
    if _is_nav(t):
        return Kind.JUNK
    return None


def note_text(text: str) -> str | None:
    m = NOTE_RE.match(text.strip())
    return m.group("text").strip() if m else None


def correction_text(text: str) -> str:
    t = text.strip()
    m = CORRECTION_RE.match(t)
    if m:
        return m.group("text").strip()
    return t[1:-1].strip() if t.startswith("(") and t.endswith(")") else t

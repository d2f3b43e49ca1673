"""The only place that knows URL and output-path rules.

Every URL is built from slugs made here, so no content can name a path outside the output
folder: a slug is a single path segment of lower-case letters, digits and hyphens.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from posixpath import normpath

MAX_SLUG = 80
# File systems limit a name to 255 bytes, not characters: 80 four-byte letters (CJK Extension B)
# would be 320. A slug is a folder name, so it must fit whatever it is written in.
MAX_SLUG_BYTES = 200
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)}
_NOT_WORD = re.compile(r"[^\w]+")
# Latin letters that Unicode does not decompose, and apostrophes (dropped, not turned into hyphens).
_LATIN = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "'": "",
        "’": "",
        "ʼ": "",
    }
)
_UNDERSCORES = re.compile(r"_+")


@lru_cache(maxsize=1 << 16)  # pure, and called for every tag link on every page
def slugify(text: str, *, fallback: str = "item") -> str:
    """A safe, readable URL segment for `text`; never empty, never `.`/`..`, never a reserved name.

    Letters are folded to ASCII where Unicode allows (Köln -> koln, Straße -> strasse); scripts with
    no ASCII form (Greek, Cyrillic) keep their letters, lower-cased, so their slugs stay readable.
    Apostrophes vanish rather than split a word (Tucson's -> tucsons).
    """
    # Folded again after each step that can bring such a letter out: Ǽ decomposes to Æ and an
    # accent, and lower-casing makes letters too (a slug must be its own slug).
    folded = unicodedata.normalize("NFKD", text.translate(_LATIN)).translate(_LATIN)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFKC", folded).lower().translate(_LATIN)
    slug = _NOT_WORD.sub("-", _UNDERSCORES.sub("-", folded)).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rstrip("-")
    if len(slug.encode("utf-8")) > MAX_SLUG_BYTES:
        slug = slug.encode("utf-8")[:MAX_SLUG_BYTES].decode("utf-8", "ignore").rstrip("-")
    if not slug:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = f"{fallback}-{digest}"
    if slug in _WINDOWS_RESERVED:
        slug += "-"
    return slug


# For a text slugged once, such as an article's own slug: kept in `slugify`'s cache, each stayed for
# the whole build, never asked for again (a parse worker held 50,000, about 20 MB, at 100,000 articles).
slugify_once = slugify.__wrapped__


def href(base_path: str, rel: str) -> str:
    """Root-relative link for a site-relative URL (base_path always ends with '/')."""
    return base_path + rel


def absolute(site_url: str, rel: str) -> str:
    return site_url + rel


def output_path(rel: str) -> str:
    """File path (relative to the output folder) for a site-relative URL: pretty URLs get index.html."""
    path = rel + "index.html" if rel == "" or rel.endswith("/") else rel
    # Every page path passes here on every build: skip normpath when there is nothing to normalise.
    # ("." and ".." can only start a segment, and a segment starts at the start or after a "/")
    plain = not path.startswith((".", "/")) and "/." not in path and "//" not in path
    checked = path if plain else normpath(path)
    # "." would name the output folder itself (a file can't be written there).
    if checked.startswith(("/", "../")) or checked in ("..", ".") or "\\" in checked or "\0" in checked:
        raise ValueError(f"unsafe output path {rel!r}")
    return checked


def page_url(base: str, page: int) -> str:
    """URL of page `page` (1-based) of a paginated list living at `base`."""
    return base if page == 1 else f"{base}page/{page}/"

"""Markdown -> safe HTML, plus the plain-text facts pages need (summary, word count).

markdown-it-py runs with raw HTML off, so HTML in an article is shown as text; links may only
use http, https, mailto or relative URLs; nh3 then cleans the result against an allowlist as a
second, independent line of defence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import nh3

SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Browsers ignore these inside a scheme ("java\tscript:"), so they must not hide one from us.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_TAGS = re.compile(r"<[^>]*>")
# Where str.split() splits, outside ASCII (every character above 127 whose str.isspace() is true, as
# of Unicode 15; tests/test_markdown.py checks this against the running Python). Text without any of
# them splits as its UTF-8 bytes would, reading every byte of a multi-byte character as part of a word.
WIDE_SPACES = "\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WIDE_SPACE = re.compile(f"[{WIDE_SPACES}]")
# Each byte -> b" " where str.split() splits, else b"x": a word starts wherever b" x" does.
_WORD_MARKS = bytes(32 if chr(c).isspace() else 120 for c in range(128)) + b"x" * 128

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}


def is_safe_url(url: str) -> bool:
    """True for http(s), mailto and scheme-less (relative) URLs."""
    cleaned = _IGNORED_IN_URL.sub("", unquote(unescape(url)))
    match = _SCHEME.match(cleaned)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


@dataclass(frozen=True)
class Rendered:
    html: str
    words: int
    first_paragraph: str  # plain text, the default summary
    text: str  # the whole body as plain text: tags become spaces, whitespace is left as it was


if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # One parser per process: building the rule chains costs more than a short article.
    from markdown_it import MarkdownIt  # imported on first parse: a rebuild from the cache parses nothing

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = is_safe_url  # type: ignore[method-assign]
    return md


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRS,
        url_schemes=SAFE_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def _render_reference(source: str) -> str:
    """markdown-it-py, the reference renderer, with links checked and headings demoted a level."""
    md = _parser()
    env: dict = {}
    tokens = md.parse(source, env)
    for token in tokens:
        if token.tag == "h1":
            token.tag = "h2"
    return md.renderer.render(tokens, md.options, env)


@lru_cache(maxsize=1)
def _accelerator() -> Any:
    """markdown-it-pyrs (the Rust port of markdown-it), if installed: about ten times faster."""
    try:
        import markdown_it_pyrs
    except ImportError:
        return None
    # Plain CommonMark: text with table or strikethrough syntax goes to the reference renderer.
    return markdown_it_pyrs.MarkdownIt("commonmark")


# The accelerator has no link validator and its commonmark preset passes raw HTML, so it is used only
# for text without link, image, raw-HTML, quote, code, emphasis, table, escape or character-reference syntax:
# plain paragraphs, headings and lists, which is most news copy.
# For that text both renderers give byte-identical HTML (tests/test_markdown_accelerator.py).
_NEEDS_REFERENCE = re.compile(r"[<>\[\]&`*_~|\\]")


def render_markdown(source: str, *, accelerate: bool = True) -> Rendered:
    """Render an article body. Headings shift down so the article title stays the only <h1>."""
    fast = _accelerator() if accelerate and not _NEEDS_REFERENCE.search(source) else None
    if fast is not None:
        html = fast.render(source).replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    else:
        html = _render_reference(source)
    html = _clean(html)
    text = unescape(_TAGS.sub(" ", html))
    first = re.search(r"<p>(.*?)</p>", html, re.S)
    # Whitespace folded by split and join: str.split() splits on exactly what the regex \s matches
    # (str.isspace), and costs a fraction of re.sub(r"\s+", " ", ...).
    first_text = " ".join(unescape(_TAGS.sub("", first.group(1))).split()) if first else ""
    return Rendered(html=html, words=count_words(text), first_paragraph=first_text, text=text)


def count_words(text: str) -> int:
    """len(text.split()), without making a string for every word: 14 µs for an article of 900 words,
    where splitting it took 65 µs and joining the words again 13 µs (together a fifth of the time
    it took to parse the article)."""
    if not text.isascii() and _WIDE_SPACE.search(text):
        return len(text.split())
    marks = text.encode("utf-8", "surrogatepass").translate(_WORD_MARKS)
    return marks.count(b" x") + marks.startswith(b"x")


def summarise(text: str, limit: int = 240) -> str:
    """A plain-text summary of at most `limit` characters, cut at a word boundary."""
    text = " ".join(text.split())  # whitespace folded, as in render_markdown
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—-")
    return cut + "…"

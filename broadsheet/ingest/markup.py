"""Untrusted HTML (a page's extracted body, a feed entry's content) -> safe CommonMark.

Two steps, each with one job: `clean_html` runs nh3's allowlist and fixes every link and image URL
(absolute against the page, http/https/mailto only); `html_to_markdown` turns what is left — a
small, known set of tags — into Markdown whose text renders back exactly as it read.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3

from broadsheet.markdown import SAFE_SCHEMES, is_safe_url, render_markdown

_BLOCK_TAGS = {
    "p", "div", "section", "article", "figure", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "blockquote", "pre", "hr", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
    "dl", "dt", "dd",
}  # fmt: skip
_INLINE_TAGS = {"a", "img", "strong", "b", "em", "i", "code", "br", "sub", "sup", "s", "del", "span", "small"}
_ALLOWED_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
# Whole elements (with their text) that are never article text.
_DROP_WITH_CONTENT = {"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "form", "button"}

_SPACE = re.compile(r"\s+")
_DOUBLE_SPACE = re.compile(r" {2,}")
_LIST_ITEM = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?: |$)")
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(#{1,6}(?=\s|$)|[+-](?=\s|$)|=+\s*$|-+\s*$|\d{1,9}(?=[.)](?:\s|$)))")


def absolute_url(value: str, base_url: str | None) -> str | None:
    """`value` as an absolute http(s)/mailto URL, or None when it is unsafe or cannot be resolved.

    Relative URLs need the page's own URL; without it they would point into our site, so they go."""
    value = value.strip()
    if not value or value.startswith("#") or not is_safe_url(value):
        return None
    scheme = urlsplit(value).scheme.lower()
    if scheme in SAFE_SCHEMES:
        return value
    if scheme or not base_url or urlsplit(base_url).scheme.lower() not in ("http", "https"):
        return None
    joined = urljoin(base_url, value)
    return joined if urlsplit(joined).scheme.lower() in ("http", "https") else None


def clean_html(html: str, base_url: str | None = None) -> str:
    """Allowlist-sanitise an HTML fragment; links and images become absolute or are dropped."""

    def fix(tag: str, attr: str, value: str) -> str | None:
        if attr in ("href", "src"):
            return absolute_url(value, base_url)
        return value

    return nh3.clean(
        html,
        tags=_BLOCK_TAGS | _INLINE_TAGS,
        attributes=_ALLOWED_ATTRS,
        url_schemes=SAFE_SCHEMES,
        attribute_filter=fix,
        clean_content_tags=_DROP_WITH_CONTENT,
        link_rel=None,
        strip_comments=True,
    )


def escape_inline(text: str) -> str:
    """Plain text inside a Markdown paragraph, escaped so it renders as exactly that text."""
    text = _ENTITY.sub(r"\\&", _INLINE_SPECIAL.sub(r"\\\1", text))
    return text.replace("~~", r"\~\~")


def _escape_line_starts(block: str) -> str:
    """Escape text that would open a heading, list or quote at the start of a line."""
    lines = block.split("\n")
    for n, line in enumerate(lines):
        m = _LINE_START.match(line)
        if m:
            end = m.end()
            if line[:1].isdigit():
                lines[n] = line[:end] + "\\" + line[end:]
            else:
                lines[n] = "\\" + line
    return "\n".join(lines)


def _link_target(url: str) -> str:
    url = url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    return f"<{url}>" if re.search(r"[()\s]", url) else url


class _Converter:
    """Walks a cleaned fragment; block elements become paragraphs separated by blank lines."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    # --- inline -------------------------------------------------------------------------------
    def inline(self, el: lxml.html.HtmlElement, *, pre: bool = False) -> str:
        parts: list[str] = [self._text(el.text, pre)]
        for child in el:
            parts.append(self._inline_element(child, pre))
            parts.append(self._text(child.tail, pre))
        return _join(parts)

    def _text(self, text: str | None, pre: bool) -> str:
        if not text:
            return ""
        if pre:
            return text
        return escape_inline(_SPACE.sub(" ", text))

    def _inline_element(self, el: lxml.html.HtmlElement, pre: bool) -> str:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "br":
            return "\n" if pre else "\\\n"
        if tag == "img":
            src = el.get("src")
            if not src:
                return ""
            alt = escape_inline(_SPACE.sub(" ", el.get("alt") or "").strip())
            return f"![{alt}]({_link_target(src)})"
        inner = self.inline(el, pre=pre)
        if pre:
            return inner
        if tag == "a" and el.get("href") and inner.strip():
            lead, core, trail = _split_space(inner)
            return f"{lead}[{core}]({_link_target(el.get('href'))}){trail}"
        marker = {"strong": "**", "b": "**", "em": "*", "i": "*", "s": "~~", "del": "~~"}.get(tag)
        if marker and inner.strip():
            lead, core, trail = _split_space(inner)
            if "\\\n" in core:  # emphasis cannot span a hard break
                return inner
            return f"{lead}{marker}{core}{marker}{trail}"
        if tag == "code" and inner.strip():
            raw = _SPACE.sub(" ", el.text_content())
            fence = "`" * (max((len(r) for r in re.findall(r"`+", raw)), default=0) + 1)
            pad = " " if raw.startswith("`") or raw.endswith("`") else ""
            return f"{fence}{pad}{raw}{pad}{fence}"
        return inner

    # --- blocks -------------------------------------------------------------------------------
    def block(self, el: lxml.html.HtmlElement) -> None:
        """Emit the blocks inside `el`; runs of inline content become paragraphs."""
        run: list[str] = [self._text(el.text, False)]

        def flush() -> None:
            self._paragraph(_join(run))
            run.clear()

        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in _BLOCK_TAGS:
                flush()
                self._block_element(child)
            else:
                run.append(self._inline_element(child, False))
            run.append(self._text(child.tail, False))
        flush()

    def _paragraph(self, text: str, prefix: str = "") -> None:
        text = _tidy_breaks(text)
        if text.strip() and text.strip() != "\\":
            self.blocks.append(prefix + _escape_line_starts(text))

    def _block_element(self, el: lxml.html.HtmlElement) -> None:
        tag = el.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            level = {"h1": 2, "h2": 2, "h3": 3}.get(tag, 4)
            text = _tidy_breaks(self.inline(el).replace("\\\n", " "))
            if text:
                self.blocks.append("#" * level + " " + text)
        elif tag in ("ul", "ol"):
            self._list(el)
        elif tag == "blockquote":
            inner = _Converter()
            inner.block(el)
            if inner.blocks:
                quoted = "\n\n".join(inner.blocks)
                self.blocks.append("\n".join("> " + line if line else ">" for line in quoted.split("\n")))
        elif tag == "pre":
            code = el.text_content().strip("\n")
            if code.strip():
                fence = "`" * max(3, max((len(r) for r in re.findall(r"`{3,}", code)), default=0) + 1)
                self.blocks.append(f"{fence}\n{code}\n{fence}")
        elif tag == "hr":
            self.blocks.append("* * *")
        elif tag == "table":
            self._table(el)
        else:  # p, div, figure, figcaption, li outside a list, dl parts, stray table parts
            self.block(el)

    def _list(self, el: lxml.html.HtmlElement) -> None:
        ordered = el.tag == "ol"
        try:
            number = int(el.get("start", "1")) if ordered else 1
        except ValueError:
            number = 1
        items: list[str] = []
        for child in el:
            if not isinstance(child.tag, str):
                continue
            inner = _Converter()
            inner.block(child)
            if not inner.blocks:
                continue
            marker = f"{number}." if ordered else "-"
            number += 1
            pad = " " * (len(marker) + 1)
            body = inner.blocks[0]
            for block in inner.blocks[1:]:
                # a nested list right under the item's text keeps the list tight
                body += ("\n" if _LIST_ITEM.match(block) else "\n\n") + block
            lines = body.split("\n")
            items.append(marker + " " + lines[0] + "".join("\n" + (pad + ln if ln else "") for ln in lines[1:]))
        if items:
            loose = any("\n\n" in item for item in items)
            self.blocks.append(("\n\n" if loose else "\n").join(items))

    def _table(self, el: lxml.html.HtmlElement) -> None:
        rows = list(el.iter("tr"))
        if el.xpath(".//td/*[self::p or self::h1 or self::h2 or self::h3 or self::ul or self::ol or self::table]"):
            self.block(el)  # a layout table: its cells are text blocks, not data
            return
        grid = [[_cell(self, c) for c in row if c.tag in ("td", "th")] for row in rows]
        grid = [r for r in grid if any(r)]
        if not grid:
            return
        width = max(len(r) for r in grid)
        grid = [r + [""] * (width - len(r)) for r in grid]
        lines = ["| " + " | ".join(grid[0]) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
        self.blocks.append("\n".join(lines))


def _join(parts: list[str]) -> str:
    """Concatenate inline pieces; a text "!" right before a link must not turn it into an image."""
    out = ""
    for part in parts:
        if part.startswith("[") and out.endswith("!") and not out.endswith("\\!"):
            out = out[:-1] + "\\!"
        out += part
    return out


def _cell(conv: _Converter, cell: lxml.html.HtmlElement) -> str:
    inner = _Converter()
    inner.block(cell)
    text = " ".join(b.replace("\n", " ") for b in inner.blocks)
    return text.replace("|", "\\|")


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    if not core:
        return text, "", ""
    start = text.index(core[0])
    return text[:start], core, text[start + len(core) :]


def _tidy_breaks(text: str) -> str:
    """Trim spaces around hard breaks and at the ends; drop breaks at the very start or end."""
    lines = [_DOUBLE_SPACE.sub(" ", ln.strip()) for ln in text.split("\\\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\\\n".join(ln for ln in lines if ln)


def html_to_markdown(html: str) -> str:
    """A cleaned HTML fragment (see `clean_html`) as CommonMark; empty string when it has no text."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    conv = _Converter()
    conv.block(root)
    return "\n\n".join(conv.blocks).strip() + "\n" if conv.blocks else ""


def sanitized_markdown(html: str, base_url: str | None = None) -> str:
    """The one call importers use: untrusted HTML in, safe Markdown out."""
    return html_to_markdown(clean_html(html, base_url))


def markdown_text(markdown: str) -> str:
    """What a reader sees of a Markdown body, as plain text with spaces folded."""
    return plain_text(render_markdown(markdown).html) if markdown.strip() else ""


def plain_text(html: str) -> str:
    """The text of an HTML snippet (a feed title, say), tags removed, entities decoded, spaces folded."""
    if not html or not html.strip():
        return ""
    if "<" not in html and "&" not in html:
        return _SPACE.sub(" ", html).strip()
    root = lxml.html.fragment_fromstring(
        nh3.clean(html, tags=set(), clean_content_tags=_DROP_WITH_CONTENT), create_parent="div"
    )
    return _SPACE.sub(" ", root.text_content()).strip()

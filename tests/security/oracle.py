"""A parser-based judge of built pages: could anything in this HTML run script?

Pages are parsed with html5lib, which implements the HTML5 parsing algorithm browsers use, so
the judge sees the tree a browser would build (broken tags, foreign SVG/MathML content and
comments included). Each page is also serialised and parsed again, the round trip behind
mutation XSS, and the second tree is judged too.

The rules are an allowlist: elements and attributes the templates and the Markdown sanitiser
can produce; every other element or attribute is reported, and so is every event handler,
every URL whose scheme is not http, https or mailto (as a browser would read the scheme), every
<script> other than one JSON-LD block and every <meta http-equiv>.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import html5lib
from lxml import etree

SAFE_SCHEMES = {"http", "https", "mailto"}
# Elements the templates and nh3's allowlist can emit, plus the ones html5lib adds itself.
ALLOWED_ELEMENTS = {
    "html", "head", "body", "title", "meta", "link", "script", "main", "header", "footer", "nav", "article",
    "section", "aside", "figure", "figcaption", "div", "span", "p", "a", "img", "ul", "ol", "li", "h1", "h2",
    "h3", "h4", "h5", "h6", "time", "data", "em", "strong", "b", "i", "s", "del", "sub", "sup", "abbr", "code",
    "pre", "blockquote", "br", "hr", "table", "thead", "tbody", "tr", "th", "td", "small", "mark", "label",
    # The templates' search box and its no-JavaScript note; constrained by the rules below.
    "form", "input", "button", "noscript",
}  # fmt: skip
# Named so a failure says what it was; any of these is a finding wherever it appears.
DANGEROUS_ELEMENTS = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "style", "template",
    "svg", "math", "noembed", "noframes", "xmp", "plaintext", "textarea", "select", "isindex", "keygen",
    "video", "audio", "source", "picture", "marquee", "bgsound", "layer", "details", "dialog", "slot",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "class", "id", "lang", "dir", "title", "alt", "rel", "type", "name", "content", "property", "charset",
    "href", "src", "datetime", "value", "loading", "decoding", "fetchpriority", "width", "height", "start",
    "style", "colspan", "rowspan", "scope", "hreflang", "media", "sizes", "role", "hidden", "tabindex",
    # template-only: the search form and script tags (checked further below)
    "action", "method", "for", "placeholder", "autocomplete", "enterkeyhint", "defer", "async",
}  # fmt: skip
_FREE_ATTRIBUTE = re.compile(r"^(data|aria)-[a-z0-9_.\-]+$")  # inert unless a script misuses them (the browser test)
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "poster", "background", "data", "codebase", "cite", "longdesc",
    "ping", "lowsrc", "dynsrc", "manifest", "icon", "xlink:href", "srcdoc", "itemtype", "archive",
}  # fmt: skip
LINK_RELS = {
    "stylesheet", "canonical", "alternate", "icon", "apple-touch-icon", "manifest", "preload", "prev", "next",
    "tag", "nofollow", "noopener", "noreferrer", "author", "license", "search",
}  # fmt: skip
SCRIPT_FOLDERS = ("static/", "pagefind/")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_STYLE_OK = re.compile(r"^\s*text-align\s*:\s*(left|right|center|justify|start|end)\s*;?\s*$", re.I)
_NAMESPACES = {
    "http://www.w3.org/1999/xlink": "xlink:",
    "http://www.w3.org/XML/1998/namespace": "xml:",
    "http://www.w3.org/2000/xmlns/": "xmlns:",
}


def browser_scheme(url: str) -> str | None:
    """The scheme a browser's URL parser finds in an attribute value (None: a relative URL).

    Per the URL standard: leading/trailing C0 controls and spaces are stripped and tabs and
    newlines removed anywhere; the scheme is ASCII letters, digits, +, - and . before a colon."""
    url = url.strip("".join(map(chr, range(0x21))))
    url = re.sub(r"[\t\n\r]", "", url)
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def url_problem(url: str, *, image: bool = False) -> str | None:
    scheme = browser_scheme(url)
    if scheme is None or scheme in SAFE_SCHEMES:
        return None
    if image and scheme == "data" and re.match(r"\s*data:image/(png|jpeg|gif|webp|avif)[;,]", url, re.I):
        return None
    return f"URL with scheme {scheme!r}: {url[:80]!r}"


def srcset_urls(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    json_ld: list[object] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.problems.append(message)


def _names(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return None, tag


def _attr_name(name: str) -> str:
    ns, local = _names(name)
    return (_NAMESPACES.get(ns, f"{{{ns}}}") + local if ns else local).lower()


def _own_path(url: str, base: str, folders: tuple[str, ...] = ("",)) -> bool:
    """A root-relative URL on this site (under `base`, in one of `folders`): no scheme, no host."""
    return browser_scheme(url) is None and not url.startswith("//") and url.startswith(tuple(base + f for f in folders))


def _judge_script(element: object, label: str, verdict: Verdict, *, scripts_allowed: bool, base: str) -> None:
    attrs = {_attr_name(k): v for k, v in element.attrib.items()}  # type: ignore[attr-defined]
    kind = attrs.get("type", "").strip().lower()
    text = element.text or ""  # type: ignore[attr-defined]
    if scripts_allowed and kind == "application/ld+json" and set(attrs) == {"type"}:
        try:
            verdict.json_ld.append(json.loads(text))
        except ValueError as exc:
            verdict.add(f"{label}: JSON-LD block is not JSON ({exc})")
        return
    own_file = (
        scripts_allowed
        and "src" in attrs
        and _own_path(attrs["src"], base, SCRIPT_FOLDERS)
        and not text.strip()
        and kind in ("", "module")
        and all(k in ("src", "type", "defer", "async") or _FREE_ATTRIBUTE.match(k) for k in attrs)
    )
    if not own_file:
        verdict.add(f"{label}: script {attrs!r} {text[:60]!r}")


def _judge_tree(root: object, verdict: Verdict, *, scripts_allowed: bool, where: str, base: str) -> None:
    for element in root.iter():  # type: ignore[attr-defined]
        if not isinstance(element.tag, str) or element.tag == "DOCUMENT_FRAGMENT":
            continue  # comments are inert; a fragment's root is html5lib's own container
        ns, local = _names(element.tag)
        local = local.lower()
        label = f"{where}<{local}>"
        attrs = {_attr_name(k): v for k, v in element.attrib.items()}
        if ns and ns != "http://www.w3.org/1999/xhtml":
            verdict.add(f"{label}: foreign (SVG/MathML) element")
        if local in DANGEROUS_ELEMENTS:
            verdict.add(f"{label}: dangerous element")
        elif local not in ALLOWED_ELEMENTS:
            verdict.add(f"{label}: unexpected element")
        if local == "script":
            _judge_script(element, label, verdict, scripts_allowed=scripts_allowed, base=base)
        if local == "meta" and "http-equiv" in attrs:
            verdict.add(f"{label}: meta http-equiv {attrs!r}")
        if local == "form" and not (
            scripts_allowed and _own_path(attrs.get("action", ""), base) and attrs.get("method", "get").lower() == "get"
        ):
            verdict.add(f"{label}: form {attrs!r}")
        if local == "input" and (not scripts_allowed or attrs.get("type", "text").lower() not in ("search", "text")):
            verdict.add(f"{label}: input {attrs!r}")
        if local == "button" and (
            not scripts_allowed or attrs.get("type", "submit").lower() not in ("submit", "button")
        ):
            verdict.add(f"{label}: button {attrs!r}")
        if local == "link" and set(attrs.get("rel", "").lower().split()) - LINK_RELS:
            verdict.add(f"{label}: link rel={attrs.get('rel')!r}")
        for name, value in attrs.items():
            if name.startswith("on"):
                verdict.add(f"{label}: event handler {name}={value[:60]!r}")
                continue
            if name not in ALLOWED_ATTRIBUTES and not _FREE_ATTRIBUTE.match(name):
                verdict.add(f"{label}: unexpected attribute {name}={value[:60]!r}")
            if name in URL_ATTRIBUTES:
                problem = url_problem(value, image=(local == "img" and name == "src"))
                if problem:
                    verdict.add(f"{label} {name}: {problem}")
            if name in ("srcset", "imagesrcset"):
                for url in srcset_urls(value):
                    problem = url_problem(url, image=local in ("img", "source"))
                    if problem:
                        verdict.add(f"{label} srcset: {problem}")
            if name == "style" and not (local in ("td", "th") and _STYLE_OK.match(value)):
                verdict.add(f"{label}: style attribute {value[:60]!r}")


def _parse(data: bytes | str) -> object:
    return html5lib.parse(data, treebuilder="etree", namespaceHTMLElements=False)


def _reparse(root: object) -> object:
    walker = html5lib.getTreeWalker("etree")
    text = html5lib.serializer.HTMLSerializer(omit_optional_tags=False, quote_attr_values="always").render(walker(root))
    return _parse(text)


def check_page(data: bytes | str, *, base: str = "/", reparse: bool = True) -> Verdict:
    """Judge a whole HTML page (and its serialise-and-reparse round trip). `base`: the site's base path."""
    verdict = Verdict()
    tree = _parse(data)
    _judge_tree(tree, verdict, scripts_allowed=True, where="", base=base)
    if not reparse:
        return verdict
    again = Verdict()
    _judge_tree(_reparse(tree), again, scripts_allowed=True, where="reparsed ", base=base)
    verdict.problems += [p for p in again.problems if p.removeprefix("reparsed ") not in verdict.problems]
    return verdict


def check_fragment(html: str) -> Verdict:
    """Judge an HTML fragment (e.g. a feed entry's content): no script of any kind allowed."""
    verdict = Verdict()
    fragment = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    _judge_tree(fragment, verdict, scripts_allowed=False, where="", base="/")
    return verdict


def parse(data: bytes | str) -> object:
    """A page's tree as html5lib (and so a browser) builds it, for the helpers below."""
    return _parse(data)


def element_text(tree: object, tag: str) -> list[str]:
    """Text content of every `tag` element in a parsed page, as a browser's textContent gives it."""
    return ["".join(el.itertext()) for el in tree.iter(tag)]  # type: ignore[attr-defined]


def meta_content(tree: object, prop: str) -> list[str]:
    return [
        el.get("content", "")
        for el in tree.iter("meta")  # type: ignore[attr-defined]
        if el.get("property") == prop or el.get("name") == prop
    ]


ATOM = "{http://www.w3.org/2005/Atom}"


def check_feed(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Judge an Atom feed: well-formed XML, no DTD, http(s) links only, entry HTML judged as a fragment.

    Returns (problems, entries) with each entry's title, summary and content text for comparisons."""
    problems: list[str] = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [f"feed is not well-formed XML: {exc}"], []
    if root.getroottree().docinfo.doctype:
        problems.append("feed has a DOCTYPE")
    entries = []
    for link in root.iter(f"{ATOM}link"):
        scheme = browser_scheme(link.get("href", ""))
        if scheme not in ("http", "https"):
            problems.append(f"feed link with scheme {scheme!r}: {link.get('href')!r}")
    for entry in root.iter(f"{ATOM}entry"):
        found = {k: entry.findtext(f"{ATOM}{k}") or "" for k in ("title", "summary", "content")}
        content = entry.find(f"{ATOM}content")
        if content is not None and content.get("type") != "html":
            problems.append(f"feed content type {content.get('type')!r}")
        problems += [f"feed entry {found['title'][:40]!r}: {p}" for p in check_fragment(found["content"]).problems]
        for k in ("title", "summary"):
            element = entry.find(f"{ATOM}{k}")
            if element is not None and element.get("type") not in (None, "text"):
                problems.append(f"feed {k} has type {element.get('type')!r}: readers would parse it as markup")
        entries.append(found)
    return problems, entries


def check_pages(pages: Iterable[tuple[str, bytes]], *, base: str = "/") -> dict[str, list[str]]:
    """{path: problems} for every page with at least one problem."""
    found = {}
    for path, data in pages:
        verdict = check_page(data, base=base)
        if verdict.problems:
            found[path] = verdict.problems
    return found

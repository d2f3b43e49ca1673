"""Shared by the harnesses: atheris start-up and a small judge of Markdown output.

Each harness exposes `check(data: bytes) -> None`, which raises on a bug and returns on anything
else; the normal test suite calls the same `check` over seeded and hypothesis inputs
(tests/security/test_fuzz.py), and `python fuzz/run.py --minutes N` runs them under atheris.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# What nh3 is configured to leave in article bodies (broadsheet/markdown.py); anything else is a bug.
BODY_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
BODY_ATTRS = {"a": {"href", "title", "rel"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"style"},
              "td": {"style"}}  # fmt: skip
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_STYLE = re.compile(r"^text-align:\s*(left|right|center)\s*;?$")


def url_scheme(url: str) -> str | None:
    """The scheme a browser finds (leading C0/space stripped, tab/newline removed anywhere)."""
    url = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(0x21)))))
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


class _Judge(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in BODY_TAGS:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name not in BODY_ATTRS.get(tag, ()):
                self.problems.append(f"attribute {name} on <{tag}>")
            if name in ("href", "src") and url_scheme(value or "") not in (None, "http", "https", "mailto"):
                self.problems.append(f"{name}={value!r}")
            if name == "style" and not _STYLE.match(value or ""):
                self.problems.append(f"style={value!r}")


def body_html_problems(html: str) -> list[str]:
    judge = _Judge()
    judge.feed(html)
    judge.close()
    return judge.problems


def run(check: Callable[[bytes], None], modules: tuple[str, ...], packages: tuple[str, ...]) -> None:
    """Start libFuzzer (atheris) on `check`: `modules` are imported with coverage instrumentation
    of everything in `packages` (so the harness must not have imported them before)."""
    import atheris

    with atheris.instrument_imports(include=list(packages)):
        for module in modules:
            try:
                __import__(module)
            except ImportError as exc:
                raise SystemExit(f"cannot fuzz: {exc} (not in this checkout?)") from None
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()

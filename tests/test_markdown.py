"""Markdown -> safe HTML: raw HTML is shown as text, dangerous URL schemes never become links or
images, article headings sit under the page's h1, tables work. Checked on the HTML itself (parsed),
and end to end on a built page, where frontmatter URLs (image, original_url) are checked too."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from urllib.parse import unquote

import lxml.html
import pytest
from buildkit import SiteDirs
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.markdown import WIDE_SPACES, count_words, is_safe_url, render_markdown, summarise

DANGEROUS = ("javascript:", "vbscript:", "data:")


def fragment(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")


URL_ATTRIBUTES = ("href", "src", "action", "formaction", "srcset", "poster", "background", "data")


def url_attributes(element: lxml.html.HtmlElement) -> list[str]:
    """Every URL-carrying attribute value (entity-decoded, as a browser reads it), any namespace."""
    test = " or ".join(f"local-name()='{name}'" for name in URL_ATTRIBUTES)
    return [str(value) for value in element.xpath(f"//@*[{test}]")]


def is_dangerous(url: str) -> bool:
    """Stricter than a browser: percent-escapes are decoded and every blank or control character dropped."""
    cleaned = "".join(ch for ch in unquote(url) if ch > " " and not 0x7F <= ord(ch) <= 0x9F)
    return cleaned.lower().startswith(DANGEROUS)


# --- raw HTML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Text <script>alert(1)</script> inline.",
        '<img src=x onerror="alert(1)">',
        "<iframe src='https://evil.example'></iframe>",
        '<a href="javascript:alert(1)">x</a>',
        "<div onclick='alert(1)'>block</div>",
        "<style>body{display:none}</style>",
        "<!-- comment --><svg onload=alert(1)>",
    ],
)
def test_raw_html_is_shown_as_text(source: str) -> None:
    html = render_markdown(source).html
    tree = fragment(html)
    assert not tree.xpath("//script | //iframe | //img | //style | //svg | //div[@onclick] | //a")
    assert not tree.xpath("//@*[starts-with(name(), 'on')]")
    assert "&lt;" in html  # escaped, so the reader sees what was pasted
    assert tree.text_content().strip().startswith(source.split("<")[0].strip() or "<")


# --- links and images -----------------------------------------------------------------------------------

BAD_LINKS = [
    "[x](javascript:alert(1))",
    "[x](JavaScript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    "![x](javascript:alert(1))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '[x](javascript:alert(1) "title")',
]


@pytest.mark.parametrize("source", BAD_LINKS)
def test_dangerous_urls_never_reach_the_html(source: str) -> None:
    html = render_markdown(source).html
    urls = url_attributes(fragment(html))
    assert not [u for u in urls if is_dangerous(u)], html


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[a](https://example.org/x?y=1)", "https://example.org/x?y=1"),
        ("[a](http://example.org/)", "http://example.org/"),
        ("[a](mailto:desk@example.org)", "mailto:desk@example.org"),
        ("[a](/2024/05/03/story/)", "/2024/05/03/story/"),
        ("[a](../other/)", "../other/"),
        ("[a](#notes)", "#notes"),
    ],
)
def test_safe_links_are_kept(source: str, href: str) -> None:
    assert fragment(render_markdown(source).html).xpath("//a/@href") == [href]


def test_links_get_rel_noopener() -> None:
    rel = fragment(render_markdown("[a](https://example.org/)").html).xpath("//a/@rel")[0]
    assert "noopener" in rel and "noreferrer" in rel


@settings(max_examples=150, deadline=None)
@given(
    scheme=st.sampled_from(["javascript", "vbscript", "data", "JaVaScRiPt", "VBSCRIPT", "Data"]),
    noise=st.lists(st.sampled_from(["", "\t", "\n", "%09", "&#9;", "&#x09;", "\x00", " ", "%0a"]), max_size=3),
    form=st.sampled_from(["[t]({u})", "![t]({u})", "<{u}>", "[t]: {u}\n\n[t]", "[t](<{u}>)", "[t]({u} 'x')"]),
    payload=st.text(alphabet="abc():;,/=+", max_size=12),
)
def test_no_obfuscation_of_a_dangerous_scheme_gets_through(
    scheme: str, noise: list[str], form: str, payload: str
) -> None:
    half = len(scheme) // 2
    url = scheme[:half] + "".join(noise) + scheme[half:] + ":" + payload
    html = render_markdown(form.format(u=url)).html
    assert not [u for u in url_attributes(fragment(html)) if is_dangerous(u)], (url, html)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org", True),
        ("mailto:a@b.c", True),
        ("/local/path", True),
        ("relative/path", True),
        ("javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("&#106;avascript:alert(1)", False),
        ("%6Aavascript:alert(1)", False),
        ("vbscript:x", False),
        ("data:text/html,x", False),
        ("file:///etc/passwd", False),
    ],
)
def test_is_safe_url(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe


# --- structure ----------------------------------------------------------------------------------------


def test_headings_are_demoted_under_the_page_h1() -> None:
    tree = fragment(render_markdown("# Top\n\ntext\n\n## Second\n\nSetext\n======\n").html)
    assert not tree.xpath("//h1")
    assert [h.text_content() for h in tree.xpath("//h2")] == ["Top", "Second", "Setext"]


def test_tables() -> None:
    source = "| Year | Reading |\n|:-----|--------:|\n| 2023 | 4.51 |\n| 2024 | 4.62 |\n"
    tree = fragment(render_markdown(source).html)
    assert [th.text_content() for th in tree.xpath("//table/thead//th")] == ["Year", "Reading"]
    assert [[td.text_content() for td in tr.xpath("td")] for tr in tree.xpath("//table/tbody/tr")] == [
        ["2023", "4.51"],
        ["2024", "4.62"],
    ]
    assert tree.xpath("//th[2]/@style") == ["text-align:right"]


def test_table_style_cannot_carry_other_css() -> None:
    # Only text-align survives the sanitiser, whatever else an attribute tries.
    html = render_markdown("| a |\n|:-:|\n| b |\n").html
    assert all(s.replace(" ", "") in ("text-align:center",) for s in fragment(html).xpath("//@style"))


def test_common_markdown_still_renders() -> None:
    html = render_markdown(
        "*em* **strong** `code` ~~gone~~\n\n> quote\n\n- one\n- two\n\n3. three\n\n```\nx < y\n```\n"
    ).html
    tree = fragment(html)
    for tag in ("em", "strong", "code", "s", "blockquote", "ul", "ol", "pre"):
        assert tree.xpath(f"//{tag}"), tag
    assert tree.xpath("//ol/@start") == ["3"]
    assert "x &lt; y" in html


def test_words_and_first_paragraph() -> None:
    rendered = render_markdown("## Heading\n\nFirst *paragraph* here &amp; there.\n\nSecond one.\n")
    assert rendered.first_paragraph == "First paragraph here & there."
    assert rendered.words == 8


def test_summarise_cuts_at_a_word() -> None:
    text = "word " * 100
    summary = summarise(text, limit=50)
    assert len(summary) <= 50 and summary.endswith("…") and not summary[:-1].endswith(" ")
    assert summarise("short text") == "short text"


# --- end to end ---------------------------------------------------------------------------------------


def test_a_hostile_article_builds_into_a_harmless_page(make_site: Callable[..., SiteDirs]) -> None:
    article = """---
title: "<script>alert('title')</script>"
date: 2024-05-03
summary: "</script><script>alert('summary')</script>"
original_url: "javascript:alert('original')"
image:
  src: "javascript:alert('image')"
  alt: "\\" onerror=\\"alert(1)"
  caption: "<b>caption</b>"
tags: ["<img src=x onerror=alert(1)>"]
---
# Heading

<script>alert('body')</script>

[click](javascript:alert('link')) ![pic](data:image/svg+xml,<svg onload=alert(1)>)
"""
    site = make_site({"2024/05/hostile.md": article})
    site.build()
    page = next((site.output / "2024/05/03").glob("*/index.html"))
    doc = lxml.html.document_fromstring(page.read_bytes())
    scripts = doc.xpath("//script")
    # The only scripts are the theme's own (src) and the JSON-LD block, which must still be valid JSON.
    assert all(s.get("src") or s.get("type") == "application/ld+json" for s in scripts)
    assert not doc.xpath("//@*[starts-with(name(), 'on')]")
    assert not [u for u in url_attributes(doc) if is_dangerous(u)]
    assert len(doc.xpath("//h1")) == 1
    assert doc.xpath("//h1")[0].text_content() == "<script>alert('title')</script>"
    data = json.loads(next(s for s in scripts if s.get("type") == "application/ld+json").text)
    assert data["description"] == "</script><script>alert('summary')</script>"
    # The tag became a page with a safe slug and its name shown as text.
    tag_pages = list((site.output / "tags").glob("*/index.html"))
    assert len(tag_pages) == 1 and "<" not in tag_pages[0].parent.name


PLAIN = list("ab \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u3000&;<>#*_`[]()!") + ["&amp;", "&#32;", "&nbsp;", "- ", "## "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PLAIN), max_size=80).map("".join))
def test_plain_text_facts_fold_whitespace_as_the_regex_did(source: str) -> None:
    # render_markdown folds whitespace with str.split() and counts words without splitting; the facts
    # must be what re.sub(r"\s+", " ") gave. (Its plain text keeps whitespace as it was.)
    rendered = render_markdown(source)
    tags, space = re.compile(r"<[^>]*>"), re.compile(r"\s+")
    text = space.sub(" ", unescape(tags.sub(" ", rendered.html))).strip()
    first = re.search(r"<p>(.*?)</p>", rendered.html, re.S)
    first_text = space.sub(" ", unescape(tags.sub("", first.group(1)))).strip() if first else ""
    folded = " ".join(rendered.text.split())
    assert (folded, rendered.words, rendered.first_paragraph) == (text, len(text.split()), first_text)
    assert summarise(source) == _regex_summary(source)


SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u200b", "\x1b", "\ud800", "\U0001f600"]


def test_the_spaces_count_words_knows_are_those_of_this_python() -> None:
    known = re.compile(f"[{WIDE_SPACES}]")
    assert [c for c in range(128, 0x110000) if chr(c).isspace()] == [
        c for c in range(128, 0x110000) if known.fullmatch(chr(c))
    ]


@settings(max_examples=500)
@given(st.text() | st.lists(st.sampled_from(SPACES + ["a", "é", "€", "x y"]), max_size=40).map("".join))
def test_count_words_is_the_length_of_split(text: str) -> None:
    # count_words counts UTF-8 bytes unless a space outside ASCII is present: every space str.split()
    # knows, and characters that look like one but are not (zero width, escape), must count alike.
    assert count_words(text) == len(text.split())


def _regex_summary(text: str, limit: int = 240) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—-") + "…"

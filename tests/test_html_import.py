"""Saved news pages -> articles: extraction quality on pages with known text, metadata, sanitising,
and `broadsheet import page.html` (repeatable, never overwriting an edited file)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from web_helpers import PAGES, local_server, loopback_fetcher

from broadsheet.cli import main
from broadsheet.frontmatter import parse_article
from broadsheet.ingest.html import EXTRACT_SETTINGS, PageError, parse_page
from broadsheet.ingest.markup import html_to_markdown, markdown_text, sanitized_markdown
from broadsheet.ingest.webimport import import_any

UTC = ZoneInfo("UTC")
EXPECTED = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
# Furniture from the pages' chrome; none of it may reach an article body.
CHROME = [
    "cookies", "Accept all", "Subscribe", "Most read", "Related stories", "More from News", "morning briefing",
    "All rights reserved", "Privacy policy", "Advertisement", "Share on", "Comments (3)", "harbourwatcher",
    "Lesen Sie auch", "Das könnte Sie auch", "Impressum", "Stadtanzeiger Plus", "More stories", "Trending now",
    "Follow the Riverside Echo", "Upcoming events", "Support local journalism", "Read more", "More from this author",
    "Five things to do this weekend", "Ferry timetable review promised",
]  # fmt: skip


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def score(name: str) -> tuple[float, float]:
    """Token precision and recall of the extracted body against the page's known article text."""
    article = parse_page((PAGES / f"{name}.html").read_bytes(), path=name)
    got, gold = tokens(markdown_text(article.body)), tokens((PAGES / f"{name}.gold").read_text(encoding="utf-8"))
    overlap = sum((got & gold).values())
    return overlap / max(1, sum(got.values())), overlap / sum(gold.values())


def test_extraction_precision_and_recall_on_saved_news_pages(capsys):
    rows = {name: score(name) for name in sorted(EXPECTED)}
    with capsys.disabled():
        print(f"\nHTML extraction, trafilatura settings {EXTRACT_SETTINGS} + chrome pruning:")
        for name, (p, r) in rows.items():
            print(f"  {name:24} precision {p:.3f}  recall {r:.3f}")
    precision = sum(p for p, _ in rows.values()) / len(rows)
    recall = sum(r for _, r in rows.values()) / len(rows)
    with capsys.disabled():
        print(f"  {'mean over ' + str(len(rows)) + ' pages':24} precision {precision:.3f}  recall {recall:.3f}")
    assert len(rows) >= 6
    assert recall >= 0.98 and min(r for _, r in rows.values()) >= 0.95  # no article text lost
    assert precision >= 0.95 and min(p for p, _ in rows.values()) >= 0.85


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_page_chrome_never_reaches_the_body(name):
    body = parse_page((PAGES / f"{name}.html").read_bytes(), path=name).body
    for furniture in CHROME:
        assert furniture not in body, furniture
    assert EXPECTED[name]["title"] not in body  # the headline is the title, not the first line of the body
    assert "<" not in body.replace("\\<", "")  # Markdown, not HTML


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_page_metadata(name):
    want = EXPECTED[name]
    article = parse_page((PAGES / f"{name}.html").read_bytes(), path=name)
    assert article.title == want["title"]
    assert article.source == want["site"]
    assert list(article.authors) == [a.strip() for a in want["author"].split(";")]
    assert list(article.tags) == want["tags"]
    assert article.language == want["lang"]
    assert article.summary == want["desc"]
    expected_date = dt.datetime.fromisoformat(want["date"].replace("Z", "+00:00"))
    if len(want["date"]) == 10:
        assert article.date == expected_date.date()
    else:
        assert article.date == expected_date
    site = "https://www." + want["site"].lower().replace(" ", "") + ".example"
    assert article.url == f"{site}/news/2024/{name}"  # canonical link (or JSON-LD) when saved without a URL
    if name in ("library-hours", "wind-turbine-blade", "reservoir-levels", "market-street"):
        pass  # pages whose metadata names no image, or an image of their own choosing
    if article.image:
        assert article.image.startswith(site + "/")  # relative image URL made absolute against the page


def test_links_and_images_are_made_absolute_and_unsafe_ones_dropped():
    page = b"""<html><head><title>Quay lights</title></head><body><nav><a href="/">Home</a></nav><article>
<h1>Quay lights</h1>
<p>The harbour authority will replace the <a href="../lamps/sodium">sodium lamps</a> along the quays this summer,
and it <a href="javascript:alert(document.cookie)">says</a> the work will take six weeks in all, at night.</p>
<p><img src="img/quay.jpg" alt="The quay at dusk" onerror="alert(1)"> Residents can
<a href="mailto:works@harbour.example">write to the works team</a> or <a href="data:text/html,<b>x</b>">not</a>.</p>
<p>The lamps were installed in 1987 and have become expensive to run, the authority's engineer told the board,
adding that spare parts now had to be made to order. <a href="//cdn.harbour.example/report.pdf">Report</a>.</p>
<script>document.write("injected")</script></article></body></html>"""
    body = parse_page(page, url="https://harbour.example/news/2024/quay-lights").body
    assert "[sodium lamps](https://harbour.example/news/lamps/sodium)" in body
    assert "![The quay at dusk](https://harbour.example/news/2024/img/quay.jpg)" in body
    assert "[write to the works team](mailto:works@harbour.example)" in body
    assert "[Report](https://cdn.harbour.example/report.pdf)" in body
    for bad in ("javascript", "data:", "onerror", "alert", "injected", "Home"):
        assert bad not in body
    assert "it says the work" in body  # the unsafe link's text stays, as text


def test_without_a_url_relative_links_are_unwrapped():
    page = b"""<html><head><title>Quay</title></head><body><article><h1>Quay</h1>
<p>The harbour authority will replace the <a href="/lamps">sodium lamps</a> along the quays with LED fittings
this summer, cutting the lighting bill by about half according to its own estimate published on Monday.</p>
<p>An <a href="https://harbour.example/report">engineer's report</a> says the old lamps date from 1987.</p>
</article></body></html>"""
    article = parse_page(page)
    assert article.url is None
    assert "replace the sodium lamps along" in article.body  # text kept, dead link gone
    assert "[engineer's report](https://harbour.example/report)" in article.body


def test_a_page_without_article_text_is_refused():
    with pytest.raises(PageError, match="no article text"):
        parse_page(b"<html><head><title>Home</title></head><body><nav><a href='/'>Home</a></nav></body></html>")


def test_import_page_via_cli_is_repeatable_and_never_overwrites_an_edit(tmp_path, capsys):
    content = tmp_path / "content"
    page = PAGES / "harbour-night-ferry.html"
    assert main(["import", str(page), "--content", str(content)]) == 0
    (path,) = content.rglob("*.md")
    assert path.relative_to(content).as_posix() == "2024/10/night-ferry-trial-to-run-through-the-winter.md"
    article = parse_article(path.read_text(encoding="utf-8"), "x.md", UTC)
    assert article.original_url == "https://www.theharbourgazette.example/news/2024/harbour-night-ferry"
    assert article.image.src == "https://www.theharbourgazette.example/media/harbour-night-ferry.jpg"
    assert article.extra["import_hash"].startswith("sha256:") and article.extra["imported_from"] == page.name
    first = path.read_bytes()
    assert main(["import", str(page), "--content", str(content)]) == 0
    assert path.read_bytes() == first and "unchanged" in capsys.readouterr().out

    edited = path.read_text(encoding="utf-8").replace("late-evening ferry", "late ferry")
    path.write_text(edited, encoding="utf-8")
    changed = tmp_path / "harbour-night-ferry.html"
    changed.write_bytes(page.read_bytes().replace(b"Fares are unchanged.", b"Fares rise by ten pence."))
    assert main(["import", str(changed), "--content", str(content)]) == 0
    assert path.read_text(encoding="utf-8") == edited  # the person's edit survives
    assert "edited by hand" in capsys.readouterr().out
    assert len(list(content.rglob("*.md"))) == 1  # and no second copy appeared


def test_changed_page_updates_an_unedited_import(tmp_path):
    content = tmp_path / "content"
    original = (PAGES / "reservoir-levels.html").read_bytes()
    saved = tmp_path / "reservoir-levels.html"
    saved.write_bytes(original)
    assert import_any([str(saved)], content, UTC, out=io.StringIO()) == 0
    saved.write_bytes(original.replace(b"41 per cent full", b"39 per cent full"))
    out = io.StringIO()
    assert import_any([str(saved)], content, UTC, out=out) == 0
    (path,) = content.rglob("*.md")
    assert "39 per cent full" in path.read_text(encoding="utf-8") and "updated" in out.getvalue()


def test_import_page_by_url_from_a_local_server(tmp_path):
    with local_server() as server:
        server.expect_request("/news/seabirds").respond_with_data(
            (PAGES / "seabird-colony.html").read_bytes(), content_type="text/html; charset=utf-8"
        )
        url = server.url_for("/news/seabirds")
        out = io.StringIO()
        assert import_any([url], tmp_path / "content", UTC, fetcher=loopback_fetcher(), out=out) == 0, out.getvalue()
    (path,) = (tmp_path / "content").rglob("*.md")
    article = parse_article(path.read_text(encoding="utf-8"), "x.md", UTC)
    assert article.original_url == url  # where it was fetched from beats the page's canonical claim
    assert "| Puffin (burrows) | 790 | 1,840 |" in article.body  # a data table stays a table


# --- the HTML -> Markdown step on its own ------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=80
).filter(lambda s: s.strip())


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_any_paragraph_text_renders_back_as_the_same_text(text):
    markdown = html_to_markdown(f"<p>{_html_escape(text)}</p>")
    assert markdown_text(markdown) == " ".join(text.split())


@settings(max_examples=150, deadline=None)
@given(_TEXT, _TEXT, _TEXT)
def test_text_around_links_and_emphasis_survives(before, inside, after):
    html = f"<p>{_html_escape(before)} <b>{_html_escape(inside)}</b> <a href='https://x.example/'>{_html_escape(after)}</a></p>"
    rendered = markdown_text(sanitized_markdown(html))
    assert rendered == " ".join(f"{before} {inside} {after}".split())


def test_markdown_structure_from_html():
    html = """<h2>Sub</h2><p>Para with<br>a break</p><ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
<ol start="3"><li>third</li></ol><blockquote><p>Quoted</p></blockquote><pre>code  line</pre><p>1. not a list</p>"""
    assert html_to_markdown(html) == (
        "## Sub\n\nPara with\\\na break\n\n- one\n- two\n  - nested\n\n3. third\n\n> Quoted\n\n```\ncode  line\n```\n\n"
        "1\\. not a list\n"
    )

"""The structure of every page type, read back from the built golden fixture site with lxml.

The fixture (tests/fixtures/golden/site) lives under https://example.org/news/ in Europe/Berlin, with
page_size 2, so the front page, two tag pages and a source page paginate. Selectors are semantic
(h1, time[datetime], rel=prev/next, link[rel=canonical]) so theme restyling does not break them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.html
import pytest
from buildkit import SiteDirs
from hypothesis import given, settings
from hypothesis import strategies as st
from regen_golden import build_golden

from broadsheet.load import build_site
from broadsheet.model import Article
from broadsheet.pages import RelatedIndex
from broadsheet.urls import slugify

BASE = "/news/"
SITE_URL = "https://example.org/news/"
ARTICLE_HREF = re.compile(r"^/news/(\d{4})/(\d{2})/(\d{2})/[^/]+/$")
DAY_HREF = re.compile(r"^/news/(\d{4})/(\d{2})/(\d{2})/$")

# The fixture's published articles, newest first (the draft is left out).
ORDER = [
    "2024/01/15/science-fair/",
    "2024/01/15/library-hours/",
    "2024/01/01/rail-bridge-night-works/",
    "2023/12/19/tide-gauge-upgrade/",
    "2023/12/04/bus-lane-vote-delayed/",
    "2023/12/04/harbour-ferry-winter-timetable/",
]
FERRY = "2023/12/04/harbour-ferry-winter-timetable/"
BUS = "2023/12/04/bus-lane-vote-delayed/"
TIDE = "2023/12/19/tide-gauge-upgrade/"
RAIL = "2024/01/01/rail-bridge-night-works/"
LIBRARY = "2024/01/15/library-hours/"
FAIR = "2024/01/15/science-fair/"
TAGS = {
    "harbour": ("Harbour", [TIDE, FERRY]),
    "transport": ("Transport", [RAIL, BUS, FERRY]),
    "city-council": ("City Council", [FAIR, LIBRARY, BUS]),
    "science": ("Science", [FAIR, TIDE]),
}
SOURCES = {
    "the-harbour-gazette": ("The Harbour Gazette", [TIDE, FERRY]),
    "riverside-post": ("Riverside Post", [FAIR, RAIL, BUS]),
}
AUTHORS = {
    "maren-holt": ("Maren Holt", [LIBRARY, FERRY]),
    "odette-varga": ("Odette Varga", [RAIL, BUS]),
    "jonas-pereira": ("Jonas Pereira", [BUS]),
    "pieter-vos": ("Pieter Vos", [FAIR, TIDE]),
}
PAGE_SIZE = 2


def load(site: Path, url: str) -> lxml.html.HtmlElement:
    path = site / (url + "index.html" if url == "" or url.endswith("/") else url)
    assert path.is_file(), f"/{url} was not built"
    return lxml.html.document_fromstring(path.read_bytes())


def main_of(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    found = doc.xpath("//main")
    assert len(found) == 1, "every page has exactly one <main>"
    return found[0]


def article_links(element: lxml.html.HtmlElement) -> list[str]:
    """Site-relative URLs of the articles linked from `element`, in order, each once."""
    seen: dict[str, None] = {}
    for href in element.xpath(".//a/@href"):
        if ARTICLE_HREF.match(href):
            seen.setdefault(href.removeprefix(BASE), None)
    return list(seen)


def rel_href(element: lxml.html.HtmlElement, rel: str) -> str | None:
    hrefs = element.xpath(f".//a[@rel='{rel}']/@href")
    assert len(hrefs) <= 1, f"more than one rel={rel} link: {hrefs}"
    return hrefs[0].removeprefix(BASE) if hrefs else None


def follow_pages(site: Path, first: str) -> list[lxml.html.HtmlElement]:
    """A paginated list, page by page, following rel=next links until there are none."""
    pages = [load(site, first)]
    while (nxt := rel_href(main_of(pages[-1]), "next")) is not None:
        assert len(pages) < 20, "pagination does not end"
        pages.append(load(site, nxt))
    return pages


def count_next_to(element: lxml.html.HtmlElement, href: str) -> int:
    """The number printed in the list item that links to `href` (a tag, source, month, ...)."""
    items = element.xpath(f".//li[a[@href='{href}']] | .//h2[a[@href='{href}']]")
    assert len(items) == 1, f"expected one entry linking {href}, found {len(items)}"
    link_text = items[0].xpath(f"a[@href='{href}']")[0].text_content()
    numbers = re.findall(r"\d+", items[0].text_content().replace(link_text, "", 1))
    assert len(numbers) == 1, f"no single count next to {href}: {items[0].text_content()!r}"
    return int(numbers[0])


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


@pytest.fixture(scope="module")
def site(golden_site: Path) -> Path:
    return golden_site


# --- article pages ------------------------------------------------------------------------------


def test_article_page_has_headline_time_byline_provenance_and_body(site: Path) -> None:
    doc = load(site, FERRY)
    story = main_of(doc)
    h1s = doc.xpath("//h1")
    assert [h.text_content().strip() for h in h1s] == [
        "Harbour ferry switches to winter timetable with fewer late crossings"
    ]
    assert doc.xpath("//title")[0].text_content().startswith("Harbour ferry switches")
    assert story.xpath(".//time/@datetime")[0] == "2023-12-04"
    text = " ".join(story.text_content().split())
    assert "By Maren Holt" in text
    assert "PORT ELLISON" in text  # dateline
    assert story.xpath(".//a[@href='/news/sources/the-harbour-gazette/']")[0].text_content() == "The Harbour Gazette"
    assert "The island ferry moved to its winter timetable on Monday" in text
    assert "© 2023 The Harbour Gazette" in text
    assert story.xpath(".//a[@href='https://example.com/gazette/2023/12/ferry-winter']")


def test_article_with_time_authors_and_distributor(site: Path) -> None:
    story = main_of(load(site, BUS))
    # A naive time is read in the site's zone (Europe/Berlin, +01:00 in December).
    assert story.xpath(".//time/@datetime")[0] == "2023-12-04T09:15:00+01:00"
    text = " ".join(story.text_content().split())
    assert "Odette Varga" in text and "Jonas Pereira" in text
    assert "Coastal Wire Service" in text


def test_article_image_has_caption_and_credit(site: Path) -> None:
    figure = main_of(load(site, FERRY)).xpath(".//figure")[0]
    img = figure.xpath(".//img")[0]
    assert img.get("src") == "/news/media/ferry.svg"
    assert img.get("alt") == "Drawing of a small passenger ferry leaving the quay"
    caption = " ".join(figure.xpath(".//figcaption")[0].text_content().split())
    assert "The island ferry at the east quay." in caption
    assert "Broadsheet illustration" in caption
    assert (site / "media" / "ferry.svg").read_bytes().startswith(b"<svg")


def test_article_tags_link_to_tag_pages(site: Path) -> None:
    story = main_of(load(site, FERRY)).xpath(".//article")[0]
    tag_hrefs = [h for h in story.xpath(".//a/@href") if h.startswith("/news/tags/")]
    assert tag_hrefs == ["/news/tags/harbour/", "/news/tags/transport/"]


def test_article_prefix_note_and_correction(site: Path) -> None:
    story = main_of(load(site, RAIL))
    text = " ".join(story.text_content().split())
    assert "Update" in text
    assert "This story was updated with the full closure dates." in text
    assert "An earlier version gave the wrong number of nights." in text
    # 23:30 UTC on 31 December is 00:30 on 1 January in Berlin: the date, URL and day follow the site zone.
    assert story.xpath(".//time/@datetime")[0] == "2024-01-01T00:30:00+01:00"


@pytest.mark.parametrize("index", range(len(ORDER)))
def test_article_previous_and_next_are_the_neighbours_in_time(site: Path, index: int) -> None:
    url = ORDER[index]
    story = main_of(load(site, url))
    newer = ORDER[index - 1] if index > 0 else None
    older = ORDER[index + 1] if index + 1 < len(ORDER) else None
    assert rel_href(story, "next") == newer
    assert rel_href(story, "prev") == older


def related_section(doc: lxml.html.HtmlElement) -> list[str]:
    sections = doc.xpath("//section[.//h2[contains(., 'Related')]]")
    return article_links(sections[0]) if sections else []


def test_related_articles_share_tags(site: Path) -> None:
    # Tide gauge (Harbour, Science) shares Harbour with the ferry story and Science with the fair.
    assert set(related_section(load(site, TIDE))) == {FERRY, FAIR}
    # Library (City Council): the two other City Council stories; related_count = 2.
    assert set(related_section(load(site, LIBRARY))) == {FAIR, BUS}
    for url in ORDER:
        related = related_section(load(site, url))
        assert url not in related and len(related) <= 2
        own = {slug for slug, (_, members) in TAGS.items() if url in members}
        for other in related:
            assert own & {slug for slug, (_, members) in TAGS.items() if other in members}, (url, other)


def test_article_canonical_opengraph_and_json_ld(site: Path) -> None:
    doc = load(site, FERRY)
    canonical = SITE_URL + FERRY
    assert doc.xpath("//link[@rel='canonical']/@href") == [canonical]
    og = {m.get("property"): m.get("content") for m in doc.xpath("//meta[starts-with(@property, 'og:')]")}
    assert og["og:type"] == "article"
    assert og["og:title"] == "Harbour ferry switches to winter timetable with fewer late crossings"
    assert og["og:url"] == canonical
    assert og["og:description"] == "The last ferry to the island now leaves at 9pm, an hour earlier than in summer."
    assert og["og:image"] == SITE_URL + "media/ferry.svg"  # OpenGraph wants an absolute URL
    scripts = doc.xpath("//script[@type='application/ld+json']")
    assert len(scripts) == 1
    data = json.loads(scripts[0].text)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == og["og:title"]
    assert data["datePublished"] == "2023-12-04"
    assert data["url"] == canonical
    assert [a["name"] for a in data["author"]] == ["Maren Holt"]
    assert data["publisher"]["name"] == "The Harbour Gazette"
    assert data["image"] == SITE_URL + "media/ferry.svg"


def test_every_article_has_one_h1_and_valid_json_ld(site: Path) -> None:
    for url in ORDER:
        doc = load(site, url)
        assert len(doc.xpath("//h1")) == 1, url
        data = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
        assert data["@type"] == "NewsArticle" and data["url"] == SITE_URL + url
        datetime.fromisoformat(data["datePublished"])


def test_article_language_sets_the_page_language(site: Path) -> None:
    assert load(site, TIDE).get("lang") == "en-GB"
    assert load(site, BUS).get("lang") == "en"


# --- front page and lists --------------------------------------------------------------------


def day_sections(element: lxml.html.HtmlElement) -> list[tuple[date, list[str]]]:
    """(day, article URLs) for each block headed by a link to a day page."""
    result = []
    for heading in element.xpath(".//*[self::h2 or self::h3][a[@href]]"):
        match = DAY_HREF.match(heading.xpath("a/@href")[0])
        if match:
            section = heading.getparent()
            result.append((date(*map(int, match.groups())), article_links(section)))
    return result


def test_front_page_is_newest_first_grouped_by_day_and_paginated(site: Path) -> None:
    pages = follow_pages(site, "")
    assert len(pages) == 3
    seen: list[str] = []
    for number, doc in enumerate(pages, start=1):
        body = main_of(doc)
        links = article_links(body)
        assert 1 <= len(links) <= PAGE_SIZE
        seen += links
        sections = day_sections(body)
        assert sections, f"page {number} has no day headings"
        days = [day for day, _ in sections]
        assert days == sorted(days, reverse=True) and len(set(days)) == len(days)
        for day, members in sections:
            assert members and all(m.startswith(day.strftime("%Y/%m/%d/")) for m in members)
        grouped = [m for _, members in sections for m in members]
        # Articles not under a day heading may only be a lead story above the groups.
        assert links[len(links) - len(grouped) :] == grouped
    assert seen == ORDER
    assert (site / "page/2/index.html").is_file() and (site / "page/3/index.html").is_file()
    assert not (site / "page/4").exists()
    assert not (site / "page/1").exists()  # page 1 is the front page itself
    assert rel_href(main_of(pages[1]), "prev") == ""
    assert rel_href(main_of(pages[2]), "prev") == "page/2/"


def test_tag_index_lists_every_tag_with_its_count(site: Path) -> None:
    body = main_of(load(site, "tags/"))
    for slug, (name, members) in TAGS.items():
        assert count_next_to(body, f"/news/tags/{slug}/") == len(members), name
        assert body.xpath(f".//a[@href='/news/tags/{slug}/']")[0].text_content().strip() == name
    listed = {h for h in body.xpath(".//a/@href") if h.startswith("/news/tags/")}
    assert listed == {f"/news/tags/{slug}/" for slug in TAGS}


@pytest.mark.parametrize("slug", sorted(TAGS))
def test_tag_pages_list_their_articles_paginated(site: Path, slug: str) -> None:
    name, members = TAGS[slug]
    pages = follow_pages(site, f"tags/{slug}/")
    assert len(pages) == -(-len(members) // PAGE_SIZE)
    assert [link for doc in pages for link in article_links(main_of(doc))] == members
    assert main_of(pages[0]).xpath(".//h1")[0].text_content().strip() == name
    # Each tag page advertises its own feed.
    assert pages[0].xpath("//link[@type='application/atom+xml']/@href").count(f"/news/tags/{slug}/feed.xml") == 1


@pytest.mark.parametrize(("kind", "terms"), [("sources", SOURCES), ("authors", AUTHORS)])
def test_source_and_author_pages(site: Path, kind: str, terms: dict) -> None:
    index = main_of(load(site, f"{kind}/"))
    for slug, (name, members) in terms.items():
        assert count_next_to(index, f"/news/{kind}/{slug}/") == len(members), name
        pages = follow_pages(site, f"{kind}/{slug}/")
        assert [link for doc in pages for link in article_links(main_of(doc))] == members
    assert {h for h in index.xpath(".//a/@href") if h.startswith(f"/news/{kind}/")} == {
        f"/news/{kind}/{slug}/" for slug in terms
    }


def test_article_links_its_source_and_author_pages(site: Path) -> None:
    story = main_of(load(site, BUS))
    assert story.xpath(".//a[@href='/news/sources/riverside-post/']")
    assert story.xpath(".//a[@href='/news/authors/odette-varga/']")
    assert story.xpath(".//a[@href='/news/authors/jonas-pereira/']")


def test_every_source_author_and_tag_page_is_linked_from_somewhere(site: Path) -> None:
    linked = set()
    for path in html_files(site):
        linked |= set(lxml.html.document_fromstring(path.read_bytes()).xpath("//a/@href"))
    for kind, terms in (("sources", SOURCES), ("authors", AUTHORS), ("tags", TAGS)):
        assert {f"/news/{kind}/{slug}/" for slug in terms} <= linked, kind


def test_names_without_letters_still_get_working_pages(make_site: Callable[..., SiteDirs]) -> None:
    # Slugs of "¡…!" fall back to a hash; every link to a term page must use the same fallback.
    odd = make_site(
        {"2024/05/a.md": "---\ntitle: A\ndate: 2024-05-03\nsource: ¡…!\nauthors: ['***']\ntags: ['—']\n---\nText.\n"},
        'base_url = "https://example.org/news/"\n',
    )
    odd.build()
    assert check_links(odd.output, BASE) == []
    assert len(list((odd.output / "sources").glob("*/index.html"))) == 1
    assert len(list((odd.output / "authors").glob("*/index.html"))) == 1


# --- date indexes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "older", "newer"),
    [
        ("2023/12/04/", None, "2023/12/19/"),
        ("2023/12/19/", "2023/12/04/", "2024/01/01/"),  # skips empty days, across month and year
        ("2024/01/01/", "2023/12/19/", "2024/01/15/"),
        ("2024/01/15/", "2024/01/01/", None),
        ("2023/12/", None, "2024/01/"),
        ("2024/01/", "2023/12/", None),
        ("2023/", None, "2024/"),
        ("2024/", "2023/", None),
    ],
)
def test_date_pages_link_the_nearest_periods_with_articles(
    site: Path, url: str, older: str | None, newer: str | None
) -> None:
    body = main_of(load(site, url))
    assert rel_href(body, "prev") == older
    assert rel_href(body, "next") == newer


def test_day_page_is_that_days_edition(site: Path) -> None:
    body = main_of(load(site, "2023/12/04/"))
    assert article_links(body) == [BUS, FERRY]
    assert "4 December 2023" in body.xpath(".//h1")[0].text_content()


def test_month_and_year_pages_list_their_contents(site: Path) -> None:
    month = main_of(load(site, "2023/12/"))
    assert article_links(month) == [TIDE, BUS, FERRY]
    assert [day for day, _ in day_sections(month)] == [date(2023, 12, 19), date(2023, 12, 4)]
    year = main_of(load(site, "2024/"))
    assert count_next_to(year, "/news/2024/01/") == 3
    assert not (site / "2023/01").exists() and not (site / "2023/11").exists()


def test_archive_lists_years_and_months_with_counts(site: Path) -> None:
    body = main_of(load(site, "archive/"))
    assert count_next_to(body, "/news/2023/") == 3
    assert count_next_to(body, "/news/2024/") == 3
    assert count_next_to(body, "/news/2023/12/") == 3
    assert count_next_to(body, "/news/2024/01/") == 3


# --- site-wide files ------------------------------------------------------------------------------


def test_404_page(site: Path) -> None:
    doc = load(site, "404.html")
    assert "not found" in doc.xpath("//h1")[0].text_content().lower()
    hrefs = main_of(doc).xpath(".//a/@href")
    assert "/news/" in hrefs  # works from any depth: links are root-relative with the base path
    assert all(h.startswith(BASE) for h in hrefs)


def test_robots_txt_points_at_the_sitemap(site: Path) -> None:
    lines = (site / "robots.txt").read_text("utf-8").splitlines()
    assert "User-agent: *" in lines
    assert "Sitemap: https://example.org/news/sitemap.xml" in lines
    assert "Disallow: /" not in lines


def test_every_page_has_a_canonical_link_and_no_template_leftovers(site: Path) -> None:
    for path in html_files(site):
        data = path.read_text("utf-8")
        assert "{{" not in data and "{%" not in data, path
        doc = lxml.html.document_fromstring(data)
        assert len(doc.xpath("//link[@rel='canonical']")) == 1, path
        assert len(doc.xpath("//h1")) == 1, path
        for value in doc.xpath("//time/@datetime"):
            datetime.fromisoformat(value)


# --- drafts --------------------------------------------------------------------------------------

DRAFT = "2024/01/20/secret-budget-leak/"


def test_drafts_are_left_out(site: Path) -> None:
    assert not (site / DRAFT).exists()
    for gone in ("tags/leaks", "sources/draft-daily", "authors/nobody-yet", "2024/01/20"):
        assert not (site / gone).exists(), gone
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".xml", ".txt", ".json"}:
            assert b"budget leak" not in path.read_bytes().lower(), path


def test_drafts_are_built_with_the_drafts_option(tmp_path: Path) -> None:
    site = build_golden(tmp_path, drafts=True)
    assert main_of(load(site, DRAFT)).xpath(".//h1")[0].text_content().strip() == "Draft story about a budget leak"
    assert (site / "tags/leaks/index.html").is_file()
    assert article_links(main_of(load(site, "")))[0] == DRAFT


# --- base path and links ------------------------------------------------------------------------

URL_ATTRIBUTES = ("href", "src", "action", "poster", "data")


def local_references(site: Path, base: str) -> list[tuple[Path, str]]:
    """Every URL in an attribute of every HTML page, checked to stay under `base` or be absolute."""
    found = []
    for path in html_files(site):
        doc = lxml.html.document_fromstring(path.read_bytes())
        for attribute in URL_ATTRIBUTES:
            for element in doc.xpath(f"//*[@{attribute}]"):
                if attribute == "data" and element.tag != "object":
                    continue
                found.append((path, element.get(attribute)))
        for srcset in doc.xpath("//@srcset"):
            found += [(path, part.split()[0]) for part in srcset.split(",") if part.strip()]
    return found


def check_links(site: Path, base: str) -> list[str]:
    """Problems: links outside the base path, and internal links or assets with no file behind them."""
    problems = []
    for page, url in local_references(site, base):
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "mailto") or url.startswith("#"):
            continue
        if not url.startswith(base):
            problems.append(f"{page.relative_to(site)}: {url!r} does not start with {base}")
            continue
        rel = unquote(parts.path.removeprefix(base))
        target = site / rel
        if rel == "" or rel.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{page.relative_to(site)}: {url!r} leads nowhere")
    return problems


def test_sub_path_every_link_starts_with_the_base_path_and_resolves(site: Path) -> None:
    assert check_links(site, BASE) == []


def test_sample_site_links_and_assets_resolve(sample_site: Path) -> None:
    # The repository's own sample content, built under the same sub-path: every page type, every link.
    assert len(html_files(sample_site)) > 50
    assert check_links(sample_site, BASE) == []


@settings(max_examples=150, deadline=None)
@given(
    tag_sets=st.lists(st.sets(st.sampled_from("abcde"), max_size=4), min_size=1, max_size=30),
    days=st.data(),
    window=st.sampled_from([1, 2, 1000]),
)
def test_related_stories_are_those_sharing_most_tags_nearby(
    tag_sets: list[set[str]], days: st.DataObject, window: int
) -> None:
    """An article's related stories: the articles sharing most of its tags, counting a tag only
    when the other article is within WINDOW stories of it in that tag (by date); ties go to the
    newer. Said here the plain way, by ranks, and compared with the index's."""
    articles = [
        Article(
            path=f"{n}.md",
            title=f"T{n}",
            date=datetime(2024, 1, 1 + days.draw(st.integers(0, 27)), tzinfo=UTC),
            has_time=False,
            slug=f"s{n}",
            body="",
            digest=str(n),
            tags=tuple(sorted(tags)),
        )
        for n, tags in enumerate(tag_sets)
    ]
    site, _ = build_site(articles)
    index = RelatedIndex(site)
    index.WINDOW = window
    order = {id(a): i for i, a in enumerate(site.articles)}
    members = {t.slug: list(t.articles) for t in site.tags}
    for article in site.articles:
        slugs = [slugify(t) for t in article.tags]
        shared = {}
        for slug in slugs:
            rank = members[slug].index(article)
            for other_rank, other in enumerate(members[slug]):
                if other is not article and abs(other_rank - rank) <= window:
                    shared[id(other)] = shared.get(id(other), 0) + 1
        expected = sorted(shared, key=lambda key: (-shared[key], order[key]))[:3]
        assert [id(a) for a in index(article, slugs, 3, order[id(article)])] == expected
        assert index._position is None  # told where each article is: no map of positions made
    for article in site.articles:  # not told, or told wrongly: looked up
        slugs = [slugify(t) for t in article.tags]
        assert index(article, slugs, 3) == index(article, slugs, 3, order[id(article)])
        assert index(article, slugs, 3, len(site.articles)) == index(article, slugs, 3, 0)

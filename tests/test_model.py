"""The content model: frontmatter -> Article (dates, slugs, fields), and the indexes built from articles."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from sys import intern
from zoneinfo import ZoneInfo

import pytest
from buildkit import ROOT, TEMPLATES, SiteDirs
from hypothesis import example, given, settings
from hypothesis import strategies as st

from broadsheet.builder import BuildOptions, build
from broadsheet.cache import BuildCache, CachedBodies
from broadsheet.config import SiteConfig
from broadsheet.errors import BroadsheetError
from broadsheet.frontmatter import parse_article
from broadsheet.load import SourceFile, build_site
from broadsheet.model import Article, Facts
from broadsheet.pages import Page, page_plan, plan_pages
from broadsheet.parse_stage import parse_files
from broadsheet.render import Renderer, make_environment
from broadsheet.urls import output_path, slugify

BERLIN = ZoneInfo("Europe/Berlin")


def parse(front: str, path: str = "2024/05/story.md", tz: ZoneInfo = BERLIN, body: str = "Body.\n") -> Article:
    return parse_article(f"---\n{front.strip()}\n---\n{body}", path, tz)


# --- dates ------------------------------------------------------------------------------------------


def test_date_only() -> None:
    article = parse("title: T\ndate: 2024-05-03")
    assert article.has_time is False
    assert article.day.isoformat() == "2024-05-03"
    assert article.date.tzinfo == BERLIN
    assert article.url == "2024/05/03/story/"


def test_naive_datetime_is_read_in_the_site_timezone() -> None:
    article = parse("title: T\ndate: 2024-05-03T23:30:00")
    assert article.has_time is True
    assert article.date.isoformat() == "2024-05-03T23:30:00+02:00"  # Berlin summer time
    tokyo = parse("title: T\ndate: 2024-05-03T23:30:00", tz=ZoneInfo("Asia/Tokyo"))
    assert tokyo.date.isoformat() == "2024-05-03T23:30:00+09:00"


def test_datetime_with_offset_is_converted_to_the_site_timezone() -> None:
    article = parse("title: T\ndate: 2024-05-03T23:30:00-04:00")
    assert article.date == datetime(2024, 5, 4, 3, 30, tzinfo=UTC)  # the same instant
    assert article.date.isoformat() == "2024-05-04T05:30:00+02:00"
    assert article.url == "2024/05/04/story/"  # the day of publication in the site's zone
    assert parse("title: T\ndate: 2024-05-03T10:00:00Z").date.isoformat() == "2024-05-03T12:00:00+02:00"


def test_quoted_and_space_separated_dates() -> None:
    assert parse('title: T\ndate: "2024-05-03"').has_time is False
    assert parse("title: T\ndate: 2024-05-03 08:15").date.isoformat() == "2024-05-03T08:15:00+02:00"


def test_the_machine_timezone_never_matters(tmp_path: Path) -> None:
    """The same file parsed under very different TZ settings gives the same instant and day."""
    script = (
        "import sys, time; from zoneinfo import ZoneInfo; time.tzset()\n"
        "from broadsheet.frontmatter import parse_article\n"
        "a = parse_article(sys.stdin.read(), 'x/story.md', ZoneInfo('Europe/Berlin'))\n"
        "print(a.date.isoformat(), a.url)\n"
    )
    text = "---\ntitle: T\ndate: 2024-01-15T00:30:00\n---\nBody\n"
    outputs = set()
    for machine_tz in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):
        env = {**os.environ, "TZ": machine_tz}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=text,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        outputs.add(done.stdout.strip())
    assert outputs == {"2024-01-15T00:30:00+01:00 2024/01/15/story/"}


@settings(max_examples=60, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]),
)
@example(moment=datetime(2024, 11, 3, 5, 0, tzinfo=UTC), offset_minutes=0, zone="America/New_York")
def test_any_datetime_with_an_offset_keeps_its_instant(moment: datetime, offset_minutes: int, zone: str) -> None:
    local = moment.replace(microsecond=0).astimezone(timezone(timedelta(minutes=offset_minutes)))
    article = parse(f"title: T\ndate: {local.isoformat()}", tz=ZoneInfo(zone))
    # Compared as instants: a local time that a clock change repeats (01:00 in New York on the
    # morning of 3 November 2024) never equals a time in another zone by `==` (PEP 495).
    assert article.date.astimezone(UTC) == local.astimezone(UTC)
    assert article.date.utcoffset() == local.astimezone(ZoneInfo(zone)).utcoffset()
    assert article.url.startswith(article.date.strftime("%Y/%m/%d/"))


def _bodiless(article: Article) -> Article:
    return replace(article, body="", slug=article.slug)


def test_day_and_url_follow_the_date_and_slug_through_copies_and_the_cache() -> None:
    """They are worked out when an article is made (slots, no __dict__ to grow later): a copy with
    another date or slug, and an article read back from the cache, must carry their own."""
    article = parse("title: T\ndate: 2024-05-03T23:30:00")
    assert not hasattr(article, "__dict__")
    moved = replace(article, date=article.date + timedelta(hours=1), slug="later")
    assert (moved.day.isoformat(), moved.url, moved.slug) == ("2024-05-04", "2024/05/04/later/", "later")
    # The slug is held only as part of the page's path: a copy must be given it, not make up another.
    assert "slug" not in Article.__slots__ and article.slug == "story"
    with pytest.raises(ValueError, match="slug"):
        replace(article, body="")
    copy = pickle.loads(pickle.dumps(_bodiless(article), pickle.HIGHEST_PROTOCOL))
    assert (copy.day, copy.url, copy.title, copy.body) == (article.day, article.url, "T", "")
    full = parse(
        "title: T\ndate: 2024-05-03T23:30:00\nauthors: [Ann]\ntags: [X, Y]\nsource: S\ndistributor: D\n"
        "copyright: C\nlanguage: de\nsummary: Sum\nimage: {src: /a.jpg, caption: Cap}\nfoo: bar"
    )
    back = pickle.loads(pickle.dumps([full, full], pickle.HIGHEST_PROTOCOL))
    assert back[0] is back[1]
    assert all(getattr(back[0], f.name) == getattr(full, f.name) for f in fields(Article))
    assert (back[0].image.caption, back[0].extra, back[0].tags) == ("Cap", {"foo": "bar"}, ("X", "Y"))


def test_names_many_articles_share_are_held_once_after_reading_back(tmp_path: Path) -> None:
    """A site holds every article in memory: read back from the cache, each on its own, articles
    share one copy of each tag, author and source name instead of holding one each."""
    front = "title: T{n}\ndate: 2024-05-0{n}\ntags: [Politics, Trade]\nauthors: [Ann Lee]\nsource: Wire Service"
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        cache.store_articles((f"{n}.md", 1, 1, _bodiless(parse(front.format(n=n)))) for n in (1, 2))
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        files = {f"{n}.md": SourceFile(f"{n}.md", "", 1, 1) for n in (1, 2)}
        first, second = (article for _, article in cache.unchanged_articles(files))
    assert (first.tags, first.authors, first.source) == (("Politics", "Trade"), ("Ann Lee",), "Wire Service")
    assert all(a is b for a, b in zip(first.tags + first.authors, second.tags + second.authors, strict=True))
    assert first.tags is second.tags and first.authors is second.authors  # the tuples too
    # An article's page's file is held once: the manifests and records that name it share the string.
    assert first.page_path == "2024/05/01/story/index.html" and intern("2024/05/01/story/index.html") is first.page_path
    assert first.source is second.source
    assert (first.title, second.title, second.day.isoformat()) == ("T1", "T2", "2024-05-02")


def test_only_the_stored_articles_of_files_unchanged_since_are_read_back(tmp_path: Path) -> None:
    """A build reads back the article stored for each content file whose size and modification time
    are those it had then, a row at a time; the rows of files changed, gone or unknown are not even
    unpickled (here they could not be)."""
    article = _bodiless(parse("title: Kept\ndate: 2024-05-01"))
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        cache.store_articles([("kept.md", 10, 20, article)])
        for path in ("grown.md", "touched.md", "gone.md"):
            cache.db.execute("INSERT INTO files VALUES (?, 10, 20, ?)", (path, b"not a pickle"))
    files = {
        "kept.md": SourceFile("kept.md", "", 10, 20),
        "grown.md": SourceFile("grown.md", "", 11, 20),
        "touched.md": SourceFile("touched.md", "", 10, 21),
        "new.md": SourceFile("new.md", "", 10, 20),
    }
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        [(source, back)] = cache.unchanged_articles(files)
    assert source is files["kept.md"]
    assert (back.path, back.title, back.date) == (article.path, "Kept", article.date)


def test_facts_are_read_by_digest_when_a_page_asks_and_only_a_few_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An article's facts (word count, summary) are stored with its rendered body, by content digest,
    and read when a page asks for them, not held for every article: this build's own from memory,
    the others from the cache, and only the last few read kept. Pages show the summary as written."""
    long_para = "Café owners in the old town said " + "the harbour works went on all night " * 10
    files = [
        ("short.md", b"---\ntitle: Short\ndate: 2024-05-03\n---\nPlain words only.\n"),
        ("long.md", f"---\ntitle: Long\ndate: 2024-05-04\n---\n{long_para}\n".encode()),
        ("own.md", b"---\ntitle: Own\ndate: 2024-05-05\nsummary: Its own.\n---\nBody words.\n"),
    ]
    (_, short, _), (_, long, _), (_, own, _) = parse_files(files, "UTC")
    assert short[1] == Facts(3, "Plain words only.") and own[1] == Facts(2, "")
    assert long[1].summary.startswith("Café owners") and long[1].summary.endswith("…")
    cache_file = tmp_path / "cache.sqlite"
    with BuildCache(cache_file) as cache:
        cache.store_rendered((a.digest, html, terms, facts) for a, facts, html, terms in (short, long, own))
    reads: list[str] = []
    read = CachedBodies._read

    def counted(self: CachedBodies, digest: str, path: str | None, columns: str) -> tuple:
        reads.append(path or "")
        return read(self, digest, path, columns)

    monkeypatch.setattr(CachedBodies, "_read", counted)
    monkeypatch.setattr(CachedBodies, "FACTS_KEPT", 1)
    bodies = CachedBodies({own[0].digest: ("<p>Body words.</p>", "body words", Facts(40, ""))}, cache_file)
    site, _ = build_site([short[0], long[0], own[0]])
    renderer = Renderer(site, SiteConfig(root=tmp_path), make_environment(TEMPLATES), bodies.facts, bodies)
    assert renderer.summary(long[0]) == long[1].summary and renderer.reading_minutes(long[0]) == 1
    assert bodies.facts(long[0]) == long[1] and reads == ["long.md"]  # kept once read
    assert renderer.summary(short[0]) == "Plain words only." and reads == ["long.md", "short.md"]
    assert renderer.summary(long[0]) == long[1].summary and reads == ["long.md", "short.md", "long.md"]
    assert len(bodies._facts) == 1  # (the first read let go)
    # This build's own, from memory; an article's own summary wins over the one made of its body.
    assert (renderer.summary(own[0]), renderer.reading_minutes(own[0])) == ("Its own.", 1) and len(reads) == 3
    assert bodies.facts(own[0]) == Facts(40, "")
    lost = replace(short[0], digest="0" * 32, slug=short[0].slug)
    with pytest.raises(BroadsheetError, match="lost a rendered body") as error:
        renderer.summary(lost)
    assert error.value.path == "short.md"


# --- slugs and fields ---------------------------------------------------------------------------------


def test_slug_comes_from_the_file_name() -> None:
    assert parse("title: Anything\ndate: 2024-05-03", path="2024/05/Harbour Works.md").slug == "harbour-works"


def test_slug_key_overrides_the_file_name() -> None:
    article = parse("title: T\ndate: 2024-05-03\nslug: My Own Slug!", path="2024/05/file-name.md")
    assert article.slug == "my-own-slug"
    assert article.url == "2024/05/03/my-own-slug/"
    assert parse("title: T\ndate: 2024-05-03\nslug: 2024").slug == "2024"


def test_articles_own_slugs_are_not_kept_in_the_slug_cache() -> None:
    """Tag, source and author names are slugged again and again, and their slugs are kept; an
    article's own slug is made once, and kept it would stay for the whole build in every process
    that parses (a parse worker held 50,000 of them, about 20 MB, at 100,000 articles)."""
    slugify("Harbour Works")
    kept = slugify.cache_info().currsize
    files = [
        (f"2024/05/story {n}.md", f"---\ntitle: T{n}\ndate: 2024-05-03\n---\nBody.\n".encode()) for n in range(300)
    ]
    parsed = parse_files(files, "UTC")
    assert [result[1][0].slug for result in parsed] == [slugify(f"story {n}") for n in range(300)]
    assert slugify.cache_info().currsize == kept + 300  # those asked for just now, not while parsing


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Köln Straße", "koln-strasse"),
        ("Tucson's budget", "tucsons-budget"),
        ("Привет мир", "привет-мир"),
        ("a/../b", "a-b"),
        ("CON", "con-"),
    ],
)
def test_slugify_keeps_one_safe_segment(text: str, slug: str) -> None:
    assert slugify(text) == slug


WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)}


@given(st.text(max_size=300))
def test_any_slug_is_one_safe_path_segment(text: str) -> None:
    slug = slugify(text)
    assert slug and slug not in {".", ".."} and "/" not in slug and "\\" not in slug and "\0" not in slug
    assert slug == slug.lower() and not slug.startswith("-")
    assert slug not in WINDOWS_RESERVED
    assert len(slug.encode("utf-8")) <= 255  # fits a file name on any common file system


def test_all_fields_are_read() -> None:
    article = parse(
        """
title: "  Harbour: a story  "
date: 2024-05-03
authors: [Maren Holt, Pieter Vos, Maren Holt]
source: The Harbour Gazette
distributor: Coastal Wire
copyright: © 2024 Gazette
dateline: PORT ELLISON
language: en-GB
image: {src: /media/x.svg, alt: Alt text, caption: Cap, credit: Cred}
tags: [Harbour, Budget]
summary: Short.
title_prefix: Analysis
editor_note: Note.
correction: Fixed.
original_url: https://example.com/a
draft: false
"""
    )
    assert article.title == "Harbour: a story"
    assert article.authors == ("Maren Holt", "Pieter Vos")  # duplicates dropped, order kept
    assert (article.source, article.distributor, article.copyright) == (
        "The Harbour Gazette",
        "Coastal Wire",
        "© 2024 Gazette",
    )
    assert (article.dateline, article.language, article.summary) == ("PORT ELLISON", "en-GB", "Short.")
    assert (article.title_prefix, article.editor_note, article.correction) == ("Analysis", "Note.", "Fixed.")
    assert article.original_url == "https://example.com/a"
    assert article.image is not None and (
        article.image.src,
        article.image.alt,
        article.image.caption,
        article.image.credit,
    ) == (
        "/media/x.svg",
        "Alt text",
        "Cap",
        "Cred",
    )
    assert article.tags == ("Harbour", "Budget") and article.draft is False
    assert article.extra == {}


def test_single_author_string_and_image_string() -> None:
    article = parse("title: T\ndate: 2024-05-03\nauthors: Jane Doe\nimage: /media/x.svg")
    assert article.authors == ("Jane Doe",)
    assert article.image is not None and article.image.src == "/media/x.svg"


def test_unknown_keys_are_kept() -> None:
    article = parse("title: T\ndate: 2024-05-03\nmood: hopeful\nrating: 4\nextra_links: [a, b]")
    assert article.extra == {"mood": "hopeful", "rating": 4, "extra_links": ["a", "b"]}


@pytest.mark.parametrize(
    ("front", "message", "line"),
    [
        ("date: 2024-05-03", "missing title", None),
        ("title: T", "missing date", None),
        ("title: T\ndate: 03/05/2024", "unparseable date", 3),
        ("title: T\ndate: 2024-05-03\ntags: {a: 1}", "tags must be a list", 4),
        ("title: T\ndate: 2024-05-03\ntags: [a, [b]]", "tags must be a list", 4),
        ("title: T\ndate: 2024-05-03\nimage: {src: x, colour: red}", "unknown image key", 4),
        ("title: T\ndate: 2024-05-03\nsource: [a, b]", "source must be text", 4),
        ("title: [T]\ndate: 2024-05-03", "title must be text", 2),
        ("title: T\ndate: 2024-05-03\nslug: {a: b}", "slug must be text", 4),
    ],
)
def test_field_errors_name_file_and_line(front: str, message: str, line: int | None) -> None:
    with pytest.raises(BroadsheetError) as caught:
        parse(front, path="2024/05/bad.md")
    error = caught.value
    assert error.path == "2024/05/bad.md" and message in error.message
    assert error.line == line
    assert str(error).startswith(f"2024/05/bad.md:{line}: " if line else "2024/05/bad.md: ")


# --- the site indexes ------------------------------------------------------------------------------


def make(path: str, front: str) -> Article:
    return parse(front, path=path)


def test_site_indexes_group_and_order() -> None:
    articles = [
        make("a.md", "title: A\ndate: 2024-05-03T08:00:00\ntags: [City Council]\nsource: Post"),
        make("b.md", "title: B\ndate: 2024-05-03T09:00:00\ntags: [city council, Harbour]\nsource: Post"),
        make("c.md", "title: C\ndate: 2024-04-30\ntags: [City Council]\nauthors: [Ann]"),
        make("d.md", "title: D\ndate: 2023-12-31\ndraft: true\ntags: [Secret]"),
    ]
    site, errors = build_site(articles)
    assert errors == []
    assert [a.title for a in site.articles] == ["B", "A", "C"]  # newest first, draft left out
    tags = {t.slug: t for t in site.tags}
    assert set(tags) == {"city-council", "harbour"}  # spellings that slugify alike are one tag
    assert tags["city-council"].name == "City Council"  # the most used spelling (ties: alphabetical)
    assert [a.title for a in tags["city-council"].articles] == ["B", "A", "C"]
    assert [(s.name, len(s.articles)) for s in site.sources] == [("Post", 2)]
    assert [p.url for p in site.years] == ["2024/"]
    assert [p.url for p in site.months] == ["2024/05/", "2024/04/"]
    assert [(p.url, len(p.articles)) for p in site.days] == [("2024/05/03/", 2), ("2024/04/30/", 1)]
    with_drafts, _ = build_site(articles, drafts=True)
    assert [a.title for a in with_drafts.articles][-1] == "D" and len(with_drafts.years) == 2


def test_list_pages_show_their_part_of_the_list_and_hold_no_copy_of_it() -> None:
    """Each page of a paginated list shows its stretch of the list's articles, day by day, and
    the list's length; a large site plans tens of thousands of such pages at once, so a planned
    page holds the list itself and where its stretch starts, not a copy of the stretch."""
    articles = [make(f"{i}.md", f"title: S{i}\ndate: 2024-05-0{1 + i // 2}T0{i}:00:00\ntags: [Port]") for i in range(5)]
    site, _ = build_site(articles)
    config = SiteConfig(page_size=2)
    (port,) = site.tags
    pages = [p for p in plan_pages(site, config, lambda a: ("port",)) if p.url.startswith("tags/port/")]
    assert [p.url for p in pages] == ["tags/port/", "tags/port/page/2/", "tags/port/page/3/"]
    shown = []
    for number, page in enumerate(pages, 1):
        assert page.make_context.articles is port.articles  # the term's own tuple
        context = page.make_context()
        assert (context["pagination"].number, context["pagination"].total, context["count"]) == (number, 3, 5)
        assert context["term"] is port and page.entries_date == port.articles[2 * number - 2].date
        shown.append([[a.title for a in group.articles] for group in context["groups"]])
    assert shown == [[["S4"], ["S3"]], [["S2"], ["S1"]], [["S0"]]]  # newest first, grouped by day


def test_the_page_plan_makes_each_article_and_list_page_when_asked_not_before() -> None:
    """A full build plans every page at once; the plan holds the date pages but makes an article's
    page (a Page and its context's maker, one per article) and a page of a paginated list (a third
    as many) each time it is asked for: the same pages, in the same order, with the same contexts
    as plan_pages gives."""
    tags = ["Port, Road", "Port, Rail"]
    articles = [
        make(f"{i}.md", f"title: S{i}\ndate: 2024-05-0{1 + i // 2}T0{i}:00:00\ntags: [{tags[i % 2]}]") for i in range(5)
    ]
    site, _ = build_site(articles)
    config = SiteConfig(page_size=2)

    def slugs(article: Article) -> tuple[str, ...]:
        return tuple(slugify(t) for t in article.tags)

    planned = list(plan_pages(site, config, slugs))
    plan = page_plan(site, config, slugs)
    assert len(plan) == len(planned) and len(planned) > len(articles)

    def shown(page: Page) -> tuple:
        return page.url, page.template, page.entries_date, page.context

    assert [shown(p) for p in plan] == [shown(p) for p in planned]
    assert [shown(plan[i]) for i in range(len(plan))] == [shown(p) for p in planned]
    assert list(plan.urls()) == [p.url for p in planned]
    # Each page's output file; an article's is the string the article holds, not a copy of its own.
    assert list(plan.paths()) == [output_path(p.url) for p in planned]
    assert all(path is a.page_path for path, a in zip(plan.paths(), site.articles, strict=False))
    assert [plan.entries_date(i) for i in range(len(plan))] == [p.entries_date for p in planned]
    assert shown(plan[-1]) == shown(planned[-1]) and shown(plan[-len(plan)]) == shown(planned[0])
    with pytest.raises(IndexError):
        plan[len(plan)]
    with pytest.raises(IndexError):
        plan[-len(plan) - 1]
    first = plan[0]
    assert first.url == site.articles[0].url and plan[0] is not first  # made when asked, not held
    front = len(articles)  # the first page of the front page's list
    assert plan[front].url == "" and plan[front] is not plan[front]  # a list's pages: made when asked too
    day = next(i for i, page in enumerate(planned) if page.url == site.days[0].url)
    assert plan[day] is plan[day]  # the other pages are held, made once


def test_two_articles_with_one_url_are_both_reported_and_left_out() -> None:
    one = make("2024/05/story.md", "title: One\ndate: 2024-05-03")
    two = make("other/place.md", "title: Two\ndate: 2024-05-03T10:00:00\nslug: story")
    three = make("2024/05/fine.md", "title: Three\ndate: 2024-05-03")
    site, errors = build_site([one, two, three])
    assert [a.title for a in site.articles] == ["Three"]
    assert sorted(e.path for e in errors) == ["2024/05/story.md", "other/place.md"]
    for error in errors:
        assert "2024/05/story.md" in error.message and "other/place.md" in error.message


# --- unknown keys reach templates -------------------------------------------------------------------


def test_unknown_keys_reach_templates(make_site: Callable[..., SiteDirs], tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    shutil.copytree(TEMPLATES, theme)
    article_template = theme / "article.html"
    text = article_template.read_text("utf-8")
    marker = '<p id="mood">{{ article.extra.mood }} / {{ article.extra.scores | tojson }}</p>\n{% endblock %}'
    article_template.write_text(text[: text.rindex("{% endblock %}")] + marker + "\n", "utf-8")
    site = make_site({"2024/05/a.md": "---\ntitle: A\ndate: 2024-05-03\nmood: <hopeful>\nscores: [1, 2]\n---\nText.\n"})
    build(
        site.load_config(),
        BuildOptions(content_dir=site.content, output_dir=site.output, templates_dir=theme, cache=False, jobs=1),
    )
    page = (site.output / "2024/05/03/a/index.html").read_text("utf-8")
    line = next(line for line in page.splitlines() if 'id="mood"' in line)
    assert "&lt;hopeful&gt;" in line  # autoescaped like everything from content
    assert json.loads(line.split(" / ", 1)[1].removesuffix("</p>")) == [1, 2]
    assert ROOT.joinpath("templates", "article.html").read_text("utf-8") == text  # the real theme untouched


def test_articles_without_extra_keys_share_one_empty_extra_wherever_they_are_read_back() -> None:
    # A parse worker's batch, a cache row and the edit snapshot are pickles: each article read back
    # from one must not bring an empty dict of its own (64 bytes an article at 100,000 articles).
    plain = "---\ntitle: Plain\ndate: 2024-05-01\n---\nBody.\n"
    files = [(f"p{n}.md", plain.encode()) for n in range(3)]
    files.append(("x.md", b"---\ntitle: Extra\ndate: 2024-05-01\nrating: 5\n---\nBody.\n"))
    batch = pickle.loads(pickle.dumps(parse_files(files, "UTC")))
    extras = [result[0].extra for _, result, _ in batch]
    assert extras == [{}, {}, {}, {"rating": 5}]
    assert extras[0] is extras[1] is extras[2]
    alone = [pickle.loads(pickle.dumps(result[0])).extra for _, result, _ in batch]  # one row at a time
    assert alone[0] is alone[1] is extras[0] and alone[3] == {"rating": 5}
    assert json.dumps(alone[0]) == "{}"
    with pytest.raises(TypeError):  # shared: a key put into one article's would show on all of them
        alone[0]["rating"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        alone[0].update(rating=1)  # type: ignore[attr-defined]
    assert alone[1] == {}

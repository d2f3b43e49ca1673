"""Feeds -> articles: RSS 2.0, Atom 1.0, RSS 1.0, summary-only, HTML in titles, missing dates and ids,
malformed and hostile XML; `broadsheet import FEED` from files and from a local HTTP server."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from web_helpers import FEEDS, PAGES, local_server, loopback_fetcher

from broadsheet.cli import main
from broadsheet.frontmatter import parse_article
from broadsheet.ingest.feed import FeedError, entry_article, parse_feed
from broadsheet.ingest.webimport import import_any

UTC = ZoneInfo("UTC")


def feed(name: str, url: str | None = None):
    return parse_feed((FEEDS / name).read_bytes(), url=url, path=name)


def articles_in(content: Path) -> dict[str, object]:
    found = {}
    for path in sorted(content.rglob("*.md")):
        article = parse_article(path.read_text(encoding="utf-8"), path.relative_to(content).as_posix(), UTC)
        found[article.title] = article
    return found


def test_rss20_full_content_metadata_and_links():
    parsed = feed("rss20.xml")
    assert parsed.version == "rss20" and parsed.title == "The Harbour Gazette" and parsed.language == "en"
    first = parsed.entries[0]
    assert first.id == "gazette-2024-0412"
    assert first.title == "Exclusive: Pier café to reopen after storm repairs"  # HTML stripped, text kept
    assert first.published == dt.datetime(2024, 4, 12, 8, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert first.authors == ("Maren Holt",)
    assert first.tags == ("Harbour", "Business")
    assert first.image == "http://gazette.example/media/pier-cafe.jpg"  # relative media URL made absolute
    article = entry_article(first, source="The Harbour Gazette")
    body = article.body
    assert "five months after a winter storm" in body  # content:encoded, not the one-line description
    assert "## New menu" in body
    assert "[harbour hardship fund](http://gazette.example/news/harbour-fund)" in body  # against the story's page
    assert "javascript" not in body and "alert" not in body  # script dropped, unsafe link unwrapped
    assert "Click here for nothing at all." in body
    assert article.summary == "The café at the end of the north pier will reopen on Saturday."
    assert article.url == "http://gazette.example/news/pier-cafe-reopens"


def test_atom10_html_xhtml_and_summary_only_entries():
    parsed = feed("atom10.xml")
    assert parsed.version == "atom10"
    road, choir, shop = parsed.entries
    assert road.title == "Reservoir work to close valley road for a month"
    assert road.published == dt.datetime(2024, 4, 15, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert road.tags == ("Water", "Roads")
    road_body = entry_article(road, source=None).body
    assert "[spillway inspection](http://courier.example/2024/03/spillway)" in road_body
    assert "national final in June" in entry_article(choir, source=None).body  # type="xhtml" content
    assert shop.content_html is None and "twelve valley farms" in entry_article(shop, source=None).body
    assert shop.published == dt.datetime(2024, 4, 11, 12, 0, tzinfo=dt.UTC)  # only <updated>: used as the date


def test_rss10_rdf_feed():
    parsed = feed("rss10.xml")
    assert parsed.version == "rss10"
    bins, depot = parsed.entries
    assert bins.id == "http://ledger.example/2024/04/bin-collections"  # rdf:about
    assert bins.published == dt.datetime(2024, 4, 14, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # dc:date
    assert bins.authors == ("Odile Marchetti",) and bins.tags == ("Council",)
    assert "four-day week" not in entry_article(bins, source=None).body  # body is the description
    assert "longer shifts for crews" in entry_article(bins, source=None).body
    assert depot.authors == ()


def test_summary_only_feed_uses_the_summary_as_the_body():
    coastal, roof = feed("summary_only.xml").entries
    article = entry_article(coastal, source="Bay Briefs")
    assert article.body.startswith(
        "The coastal path between the lighthouse and Sandy Cove has reopened after a **landslip**"
    )
    assert "[See the map](http://briefs.example/maps/path)" in article.body
    assert article.summary is None  # the summary *is* the body; no second copy


def test_missing_dates_and_ids_get_stable_fallbacks():
    first = feed("missing.xml").entries
    again = feed("missing.xml").entries
    no_date, no_link, no_title = first
    assert no_date.published is None and no_date.id == "http://parish.example/hall-boiler"  # link stands in
    assert no_link.link is None and no_link.id.startswith("sha256:")
    assert [e.id for e in first] == [e.id for e in again]  # same feed, same ids: re-import matches them
    assert len({e.id for e in first}) == 3
    assert no_title.title.startswith("Bell ringers are looking for new members")


def test_malformed_xml_is_reported_with_its_line():
    with pytest.raises(FeedError) as caught:
        feed("malformed.xml")
    message = str(caught.value)
    assert message.startswith("malformed.xml:8:") and "not well-formed" in message


def test_billion_laughs_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(FeedError, match="declares XML entities"):
        feed("billion_laughs.xml")
    assert time.perf_counter() - started < 2.0  # expansion would take minutes and gigabytes


def test_external_entities_are_refused(tmp_path):
    xxe = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>
<rss version="2.0"><channel><title>t</title><item><title>&x;</title></item></channel></rss>"""
    with pytest.raises(FeedError, match="refused"):
        parse_feed(xxe, path="xxe.xml")


def test_html_instead_of_a_feed_is_reported():
    with pytest.raises(FeedError, match="not well-formed|not an RSS or Atom feed"):
        parse_feed((PAGES / "market-street.html").read_bytes(), path="market-street.html")
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(b"<?xml version='1.0'?><note><to>x</to></note>", path="note.xml")


def test_republish_modes_excerpt_and_headline():
    entry = feed("rss20.xml").entries[0]
    excerpt = entry_article(entry, source="Gazette", republish="excerpt").body
    assert excerpt.endswith("[Read the full story at Gazette](http://gazette.example/news/pier-cafe-reopens)\n")
    assert "New menu" not in excerpt and "](http://gazette.example/news/harbour-fund)" not in excerpt
    assert len(excerpt) < 600
    headline = entry_article(entry, source="Gazette", republish="headline")
    assert headline.body == "[Read the full story at Gazette](http://gazette.example/news/pier-cafe-reopens)\n"
    assert headline.summary is None


def test_import_feed_file_writes_one_article_per_entry_and_is_repeatable(tmp_path):
    content = tmp_path / "content"
    out = io.StringIO()
    assert import_any([str(FEEDS / "rss20.xml"), str(FEEDS / "atom10.xml")], content, UTC, out=out) == 0
    found = articles_in(content)
    assert len(found) == 6
    cafe = found["Exclusive: Pier café to reopen after storm repairs"]
    assert cafe.source == "The Harbour Gazette" and cafe.original_url == "http://gazette.example/news/pier-cafe-reopens"
    assert cafe.extra["feed_entry"] == "gazette-2024-0412" and cafe.extra["import_hash"].startswith("sha256:")
    assert cafe.path == "2024/04/exclusive-pier-cafe-to-reopen-after-storm-repairs.md"
    before = {p: p.read_bytes() for p in content.rglob("*.md")}
    again = io.StringIO()
    assert import_any([str(FEEDS / "rss20.xml"), str(FEEDS / "atom10.xml")], content, UTC, out=again) == 0
    assert {p: p.read_bytes() for p in content.rglob("*.md")} == before
    assert "import: 6 unchanged" in again.getvalue()


def test_import_reports_a_bad_feed_and_still_imports_the_good_one(tmp_path):
    out = io.StringIO()
    code = import_any(
        [str(FEEDS / "malformed.xml"), str(FEEDS / "billion_laughs.xml"), str(FEEDS / "rss10.xml")],
        tmp_path / "content",
        UTC,
        out=out,
    )
    assert code == 1
    text = out.getvalue()
    assert "refused" in text and "malformed.xml:8: not well-formed XML" in text
    assert "billion_laughs.xml: refused: it declares XML entities" in text
    assert len(articles_in(tmp_path / "content")) == 2


def test_feed_without_dates_is_dated_when_first_seen(tmp_path):
    content = tmp_path / "content"
    assert import_any([str(FEEDS / "missing.xml")], content, UTC, out=io.StringIO()) == 0
    found = articles_in(content)
    boiler = found["Village hall gets a new boiler"]
    assert boiler.has_time and abs(boiler.date - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert found["Footbridge repainted"].date == dt.datetime(2024, 4, 13, 10, 0, tzinfo=UTC)


def test_import_feed_url_from_a_local_server_through_the_cli(tmp_path):
    with local_server() as server:
        server.expect_request("/feed.xml").respond_with_data(
            (FEEDS / "summary_only.xml").read_bytes(), content_type="application/rss+xml"
        )
        url = server.url_for("/feed.xml")
        assert main(["import", url, "--content", str(tmp_path / "content")]) == 1  # loopback refused by default
        assert not (tmp_path / "content").exists()
        assert main(["import", url, "--content", str(tmp_path / "content"), "--allow-loopback"]) == 0
    found = articles_in(tmp_path / "content")
    assert set(found) == {"Coastal path reopens after landslip", "Market hall gets new roof"}
    assert found["Market hall gets new roof"].extra["feed"] == url


def test_full_text_fetches_each_entry_page(tmp_path):
    page = (PAGES / "harbour-night-ferry.html").read_bytes()
    with local_server() as server:
        link = server.url_for("/news/night-ferry")
        home = server.url_for("/")
        rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title><link>{home}</link>
<item><title>Night ferry trial extended</title><link>{link}</link><guid>nf-1</guid>
<pubDate>Wed, 02 Oct 2024 07:45:00 +0100</pubDate><description>A short teaser only.</description></item>
</channel></rss>""".encode()
        server.expect_request("/feed.xml").respond_with_data(rss, content_type="application/rss+xml")
        server.expect_request("/news/night-ferry").respond_with_data(page, content_type="text/html")
        code = import_any(
            [server.url_for("/feed.xml")], tmp_path / "content", UTC, full_text=True, fetcher=loopback_fetcher(),
            out=io.StringIO(),
        )  # fmt: skip
    assert code == 0
    (article,) = articles_in(tmp_path / "content").values()
    assert article.title == "Night ferry trial extended"  # the feed's headline
    assert "the harbour authority said on Tuesday" in article.body  # the page's text
    assert "A short teaser only." not in article.body
    assert "cookies" not in article.body.lower() and "Subscribe" not in article.body
    assert article.authors == ("Maren Holt",)  # the feed had none; the page did


def test_import_routes_txt_html_and_feeds_from_one_folder(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "gazette.xml").write_bytes((FEEDS / "rss10.xml").read_bytes())
    (folder / "ferry.html").write_bytes((PAGES / "harbour-night-ferry.html").read_bytes())
    (folder / "notes.md").write_text("not an input kind; ignored")
    (folder / "lights.txt").write_text(
        "Harbour lights to be replaced with LEDs\n\nBy Jane Roe\n\nPORT ELLISON, April 3, 2024 - The harbour "
        "authority will replace the forty sodium lamps along the quays with LED fittings this summer.\n\n"
        "The work will be done at night in sections so that the quays stay open, the authority said.\n"
    )  # plain text goes to the text importer
    out = io.StringIO()
    code = import_any([str(folder)], tmp_path / "content", UTC, out=out)
    assert code == 0, out.getvalue()
    titles = set(articles_in(tmp_path / "content"))
    assert titles == {
        "Bin collections move to a four-day week",
        "Tram depot plans go on show",
        "Night ferry trial to run through the winter",
        "Harbour lights to be replaced with LEDs",
    }
    assert "wrote" in out.getvalue() and "notes.md" not in out.getvalue()

"""`[[feeds]]` in site.toml and `broadsheet fetch`, against real feed servers on 127.0.0.1, through to
a built site."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from web_helpers import FEEDS, REPO, local_server, serve_conditional, snapshot

from broadsheet.builder import BuildOptions, build
from broadsheet.cli import main
from broadsheet.config import load_config
from broadsheet.errors import BroadsheetError
from broadsheet.fetch import FetchPolicy
from broadsheet.frontmatter import parse_article
from broadsheet.ingest.pull import fetcher_for, pull_all
from broadsheet.subscriptions import CACHE_DIR, Subscription, parse_subscriptions, subscriptions
from broadsheet.urls import slugify

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2024, 4, 20, 12, 0, tzinfo=dt.UTC)
LOCAL = fetcher_for(allow_loopback=True)


def write_site(root: Path, feeds: str) -> Path:
    (root / "site.toml").write_text(f'title = "Test"\ntimezone = "Europe/London"\n{feeds}', encoding="utf-8")
    return root / "site.toml"


def articles_in(content: Path) -> list:
    return [parse_article(p.read_text(encoding="utf-8"), p.relative_to(content).as_posix(), UTC)
            for p in sorted(content.rglob("*.md"))]  # fmt: skip


# --- configuration ---------------------------------------------------------------------------------


def test_feeds_tables_are_read_with_defaults(tmp_path):
    write_site(tmp_path, '[[feeds]]\nurl = "https://a.example/rss"\n\n[[feeds]]\nurl = "https://b.example/atom"\n'
               'name = "B News"\ntags = ["World"]\nfull_text = true\nrepublish = "excerpt"\n')  # fmt: skip
    a, b = subscriptions(load_config(root=tmp_path))
    assert a == Subscription("https://a.example/rss")
    assert a.republish == "full" and a.full_text is False and a.label == "https://a.example/rss"
    assert b == Subscription("https://b.example/atom", "B News", ("World",), True, "excerpt")


@pytest.mark.parametrize(
    "table, message, line",
    [
        ('url = "https://a.example/rss"\nnmae = "x"', "entry 2: unknown key 'nmae'", 8),
        ('name = "No URL"', "entry 2: missing key 'url'", 6),
        ('url = "ftp://a.example/rss"', "entry 2: key 'url' must be an http(s) URL", 7),
        ('url = "https://a.example/rss"\nrepublish = "everything"', "key 'republish' must be one of \"full\"", 8),
        ('url = "https://a.example/rss"\nfull_text = "yes"', "key 'full_text' must be true or false", 8),
        ('url = "https://a.example/rss"\ntags = "World"', "key 'tags' must be an array of strings", 8),
        ('url = "https://a.example/rss"\nname = ""', "key 'name' must be a string", 8),
        ('url = "https://ok.example/feed"', "https://ok.example/feed is already subscribed in entry 1", 7),
    ],
)
def test_bad_feed_tables_are_errors_naming_the_key_and_line(tmp_path, table, message, line):
    path = write_site(tmp_path, f'[[feeds]]\nurl = "https://ok.example/feed"\n\n[[feeds]]\n{table}\n')
    with pytest.raises(BroadsheetError) as caught:
        subscriptions(load_config(root=tmp_path))
    assert message in str(caught.value)
    assert caught.value.path == str(path)
    assert caught.value.line == line  # the offending key's line (its [[feeds]] header when the key is missing)


def test_no_subscriptions_is_a_clear_message(tmp_path, capsys):
    write_site(tmp_path, "")
    assert main(["fetch", "--config", str(tmp_path / "site.toml")]) == 1
    assert "add [[feeds]] tables" in capsys.readouterr().err


# --- the full pipeline ------------------------------------------------------------------------------


def _three_feeds(server) -> tuple[Subscription, ...]:
    for name in ("rss20", "atom10", "rss10"):
        server.expect_request(f"/{name}.xml").respond_with_data(
            (FEEDS / f"{name}.xml").read_bytes(), content_type="application/xml"
        )
    return parse_subscriptions(
        [
            {"url": server.url_for("/rss20.xml"), "name": "Harbour Gazette", "tags": ["Bay"], "allow_loopback": True},
            {"url": server.url_for("/atom10.xml"), "tags": ["Valley"], "allow_loopback": True},
            {"url": server.url_for("/rss10.xml"), "name": "Northern Ledger", "allow_loopback": True},
        ],
        "site.toml",
    )


def _count(page: Path, text: str) -> int:
    return page.read_text(encoding="utf-8").count(html.escape(text, quote=False))


def test_subscribe_fetch_build_lists_every_entry_once_and_refetch_changes_nothing(tmp_path):
    content, cache = tmp_path / "content", tmp_path / CACHE_DIR
    with local_server() as server:
        subs = _three_feeds(server)
        reports = pull_all(subs, content, cache, UTC, now=NOW, workers=2)
        assert [(r.new, r.updated, r.unchanged, r.failed, r.error) for r in reports] == [
            (3, 0, 0, 0, None), (3, 0, 0, 0, None), (2, 0, 0, 0, None)
        ]  # fmt: skip
        before = snapshot(content, cache)
        again = pull_all(subs, content, cache, UTC, now=NOW + dt.timedelta(hours=1), workers=2)
        assert [(r.new, r.updated, r.unchanged) for r in again] == [(0, 0, 3), (0, 0, 3), (0, 0, 2)]
        assert snapshot(content, cache) == before  # bytes and mtimes: nothing on disk was touched

    articles = articles_in(content)
    assert len(articles) == 8
    cafe = next(a for a in articles if a.title.startswith("Exclusive"))
    assert cafe.extra["fetched"] == "2024-04-20T12:00:00+00:00"
    assert cafe.extra["feed"].endswith("/rss20.xml") and cafe.original_url.startswith("http://gazette.example/")

    write_site(tmp_path, "")
    result = build(load_config(root=tmp_path), BuildOptions(templates_dir=REPO / "templates"))
    assert result.articles == 8 and not result.errors
    site = tmp_path / "site"
    pages = sorted(site.glob("2024/04/*/*/index.html"))
    assert len(pages) == 8  # one page per entry
    by_source = {"Harbour Gazette": 3, "Valley Courier": 3, "Northern Ledger": 2}
    for source, count in by_source.items():
        listing = site / "sources" / slugify(source) / "index.html"
        members = [a for a in articles if a.source == source]
        assert len(members) == count
        for article in articles:
            assert _count(listing, article.title) == (1 if article in members else 0), (source, article.title)
    for tag in ("Bay", "Valley", "Harbour", "Water", "Council"):
        listing = site / "tags" / slugify(tag) / "index.html"
        for article in articles:
            assert _count(listing, article.title) == (1 if tag in article.tags else 0), (tag, article.title)
    for article in articles:
        assert _count(site / "index.html", article.title) == 1


def test_second_fetch_is_a_conditional_get_answered_304(tmp_path):
    with local_server() as server:
        seen = serve_conditional(server, "/feed.xml", (FEEDS / "rss20.xml").read_bytes(), "application/rss+xml")
        subs = parse_subscriptions([{"url": server.url_for("/feed.xml"), "allow_loopback": True}], "site.toml")
        first = pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
        before = snapshot(tmp_path / "content", tmp_path / "cache")
        (second,) = pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
    assert first[0].new == 3 and not first[0].not_modified
    assert second.not_modified and (second.new, second.updated, second.unchanged) == (0, 0, 3)
    assert "if-none-match" in seen[1] and "if-modified-since" in seen[1]
    assert snapshot(tmp_path / "content", tmp_path / "cache") == before
    state = json.loads(next((tmp_path / "cache" / "feeds").glob("*.json")).read_text())
    assert state["etag"] and state["last_modified"] and len(state["entries"]) == 3


def test_one_broken_feed_never_stops_the_others(tmp_path):
    with local_server() as server:
        for name in ("malformed", "billion_laughs", "rss10"):
            server.expect_request(f"/{name}.xml").respond_with_data((FEEDS / f"{name}.xml").read_bytes())
        server.expect_request("/missing-404.xml").respond_with_data("gone", status=404)
        server.expect_request("/big.xml").respond_with_data(b"<rss>" + b" " * 2_000_000 + b"</rss>")
        server.expect_request("/moved.xml").respond_with_data("", status=302, headers={"Location": "http://10.0.0.1/x"})
        urls = ["/malformed.xml", "/billion_laughs.xml", "/missing-404.xml", "/big.xml", "/moved.xml", "/rss10.xml"]
        subs = parse_subscriptions([{"url": server.url_for(u), "allow_loopback": True} for u in urls], "site.toml")
        reports = pull_all(
            subs, tmp_path / "content", tmp_path / "cache", UTC, fetchers=fetcher_for(FetchPolicy(max_bytes=1_000_000))
        )
    errors = [r.error or "" for r in reports]
    assert "not well-formed XML" in errors[0] and ":8:" in errors[0]
    assert "declares XML entities" in errors[1]
    assert "HTTP 404" in errors[2]
    assert "too large" in errors[3]
    assert "refused" in errors[4] and "10.0.0.1" in errors[4]
    assert reports[5].ok and reports[5].new == 2
    assert len(articles_in(tmp_path / "content")) == 2


def test_changed_entry_is_updated_in_place_never_duplicated(tmp_path):
    original = (FEEDS / "rss20.xml").read_bytes()
    with local_server() as server:
        server.expect_request("/feed.xml").respond_with_data(original)
        subs = parse_subscriptions([{"url": server.url_for("/feed.xml"), "allow_loopback": True}], "site.toml")
        pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
        server.clear()
        changed = original.replace(b"an hour earlier than before", b"two hours earlier than before")
        server.expect_request("/feed.xml").respond_with_data(changed)
        (report,) = pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW + dt.timedelta(days=1))
    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    articles = articles_in(tmp_path / "content")
    assert len(articles) == 3
    cafe = next(a for a in articles if a.title.startswith("Exclusive"))
    assert "two hours earlier" in cafe.body and cafe.extra["fetched"].startswith("2024-04-21")


def test_an_edited_article_is_never_overwritten_and_a_deleted_one_not_reimported(tmp_path):
    original = (FEEDS / "rss20.xml").read_bytes()
    content = tmp_path / "content"
    with local_server() as server:
        server.expect_request("/feed.xml").respond_with_data(original)
        subs = parse_subscriptions([{"url": server.url_for("/feed.xml"), "allow_loopback": True}], "site.toml")
        pull_all(subs, content, tmp_path / "cache", UTC, now=NOW)
        cafe = next(content.rglob("exclusive-*.md"))
        edited = cafe.read_text(encoding="utf-8").replace("Owners Lise and Tomas Varga", "Lise and Tomas Varga")
        cafe.write_text(edited, encoding="utf-8")
        next(content.rglob("lifeboat-*.md")).unlink()
        server.clear()
        server.expect_request("/feed.xml").respond_with_data(original.replace(b"from seven", b"from six"))
        (report,) = pull_all(subs, content, tmp_path / "cache", UTC, now=NOW)
    assert cafe.read_text(encoding="utf-8") == edited
    assert report.new == 0 and report.updated == 0
    assert any("edited by hand" in note for note in report.notes)
    assert any("was deleted here" in note for note in report.notes)
    assert len(articles_in(content)) == 2


def test_republish_settings_apply_per_feed(tmp_path):
    with local_server() as server:
        server.expect_request("/feed.xml").respond_with_data((FEEDS / "rss20.xml").read_bytes())
        server.expect_request("/other.xml").respond_with_data((FEEDS / "atom10.xml").read_bytes())
        subs = parse_subscriptions(
            [
                {"url": server.url_for("/feed.xml"), "republish": "headline", "name": "G", "allow_loopback": True},
                {"url": server.url_for("/other.xml"), "republish": "excerpt", "allow_loopback": True},
            ],
            "site.toml",
        )
        pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
    articles = articles_in(tmp_path / "content")
    headline = next(a for a in articles if a.source == "G" and a.title.startswith("Harbour pilots"))
    assert headline.body.strip() == "[Read the full story at G](http://gazette.example/news/pilots-pay-deal)"
    assert headline.extra["republished"] == "headline"
    excerpt = next(a for a in articles if a.title.startswith("Reservoir"))
    assert (
        excerpt.body.startswith("The road past Ashcombe dam")
        and "Read the full story at Valley Courier" in excerpt.body
    )


def test_fetch_command_prints_a_summary_per_feed(tmp_path, capsys):
    with local_server() as server:
        server.expect_request("/rss10.xml").respond_with_data((FEEDS / "rss10.xml").read_bytes())
        server.expect_request("/malformed.xml").respond_with_data((FEEDS / "malformed.xml").read_bytes())
        write_site(
            tmp_path,
            f'[[feeds]]\nurl = "{server.url_for("/rss10.xml")}"\nname = "Ledger"\n\n'
            f'[[feeds]]\nurl = "{server.url_for("/malformed.xml")}"\nname = "Broken"\n',
        )
        config = str(tmp_path / "site.toml")
        assert main(["fetch", "--config", config]) == 1
        refused = capsys.readouterr()
        assert "Ledger: failed" in refused.err and "loopback" in refused.err  # not allowed by default
        assert main(["fetch", "--config", config, "--allow-loopback"]) == 1
        out = capsys.readouterr()
    assert "Ledger: 2 new, 0 updated, 0 unchanged, 0 failed" in out.out
    assert "Broken: failed" in out.err and "not well-formed XML" in out.err
    assert "fetch: 2 feeds (1 failed): 2 new" in out.out
    assert (tmp_path / CACHE_DIR / "feeds").is_dir()
    assert len(articles_in(tmp_path / "content")) == 2


def test_full_text_subscription_fetches_pages_once(tmp_path):
    page = (REPO / "tests" / "fixtures" / "web" / "pages" / "seabird-colony.html").read_bytes()
    with local_server() as server:
        link = server.url_for("/story/seabirds")
        rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Coastline Post</title>
<item><title>Skerran seabirds recover</title><link>{link}</link><guid>sb-1</guid>
<pubDate>Mon, 08 Jul 2024 12:00:00 +0100</pubDate><description>Teaser.</description></item></channel></rss>"""
        server.expect_request("/feed.xml").respond_with_data(rss.encode())
        server.expect_request("/story/seabirds").respond_with_data(page, content_type="text/html")
        subs = parse_subscriptions(
            [{"url": server.url_for("/feed.xml"), "full_text": True, "allow_loopback": True}], "site.toml"
        )
        pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
        pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
        page_requests = [r for r, _ in server.log if r.path == "/story/seabirds"]
    (article,) = articles_in(tmp_path / "content")
    assert "1,840 occupied puffin burrows" in article.body and "Teaser." not in article.body
    assert len(page_requests) == 1  # the unchanged entry's page is not fetched again


def test_full_text_links_to_private_addresses_are_not_fetched(tmp_path):
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Sneaky</title>
<item><title>Metadata service</title><link>http://169.254.169.254/latest/meta-data/</link><guid>s-1</guid>
<pubDate>Mon, 08 Jul 2024 12:00:00 +0100</pubDate><description>The feed's own text for this entry.</description></item>
</channel></rss>"""
    with local_server() as server:
        server.expect_request("/feed.xml").respond_with_data(rss)
        subs = parse_subscriptions(
            [{"url": server.url_for("/feed.xml"), "full_text": True, "allow_loopback": True}], "site.toml"
        )
        (report,) = pull_all(subs, tmp_path / "content", tmp_path / "cache", UTC, now=NOW)
    assert report.new == 1
    assert any("169.254.169.254" in note and "link-local" in note for note in report.notes)
    (article,) = articles_in(tmp_path / "content")
    assert article.body.strip() == "The feed's own text for this entry."

"""Syndicated copies: one canonical article, the other outlets recorded on it as `also_published_by`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from web_helpers import FEEDS, REPO, local_server, snapshot

from broadsheet.builder import BuildOptions, build
from broadsheet.config import load_config
from broadsheet.frontmatter import parse_article
from broadsheet.ingest.dedupe import MIN_SHINGLES, THRESHOLD, DuplicateIndex, sketch
from broadsheet.ingest.feed import parse_feed
from broadsheet.ingest.markup import sanitized_markdown
from broadsheet.ingest.pull import fetcher_for, pull_all
from broadsheet.subscriptions import parse_subscriptions

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2024, 4, 20, 12, 0, tzinfo=dt.UTC)


def bodies(name: str) -> dict[str, str]:
    parsed = parse_feed((FEEDS / name).read_bytes(), path=name)
    return {e.id: sanitized_markdown(e.content_html or "", e.base) for e in parsed.entries}


def test_syndicated_copies_are_alike_and_different_stories_are_not():
    a, b, c = bodies("syndicated_a.xml"), bodies("syndicated_b.xml"), bodies("syndicated_c.xml")
    original = sketch(a["cp-1001"])
    assert original.similarity(sketch(b["hg-77"])) >= THRESHOLD  # dateline added, last paragraph cut
    assert original.similarity(sketch(c["vc-5"])) >= THRESHOLD  # note on top, local reaction added
    same_subject = sketch(a["cp-1002"])  # same airport, same chief executive, different story
    assert original.similarity(same_subject) < 0.2
    assert original.similarity(sketch(b["hg-78"])) < 0.05


def test_links_do_not_make_copies_differ():
    text = "The harbour authority agreed on Tuesday to keep ferry fares at their current level for another year. " * 3
    left = sketch(text + "[Read more](https://one.example/a)")
    right = sketch(text + "[Read more](https://two.example/b)")
    assert left.similarity(right) == 1.0


def test_short_bodies_match_only_when_identical():
    short = "Coastal path reopens."
    assert sketch(short).shingles < MIN_SHINGLES
    assert sketch(short).similarity(sketch("Coastal  path REOPENS")) == 1.0
    assert sketch(short).similarity(sketch("Coastal path closes.")) == 0.0
    assert sketch("").similarity(sketch("")) == 0.0  # nothing is not a duplicate of nothing


_WORDS = st.lists(st.sampled_from("harbour ferry fares council vote budget school rail tram port bay".split()),
                  min_size=0, max_size=120)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(_WORDS, _WORDS)
def test_similarity_is_symmetric_bounded_and_one_for_itself(left, right):
    a, b = sketch(" ".join(left)), sketch(" ".join(right))
    assert a.similarity(b) == b.similarity(a)
    assert 0.0 <= a.similarity(b) <= 1.0
    if a.shingles >= MIN_SHINGLES:
        assert a.similarity(sketch(" ".join(left))) == 1.0


def test_index_finds_the_best_match_and_forgets_removed_keys():
    a, b = bodies("syndicated_a.xml"), bodies("syndicated_b.xml")
    index = DuplicateIndex()
    index.add("routes.md", a["cp-1001"])
    index.add("car-park.md", a["cp-1002"])
    key, score = index.match(b["hg-77"])
    assert key == "routes.md" and score >= THRESHOLD
    assert index.match(b["hg-78"]) is None
    index.remove("routes.md")
    assert index.match(b["hg-77"]) is None and len(index) == 1


def _syndication(server):
    for name in ("syndicated_a", "syndicated_b", "syndicated_c"):
        server.expect_request(f"/{name}.xml").respond_with_data((FEEDS / f"{name}.xml").read_bytes())
    return parse_subscriptions(
        [{"url": server.url_for(f"/{n}.xml")} for n in ("syndicated_a", "syndicated_b", "syndicated_c")], "site.toml"
    )


def _articles(content):
    return [parse_article(p.read_text(encoding="utf-8"), p.relative_to(content).as_posix(), UTC)
            for p in sorted(content.rglob("*.md"))]  # fmt: skip


def test_fetch_groups_syndicated_copies_on_one_canonical_article(tmp_path):
    content, cache = tmp_path / "content", tmp_path / "cache"
    with local_server() as server:
        subs = _syndication(server)
        reports = pull_all(subs, content, cache, UTC, fetchers=fetcher_for(allow_loopback=True), now=NOW, workers=3)
        assert [(r.new, r.grouped) for r in reports] == [(2, 0), (1, 1), (0, 1)]
        before = snapshot(content, cache)
        again = pull_all(subs, content, cache, UTC, fetchers=fetcher_for(allow_loopback=True), now=NOW, workers=3)
        assert [(r.new, r.updated, r.grouped, r.unchanged) for r in again] == [(0, 0, 0, 2), (0, 0, 0, 2), (0, 0, 0, 1)]
        assert snapshot(content, cache) == before

    articles = _articles(content)
    assert sorted(a.title for a in articles) == [
        "Greyling airport adds four new routes",  # the first subscribed outlet's copy is canonical
        "Harbour festival dates announced",
        "New car park opens at Greyling airport",
    ]
    canonical = next(a for a in articles if a.title == "Greyling airport adds four new routes")
    assert canonical.source == "Coast Press Wire"
    assert canonical.extra["also_published_by"] == [
        {"source": "The Harbour Gazette Online", "url": "http://wire-b.example/travel/greyling-new-routes"},
        {"source": "Valley Courier Syndication", "url": "http://wire-c.example/news/airport-expansion"},
    ]

    (tmp_path / "site.toml").write_text('title = "T"\n', encoding="utf-8")
    build(load_config(root=tmp_path), BuildOptions(templates_dir=REPO / "templates"))
    page = (tmp_path / "site" / canonical.url / "index.html").read_text(encoding="utf-8")
    assert "Also published by" in page
    link = '<a href="http://wire-b.example/travel/greyling-new-routes" rel="nofollow noopener">'
    assert link + "The Harbour Gazette Online</a>" in page
    assert "Valley Courier Syndication</a>" in page
    front = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert front.count("Greyling airport adds four new routes") == 1
    assert "Flights to Bergen and Bordeaux" not in front and "Airport expansion: four new" not in front


def test_a_copy_of_an_edited_canonical_is_not_written_and_the_edit_is_kept(tmp_path):
    content, cache = tmp_path / "content", tmp_path / "cache"
    with local_server() as server:
        a, b, _ = _syndication(server)
        pull_all([a], content, cache, UTC, fetchers=fetcher_for(allow_loopback=True), now=NOW)
        path = next(content.rglob("greyling-airport-adds-four-new-routes.md"))
        edited = path.read_text(encoding="utf-8").replace("Helena Marsh said", "Helena Marsh, 52, said")
        path.write_text(edited, encoding="utf-8")
        (report,) = pull_all([b], content, cache, UTC, fetchers=fetcher_for(allow_loopback=True), now=NOW)
    assert (report.new, report.grouped) == (1, 1)  # the festival story is new; the airport copy is not
    assert path.read_text(encoding="utf-8") == edited
    assert len(_articles(content)) == 3


def test_a_hand_written_also_published_by_that_is_not_a_list_does_not_break_the_page(tmp_path):
    content = tmp_path / "content" / "2024" / "04"
    content.mkdir(parents=True)
    (content / "odd.md").write_text(
        "---\ntitle: Odd\ndate: 2024-04-01\nalso_published_by: just a string\n---\nBody text.\n", encoding="utf-8"
    )
    (content / "bad.md").write_text(
        "---\ntitle: Bad\ndate: 2024-04-02\nalso_published_by:\n- {source: Evil, url: 'javascript:alert(1)'}\n"
        "- plain entry\n---\nBody text.\n",
        encoding="utf-8",
    )
    (tmp_path / "site.toml").write_text('title = "T"\n', encoding="utf-8")
    build(load_config(root=tmp_path), BuildOptions(templates_dir=REPO / "templates"))
    odd = (tmp_path / "site" / "2024" / "04" / "01" / "odd" / "index.html").read_text(encoding="utf-8")
    bad = (tmp_path / "site" / "2024" / "04" / "02" / "bad" / "index.html").read_text(encoding="utf-8")
    assert "Also published by" not in odd
    assert "Also published by Evil" in bad and "javascript:" not in bad

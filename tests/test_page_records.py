"""page_records.PageRecords: what a full build records of each page it renders (its key, the digest of
its bytes, the articles it read), stored as the pages come when most are rendered, at the end otherwise."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from sys import intern

import pytest

from broadsheet import page_records
from broadsheet.cache import BuildCache
from broadsheet.output import Placed
from broadsheet.page_records import PageRecords


@pytest.mark.parametrize("streamed", [True, False])
def test_each_page_rendered_is_recorded_with_its_key_digest_and_the_articles_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    monkeypatch.setattr(page_records, "_RECORDS_PER_WRITE", 2)
    answers: dict[str, tuple[bytes, tuple[str, ...]]] = {}
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        cache.store_pages([("old/index.html", "k-old", "d-old", "x.md"), ("b/index.html", "k-b0", "d-b0", "w.md")])
        # Three pages of four rendered is a large share: their records go as they come. One is not.
        records = PageRecords(cache, {"b/index.html": ("k-b", {"z.md"})}, answers, 3 if streamed else 1, 4)
        assert records.streamed is streamed
        # The key made where the page was rendered, or by the plan (whose deps join those the page read).
        path = records.note("".join(["a/", "index.html"]), Placed("d-a", True), {"x.md", "y.md"}, "k-a")
        assert path is intern("a/index.html")  # the build's own object for the path, not the worker's copy
        records.note("b/index.html", Placed("d-b", False), {"x.md"}, None)
        answers["x.md"] = (b"key", ("y.md",))
        stored = cache.pages()
        assert stored.get("a/index.html") == (("k-a", "d-a") if streamed else None)
        assert stored["b/index.html"] == (("k-b", "d-b") if streamed else ("k-b0", "d-b0"))
        answers["y.md"] = (b"key", ("x.md",))
        records.note("c/index.html", b"<p>bytes", {"y.md"}, "k-c")  # not placed: its digest comes from the writer
        assert answers == {}  # two related answers: stored as they came too
        assert records.rendered == ["a/index.html", "b/index.html", "c/index.html"]

        records.store({"c/index.html": "d-c"}, ["old/index.html"], intern)
        assert cache.pages() == {
            "a/index.html": ("k-a", "d-a"),
            "b/index.html": ("k-b", "d-b"),
            "c/index.html": ("k-c", "d-c"),
        }
        assert cache.pages_reading(["x.md"]) == {"a/index.html", "b/index.html"}
        assert cache.pages_reading(["y.md"]) == {"a/index.html", "c/index.html"}
        assert cache.pages_reading(["z.md"]) == {"b/index.html"}
        assert cache.pages_reading(["w.md"]) == set()  # b's record before this build
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        related = dict(db.execute("SELECT path, found FROM related"))
    assert related == {"x.md": "y.md", "y.md": "x.md"}

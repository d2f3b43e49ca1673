"""Quick rebuilds (edit_build.py): an edit that keeps the site's structure patches the last build's
site model; anything else goes to the full build. Either way the tree is the one a cold build makes."""

from __future__ import annotations

import pickle
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from buildkit import placements, wrapped_python
from hypothesis import given
from hypothesis import strategies as st
from test_incremental import CHANGES, cold_equals_incremental, edit, first_article, middle_article, new_project, run

from broadsheet import edit_build, spare_fill, write
from broadsheet.cache import BuildCache
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.load import ScannedFiles, SourceFile, build_site, scan
from broadsheet.manifest import MANIFEST, read_manifest
from broadsheet.model import Article


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_project(tmp_path)


def stories(root: Path) -> list[Path]:
    return sorted((root / "content").rglob("*.md"))


def new_paragraph(path: Path, text: str) -> None:
    edit(path, "\n---\n", f"\n---\n{text}\n\n")


def test_a_body_edit_is_a_quick_rebuild_that_matches_a_cold_build(project: Path) -> None:
    full = run(project)
    assert not full.quick
    new_paragraph(middle_article(project), "A brand new opening paragraph.")
    result = cold_equals_incremental(project)
    assert result.quick and result.parsed_files == 1
    assert 0 < result.stats.written < full.stats.written / 10


def the_next_edit_places_only_its_changes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit's quick rebuild whose check finds the spare in step: the build places only its changes."""
    monkeypatch.setattr(spare_fill, "_mirror_into", lambda *args: pytest.fail("left to place"))  # (the check then dies)
    placed = placements(monkeypatch)
    new_paragraph(middle_article(project), "A brand new opening paragraph.")
    result = run(project)
    assert result.quick
    assert 0 < len(placed) == result.stats.written < 20


def test_the_first_edit_after_a_cold_build_places_only_its_changes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold build leaves no spare tree behind, the folder being new: a process of its own makes
    one (links to every live file) while the build records what it did, and the build waits for it.
    The first quick rebuild's forked check then finds nothing to link, and the build process places
    only the files the edit changed."""
    monkeypatch.setattr(write.threading, "active_count", lambda: 1)  # the check forks, as in the command
    run(project)
    site, spare = project / "site", project / ".site.spare"
    assert read_manifest(spare) == read_manifest(site)
    assert all((spare / path).stat().st_ino == (site / path).stat().st_ino for path in read_manifest(site))
    the_next_edit_places_only_its_changes(project, monkeypatch)
    assert (spare / MANIFEST).is_file()
    assert not cold_equals_incremental(project).stats.written  # (nothing left to do: the same tree)


def test_a_build_that_rewrote_the_site_leaves_the_spare_in_step_in_its_own_files(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a template change every page differs from the site before it, which the swap made the
    spare: a process of its own copies the new pages into the spare's files while the build records
    what it did, so that the first edit after it places only its own changes (its check finding
    nothing to place), and the next template change rewrites those files where they are."""
    monkeypatch.setattr(write.threading, "active_count", lambda: 1)  # the check forks, as in the command
    run(project)
    edit(project / "templates" / "base.html", "</footer>", "<!-- edited --></footer>")
    assert not run(project).quick
    site, spare = project / "site", project / ".site.spare"
    assert read_manifest(spare) == read_manifest(site)
    assert (spare / MANIFEST).read_bytes() == (site / MANIFEST).read_bytes()
    pages = [path for path in read_manifest(site) if path.endswith(".html")]
    for path in pages:  # the cold build's files, no longer shared with the live tree, rewritten
        mine, live = (spare / path).stat(), (site / path).stat()
        assert (mine.st_nlink, mine.st_mtime_ns) == (1, live.st_mtime_ns) and mine.st_ino != live.st_ino
        assert (spare / path).read_bytes() == (site / path).read_bytes()
    the_next_edit_places_only_its_changes(project, monkeypatch)
    assert not cold_equals_incremental(project).stats.written
    before = {path: (spare / path).stat().st_ino for path in pages}
    edit(project / "templates" / "base.html", "<!-- edited -->", "<!-- edited again -->")
    assert not run(project).quick
    assert {path: (site / path).stat().st_ino for path in pages} == before  # rewritten where they were


@pytest.mark.parametrize("filler", ["slow", "failing"])
def test_a_cold_build_waits_for_its_spare_fill_and_does_without_one(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filler: str
) -> None:
    """The build lets go of the folder only once the process filling the spare has ended (a slow
    one is waited for); one that fails costs the first edit's check the links, and nothing else."""
    python = wrapped_python(tmp_path, "sleep 1" if filler == "slow" else "exit 1")
    monkeypatch.setattr(spare_fill.sys, "executable", str(python))
    run(project)
    monkeypatch.undo()
    spare = project / ".site.spare"
    if filler == "slow":
        assert read_manifest(spare) == read_manifest(project / "site")
    else:
        assert not spare.exists()
    new_paragraph(middle_article(project), "A brand new opening paragraph.")
    assert cold_equals_incremental(project).quick
    assert read_manifest(spare)  # the version before the edit, made by the edit's check if need be


def test_a_run_of_quick_rebuilds_each_matches_a_cold_build(project: Path) -> None:
    run(project)
    a, b, c = stories(project)[5], stories(project)[30], stories(project)[55]
    original = a.read_text("utf-8")
    steps = [
        lambda: new_paragraph(a, "First edit."),
        lambda: new_paragraph(b, "Second edit, another article."),
        lambda: new_paragraph(a, "The first article again."),  # edited twice since the snapshot
        lambda: (new_paragraph(b, "Two at once."), new_paragraph(c, "Two at once.")),
        lambda: a.write_text(original, "utf-8"),  # back to what the snapshot holds
        lambda: edit(c, "title: Story", "slug: kept\ntitle: Story"),  # the slug changes: the URL too
        lambda: edit(c, "title: Story", "title: A new headline, same slug"),
    ]
    quick = []
    for step in steps:
        step()
        quick.append(cold_equals_incremental(project).quick)
    assert quick == [True, True, True, True, True, False, True]


@pytest.mark.parametrize("change", sorted(set(CHANGES) - {"body", "title"}))  # the slug comes from the file name
def test_changes_to_the_structure_or_settings_go_to_the_full_build(project: Path, change: str) -> None:
    run(project)
    new_paragraph(middle_article(project), "A quick one first.")
    assert cold_equals_incremental(project).quick
    CHANGES[change](project)
    assert not cold_equals_incremental(project).quick
    new_paragraph(middle_article(project), "And quick again after it.")
    assert cold_equals_incremental(project).quick


@pytest.mark.parametrize("change", ["template edited", "config edited"])
def test_a_settings_change_goes_to_the_full_build_without_loading_the_snapshot(
    project: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(project)
    new_paragraph(middle_article(project), "A quick one first.")
    assert run(project).quick
    looked: list[str] = []
    monkeypatch.setattr(edit_build, "_load_snapshot", lambda cache: looked.append("snapshot"))
    monkeypatch.setattr(edit_build, "TreeCheck", lambda output: looked.append("trees"))
    CHANGES[change](project)
    assert not cold_equals_incremental(project).quick
    assert looked == []  # neither the snapshot (it would be thrown away) nor both trees (a stat per file)


def test_search_files_that_appear_and_go_are_written_and_removed(project: Path) -> None:
    run(project)
    new_paragraph(middle_article(project), "Xylophonist quorum.")
    assert cold_equals_incremental(project).quick
    shard = project / "site" / "search" / f"t-{b'xy'.hex()}.json"
    assert "xylophonist" in shard.read_text("utf-8")
    edit(middle_article(project), "Xylophonist quorum.", "Nothing odd.")
    assert cold_equals_incremental(project).quick
    assert not shard.exists()


def test_an_edit_that_breaks_a_file_is_reported_and_the_fix_rebuilds(project: Path) -> None:
    run(project)
    victim = middle_article(project)
    edit(victim, "title: Story", "title: [unclosed")
    before = (project / "site" / "index.html").read_bytes()
    with pytest.raises(BuildFailed) as failed:
        run(project)
    (error,) = failed.value.errors
    assert error.path == victim.relative_to(project / "content").as_posix() and error.line
    assert (project / "site" / "index.html").read_bytes() == before
    edit(victim, "title: [unclosed", "title: Story mended")
    assert not cold_equals_incremental(project).quick  # the failed build marked the output
    new_paragraph(victim, "Then quick again.")
    assert cold_equals_incremental(project).quick


def test_an_article_turned_into_a_draft_leaves_the_site(project: Path) -> None:
    run(project)
    victim = middle_article(project)
    edit(victim, "\n---\n", "\ndraft: true\n---\n")
    result = cold_equals_incremental(project)
    assert not result.quick and result.articles == 59


def test_the_snapshot_is_written_in_parts_and_read_back_as_the_site_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The articles go into the snapshot a part at a time, each part a pickle of its own (one pickle
    of the whole model kept a note of every object it wrote until the end: 124 MB at 100,000
    articles), and the indexes name them by position. Read back, every index holds the very article
    objects of the site's list, as indexing those articles afresh gives them. Read after the output's
    manifest (as a quick rebuild reads them), each article holds the manifest's string for the path
    of its page, not a copy of its own."""
    monkeypatch.setattr(edit_build, "_SNAPSHOT_PART", 7)
    run(project)
    (cache_file,) = (project / ".broadsheet-cache").glob("*.sqlite")
    live = {path: path for path in read_manifest(project / "site")}
    with BuildCache(cache_file) as cache:
        snapshot = edit_build._load_snapshot(cache)
    assert snapshot is not None
    site = snapshot.site
    assert all(live[a.page_path] is a.page_path for a in site.articles)
    fresh, _ = build_site(site.articles, assets=site.assets)
    groups = ("tags", "sources", "authors", "years", "months", "days")
    for name in groups:
        assert getattr(site, name) == getattr(fresh, name)  # (articles compared by identity)
    assert site.assets == fresh.assets and site.tags and site.authors
    markdown, _ = scan(project / "content")
    assert snapshot.files == edit_build.FileStamps.of(markdown)
    assert {a.path for a in site.articles} == set(markdown.rels)
    with open(cache_file.with_name(cache_file.name + ".snapshot"), "rb") as stream:
        pickles = 0
        while stream.peek(1):
            pickle.load(stream)
            pickles += 1
    assert pickles == 2 + -(-len(site.articles) // 7)  # the header, the parts, the indexes
    new_paragraph(middle_article(project), "After a snapshot in parts.")
    assert cold_equals_incremental(project).quick


def test_the_snapshot_is_read_a_part_at_a_time_not_whole(tmp_path: Path) -> None:
    """A quick rebuild holds the site it unpickles from the snapshot, and no copy of the file beside
    it: what the load takes on its way, beyond what it keeps, is a small part of the file's size."""
    tz = ZoneInfo("UTC")
    articles = [
        Article(
            path=f"{i // 100}/story-{i}.md",
            title=f"Story {i}",
            date=datetime(2020, 1, 1, tzinfo=tz) + timedelta(hours=i),
            has_time=True,
            slug=f"story-{i}",
            body="",
            digest=f"{i:032x}",
            tags=(f"Topic {i % 40}",),
            authors=(f"Reporter {i % 25}",),
            summary=f"The summary of story {i}, long enough to make the file a few megabytes. " * 8,
        )
        for i in range(4000)
    ]
    site, errors = build_site(articles)
    markdown = ScannedFiles(SourceFile(a.path, str(tmp_path), 100, 1) for a in articles)
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        edit_build.save_snapshot(cache, "settings", "no output", markdown, site)
        size = (tmp_path / "cache.sqlite.snapshot").stat().st_size
        tracemalloc.start()
        try:
            snapshot = edit_build._load_snapshot(cache)
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert errors == [] and snapshot is not None and size > 2_000_000
    assert [(a.path, a.summary) for a in snapshot.site.articles] == [(a.path, a.summary) for a in site.articles]
    assert snapshot.files == edit_build.FileStamps.of(markdown)
    assert peak - kept < size / 4


def test_a_damaged_or_stale_snapshot_means_a_full_build(project: Path) -> None:
    run(project)
    (snapshot,) = (project / ".broadsheet-cache").glob("*.snapshot")
    snapshot.write_bytes(b"not a pickle")
    new_paragraph(middle_article(project), "After the damage.")
    assert not cold_equals_incremental(project).quick
    kept = snapshot.read_bytes()
    edit(first_article(project), "date: 20", "date: 1999-12-31T10:00:00+00:00\nx: 20")
    run(project)  # a full build: a new snapshot
    snapshot.write_bytes(kept)  # the one before it, whole but not the right one
    new_paragraph(middle_article(project), "After the swap.")
    assert not cold_equals_incremental(project).quick


def test_a_snapshot_that_cannot_be_written_leaves_no_part_of_it_behind(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(project)
    cache_dir = project / ".broadsheet-cache"
    (snapshot,) = cache_dir.glob("*.snapshot")
    before = snapshot.read_bytes()

    def disk_full(value: object, handle: object, protocol: int) -> None:
        handle.write(b"the first part of it")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(edit_build.pickle, "dump", disk_full)
    edit(first_article(project), "date: 20", "date: 1999-12-31T10:00:00+00:00\nx: 20")  # a full build
    with pytest.raises(OSError, match="No space"):
        run(project)
    assert sorted(p.name for p in cache_dir.iterdir() if ".tmp" in p.name) == []
    assert snapshot.read_bytes() == before
    monkeypatch.undo()
    new_paragraph(middle_article(project), "After the full disk.")
    cold_equals_incremental(project)


def test_a_build_without_the_cache_in_between_means_a_full_build(project: Path) -> None:
    run(project)
    new_paragraph(middle_article(project), "Built without the cache.")
    run(project, cache=False)
    new_paragraph(middle_article(project), "Then with it again.")
    assert not cold_equals_incremental(project).quick


def test_after_many_edits_a_quick_rebuild_writes_a_fresh_snapshot(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edit_build, "MAX_PATCHED", 2)
    run(project)
    (snapshot,) = (project / ".broadsheet-cache").glob("*.snapshot")
    versions = [snapshot.read_bytes()]
    for number in range(5):
        new_paragraph(stories(project)[number * 10], f"Edit number {number}.")
        assert cold_equals_incremental(project).quick
        versions.append(snapshot.read_bytes())
    changed = [versions[i] != versions[i - 1] for i in range(1, len(versions))]
    assert changed == [False, True, False, True, False]  # at the second edit since each snapshot


def test_a_file_deleted_from_the_spare_tree_is_put_back(project: Path) -> None:
    run(project)
    new_paragraph(middle_article(project), "First.")
    assert run(project).quick  # now the spare holds the first build
    victim = next((project / ".site.spare").glob("20*/*/*/*/index.html"))
    victim.unlink()
    new_paragraph(middle_article(project), "Second.")
    assert cold_equals_incremental(project).quick


def test_a_file_deleted_from_the_site_is_put_back(project: Path) -> None:
    run(project)
    for number in range(3):  # the last edits' pages: the ones the spare must take from the live tree
        new_paragraph(middle_article(project), f"Edit {number}.")
        run(project)
    page = next(p for p in (project / "site").rglob("index.html") if "Edit 2." in p.read_text("utf-8"))
    page.unlink()
    new_paragraph(stories(project)[3], "Elsewhere.")
    cold_equals_incremental(project)


def test_a_file_someone_put_in_the_site_stops_the_quick_rebuild_too(project: Path) -> None:
    run(project)
    new_paragraph(middle_article(project), "First.")
    assert run(project).quick
    theirs = project / "site" / "notes.txt"
    theirs.write_text("mine", "utf-8")
    new_paragraph(middle_article(project), "Second.")
    with pytest.raises(BroadsheetError, match="did not write"):
        run(project)
    assert theirs.read_text("utf-8") == "mine"
    pages = [p.read_text("utf-8") for p in (project / "site").rglob("index.html")]
    assert any("First." in page for page in pages) and not any("Second." in page for page in pages)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=12),
    st.data(),
)
def test_file_stamps_name_the_files_changed_since_the_snapshot_and_its_edits(
    stamps: list[tuple[int, int]], data: st.DataObject
) -> None:
    """A file is changed when its size or time differs from the snapshot's, or from the last edit's
    for a file a quick rebuild has taken in since; a file added, removed or renamed is no quick rebuild."""
    rels = [f"2024/{i:02d}.md" for i in range(len(stamps))]
    snapshot = edit_build.FileStamps.of(ScannedFiles(SourceFile(r, "", *s) for r, s in zip(rels, stamps, strict=True)))
    now = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=len(rels), max_size=len(rels)))
    edits = data.draw(st.dictionaries(st.sampled_from(rels), st.tuples(st.integers(0, 3), st.integers(0, 3))))
    markdown = ScannedFiles(SourceFile(r, "", *s) for r, s in zip(rels, now, strict=True))
    expected = [r for r, was, is_now in zip(rels, stamps, now, strict=True) if edits.get(r, was) != is_now]
    assert [f.rel for f in snapshot.changed(markdown, edits) or []] == expected
    renamed = ScannedFiles(SourceFile(r.replace("00", "99"), "", *s) for r, s in zip(rels, now, strict=True))
    assert snapshot.changed(renamed.sorted(), edits) is None
    assert snapshot.changed(markdown[1:], {}) is None

"""Incremental builds produce exactly what a cold build produces, after every kind of change."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sqlite3
import threading
import time
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from buildkit import child_processes, out_of_memory, read_in_soon

from benchmarks.bench import make_corpus
from broadsheet import builder, edit_build, feeds, output, page_records, parse_stage, render, render_stage, write
from broadsheet.builder import BuildOptions, build
from broadsheet.cache import BuildCache, CachedBodies, RelatedAnswers
from broadsheet.config import load_config
from broadsheet.deps import TEMPLATE_DEP
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.load import build_site, scan
from broadsheet.model import Article
from broadsheet.output import Output
from broadsheet.pages import Page, RelatedIndex
from broadsheet.render import Renderer
from broadsheet.write import SpareTree

REPO = Path(__file__).resolve().parents[1]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tree(a: Path, b: Path) -> None:
    left, right = tree(a), tree(b)
    assert sorted(left) == sorted(right), set(left) ^ set(right)
    different = [name for name in left if left[name] != right[name]]
    assert not different, f"{len(different)} files differ, e.g. {different[:5]}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_project(tmp_path)


def new_project(tmp_path: Path) -> Path:
    """60 generated articles, the repository's templates, 7 stories per list page."""
    root = tmp_path / "project"
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
    make_corpus(root / "content", 60, seed=7, words=(40, 120), tags=12)
    (root / "site.toml").write_text('title = "Test Wire"\nbase_url = "https://example.org/news/"\npage_size = 7\n')
    return root


def big_project(tmp_path: Path) -> Path:
    """300 generated articles and the repository's templates: enough pages for every render
    process to take batches, and for list entries to be reused across them."""
    root = tmp_path / "big"
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
    make_corpus(root / "content", 300, seed=3, words=(30, 80), tags=20)
    return root


def run(root: Path, output: str = "site", **options: object):
    config = load_config(root / "site.toml")
    return build(config, BuildOptions(output_dir=root / output, **options))  # type: ignore[arg-type]


def cold_equals_incremental(root: Path) -> None:
    incremental = run(root)
    cold_dir = root.parent / "cold"
    shutil.rmtree(cold_dir, ignore_errors=True)
    config = load_config(root / "site.toml")
    build(config, BuildOptions(output_dir=cold_dir, cache=False, jobs=1))
    assert_same_tree(root / "site", cold_dir)
    return incremental


def first_article(root: Path) -> Path:
    return sorted((root / "content").rglob("*.md"))[0]


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), "utf-8")


def remove_first_tag(path: Path) -> None:
    text = path.read_text("utf-8")
    line = next(line for line in text.splitlines() if line.startswith("tags: ["))
    tags = line.removeprefix("tags: [").removesuffix("]").split(", ")
    assert len(tags) >= 2
    path.write_text(text.replace(line, "tags: [" + ", ".join(tags[1:]) + "]"), "utf-8")


CHANGES: dict[str, Callable[[Path], None]] = {
    "body": lambda root: edit(first_article(root), "\n---\n", "\n---\nA new first paragraph.\n\n"),
    "title": lambda root: edit(first_article(root), "title: Story", "title: Renamed story"),
    "date moved to another day": lambda root: edit(
        first_article(root), "date: 20", "date: 1999-12-31T10:00:00+00:00\nx: 20"
    ),
    "tag added": lambda root: edit(first_article(root), "tags: [", "tags: [Brand New Tag, "),
    "tag removed": lambda root: remove_first_tag(first_article(root)),
    "article deleted": lambda root: first_article(root).unlink(),
    "article added": lambda root: (root / "content" / "new.md").write_text(
        "---\ntitle: A late arrival\ndate: 2023-06-01\ntags: [Topic 001]\n---\nFresh text.\n", "utf-8"
    ),
    "template edited": lambda root: edit(root / "templates" / "base.html", "</footer>", "<p>edited</p></footer>"),
    "page template edited": lambda root: edit(root / "templates" / "period.html", "</header>", "<p>.</p></header>"),
    "macros edited": lambda root: edit(root / "templates" / "_macros.html", '"summary">', '"summary">*'),
    "page template and article edited": lambda root: (
        edit(root / "templates" / "archive.html", "<h1>Archive</h1>", "<h1>All stories</h1>"),
        edit(first_article(root), "title: Story", "title: Renamed story"),
    ),
    "page template edited, tag added": lambda root: (
        edit(root / "templates" / "terms.html", "</ul>", "</ul><p>edited</p>"),
        edit(first_article(root), "tags: [", "tags: [Brand New Tag, "),
    ),
    "config edited": lambda root: edit(root / "site.toml", 'title = "Test Wire"', 'title = "Other Wire"'),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_incremental_build_matches_cold_build(project: Path, change: str) -> None:
    run(project)
    CHANGES[change](project)
    result = cold_equals_incremental(project)
    assert result.stats.written > 0


def test_a_sitemap_split_in_parts_is_kept_or_made_again_as_a_cold_build_makes_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "SITEMAP_URLS", 50)  # this site's 400-odd pages need an index of parts
    run(project)
    parts = sorted(p.name for p in (project / "site").glob("sitemap-*.xml"))
    assert len(parts) > 4
    # More edits than a quick rebuild takes: a full build that knows only article bodies changed,
    # and keeps the sitemap's files as they are.
    for path in sorted((project / "content").rglob("*.md"))[: edit_build.MAX_EDITED + 1]:
        edit(path, "\n---\n", "\n---\nA new first paragraph.\n\n")
    made: list[int] = []
    sitemap_files = builder.sitemap_files
    monkeypatch.setattr(builder, "sitemap_files", lambda *args: (made.append(1), *sitemap_files(*args))[1:])
    assert not cold_equals_incremental(project).quick
    assert made == [1]  # by the cold build it is compared with, not by the incremental one
    CHANGES["article deleted"](project)  # the structure: made again
    cold_equals_incremental(project)
    assert made == [1, 1, 1]


@pytest.mark.parametrize(
    "template, where",
    [
        ("period.html", "</header>"),  # year and month pages
        ("archive.html", "</header>"),  # one page
        ("terms.html", "</header>"),  # the tag, source and author indexes
        ("article.html", '<div class="body">'),  # fewer than half the pages of this site
    ],
)
def test_a_template_edit_renders_again_only_the_pages_that_use_it(project: Path, template: str, where: str) -> None:
    """Each page records the template files it loaded: an edit to one renders again the pages that
    loaded it, which are exactly the pages whose bytes change, and no other."""
    run(project)
    marker = f"<!-- {template} edited -->"
    edit(project / "templates" / template, where, marker + where)
    result = cold_equals_incremental(project)
    site = project / "site"
    pages = {p.relative_to(site).as_posix(): p.read_text("utf-8") for p in site.rglob("*.html")}
    marked = {path for path, html in pages.items() if marker in html}
    assert marked and set(result.rendered) == marked and len(marked) < len(pages) / 2


def test_a_template_loaded_only_through_a_helper_is_a_dependency_too(project: Path) -> None:
    """item_html() renders the `item` macro from Python and reuses what it rendered: a page whose
    entries all came from that reuse still records that it depends on _macros.html."""
    (project / "templates" / "terms.html").write_text(
        "{% extends 'base.html' %}{% block main %}{% for term in terms %}"
        "{{ item_html(term.articles[0], show_summary=true, show_day=false) }}{% endfor %}{% endblock %}"
    )
    run(project)  # tags/, sources/ and authors/ show entries as the lists do, rendered for those before them
    config = load_config(project / "site.toml")
    db = sqlite3.connect(builder.cache_path_for(config, project / "content", project / "site"))
    deps = dict(db.execute("SELECT path, deps FROM pages WHERE path LIKE '%s/index.html' AND path NOT LIKE '%/%/%'"))
    db.close()
    assert sorted(deps) == ["authors/index.html", "sources/index.html", "tags/index.html"]
    for page_deps in deps.values():
        assert {TEMPLATE_DEP + "terms.html", TEMPLATE_DEP + "base.html", TEMPLATE_DEP + "_macros.html"} <= set(
            page_deps.split("\n")
        )
    edit(project / "templates" / "_macros.html", '<p class="summary">', '<p class="summary">-')
    cold_equals_incremental(project)


def test_a_template_added_renders_every_page_again(project: Path) -> None:
    """A page may depend on a template's absence (`include ... ignore missing`), which it never
    loaded and so did not record: a template file added (or removed) renders every page again."""
    edit(project / "templates" / "period.html", "</header>", "{% include '_aside.html' ignore missing %}</header>")
    run(project)
    (project / "templates" / "_aside.html").write_text("<aside>Corrections: see the archive.</aside>", "utf-8")
    result = cold_equals_incremental(project)
    assert "Corrections: see the archive." in (project / "site" / "2021" / "index.html").read_text("utf-8")
    assert result.rendered_pages == len(list((project / "site").rglob("*.html"))) + len(
        list((project / "site").rglob("feed.xml"))
    )


def test_tag_removal_really_removes(project: Path) -> None:
    run(project)
    article = first_article(project)
    text = article.read_text("utf-8")
    tags_line = next(line for line in text.splitlines() if line.startswith("tags:"))
    article.write_text(text.replace(tags_line, "tags: [Only Tag]"), "utf-8")
    cold_equals_incremental(project)
    assert (project / "site" / "tags" / "only-tag" / "index.html").is_file()


def test_noop_rebuild_writes_nothing(project: Path) -> None:
    run(project)
    before = {p: p.stat().st_mtime_ns for p in (project / "site").rglob("*") if p.is_file()}
    result = run(project)
    assert result.stats.written == 0 and not result.stats.swapped
    after = {p: p.stat().st_mtime_ns for p in (project / "site").rglob("*") if p.is_file()}
    assert before == after


def test_one_edit_rerenders_only_what_shows_it(project: Path) -> None:
    first = run(project)
    with first_article(project).open("a", encoding="utf-8") as handle:
        handle.write("\nOne more paragraph at the end.\n")
    second = run(project)
    assert second.parsed_files == 1
    assert 0 < second.rendered_pages < first.rendered_pages / 5
    # unchanged files keep their inode: deploys and servers see only the change
    assert second.stats.unchanged > second.stats.written


def test_template_change_reuses_parsed_markdown(project: Path) -> None:
    run(project)
    edit(project / "templates" / "article.html", "</article>", "<p>theme change</p></article>")
    result = run(project)
    assert result.parsed_files == 0
    assert "theme change" in next((project / "site").glob("20*/*/*/*/index.html")).read_text("utf-8")


def test_a_template_change_reads_ahead_the_cache_and_each_pages_file_in_the_spare_before_placing_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day after the last build, the files a template change reads and rewrites may have left memory:
    the build asks for the whole cache file before it loads the articles, and for each page's file
    in the spare before the page is placed, so that they come in while it goes on rather than one
    read at a time. (In one process, where every page is placed: the spies see them all.)"""
    run(project, jobs=1)
    edit(project / "templates" / "base.html", "</footer>", "<p>edited</p></footer>")
    run(project, jobs=1)  # the spare holds pages of its own now
    events: list[tuple[str, str]] = []
    cache_read_ahead, spare_read_ahead, place = BuildCache.read_ahead, write.SparePart.read_ahead, write.SparePart.place

    def reading_cache(self: BuildCache) -> None:
        events.append(("cache", ""))
        cache_read_ahead(self)

    def loading(*args: Any) -> Any:
        events.append(("load", ""))
        return parse_stage.load_content(*args)

    def reading_spare(self: write.SparePart, paths: Iterable[str]) -> None:
        paths = list(paths)
        events.extend(("read", path) for path in paths)
        spare_read_ahead(self, paths)

    def placing(self: write.SparePart, path: str, data: bytes) -> output.Placed:
        events.append(("place", path))
        return place(self, path, data)

    monkeypatch.setattr(BuildCache, "read_ahead", reading_cache)
    monkeypatch.setattr(builder, "load_content", loading)
    monkeypatch.setattr(write.SparePart, "read_ahead", reading_spare)
    monkeypatch.setattr(write.SparePart, "place", placing)
    edit(project / "templates" / "base.html", "<p>edited</p>", "<p>edited again</p>")
    result = run(project, jobs=1)
    assert events[:2] == [("cache", ""), ("load", "")]
    placed = [path for kind, path in events if kind == "place"]
    assert len(placed) == result.rendered_pages > 60
    for path in placed:
        assert ("read", path) in events[: events.index(("place", path))], path


def test_reading_the_cache_ahead_brings_in_the_whole_file(project: Path) -> None:
    run(project)
    (path,) = (project / ".broadsheet-cache").glob("*.sqlite")
    with BuildCache(path) as cache:
        out_of_memory(path)
        cache.read_ahead()
        assert read_in_soon(path)


def test_the_parse_stage_asks_for_each_batchs_files_a_batch_before_it_parses_them(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content a day old may have left memory: each batch's files are read in while the batch before
    is parsed, not one at a time by the parser. (In one process, where the spies see every batch.)"""
    events: list[tuple[str, str]] = []
    read_ahead, parse_files = parse_stage.read_ahead, parse_stage.parse_files

    def reading(paths: Iterable[str]) -> None:
        paths = list(paths)
        events.extend(("read", path) for path in paths)
        read_ahead(paths)

    def parsing(items: Sequence[tuple[str, Any]], timezone: str) -> list[tuple[str, Any, Any]]:
        events.extend(("parse", source.path) for _, source in items)
        return parse_files(items, timezone)

    monkeypatch.setattr(parse_stage, "read_ahead", reading)
    monkeypatch.setattr(parse_stage, "parse_files", parsing)
    monkeypatch.setattr(parse_stage, "_PARSE_CHUNK", 16)
    assert run(project, jobs=1, executor="inline").parsed_files == 60
    parsed = [path for kind, path in events if kind == "parse"]
    assert sorted(parsed) == sorted(str(p) for p in (project / "content").rglob("*.md"))
    for path in parsed:
        assert events.count(("read", path)) == 1
        assert events.index(("read", path)) < events.index(("parse", path))
    # The second batch is asked for before the first is parsed; the last, only once some are parsed.
    assert events.index(("read", parsed[16])) < events.index(("parse", parsed[0]))
    assert events.index(("read", parsed[-1])) > events.index(("parse", parsed[0]))


def test_corrupt_cache_is_rebuilt(project: Path) -> None:
    run(project)
    for cache_file in (project / ".broadsheet-cache").glob("*.sqlite"):
        cache_file.write_bytes(b"this is not a database" * 100)
    edit(first_article(project), "title: Story", "title: After corruption")
    cold_equals_incremental(project)


def test_cache_from_another_version_is_discarded(project: Path) -> None:
    run(project)
    (cache_file,) = (project / ".broadsheet-cache").glob("*.sqlite")
    with sqlite3.connect(cache_file) as db:
        db.execute("UPDATE meta SET value='another-version' WHERE key='code'")
        db.execute("UPDATE files SET article=x'00'")  # would crash if it were read
    result = run(project)
    assert result.parsed_files == 60


def test_every_build_leaves_the_caches_write_ahead_log_empty(project: Path) -> None:
    # A reader left open (as the `broadsheet` command leaves its own when it exits) keeps closing the
    # cache from emptying the log; left full, it made every later commit run a checkpoint over it.
    run(project)
    (cache_file,) = (project / ".broadsheet-cache").glob("*.sqlite")
    log = Path(f"{cache_file}-wal")
    reader = sqlite3.connect(f"file:{cache_file}?mode=ro", uri=True)
    try:
        assert reader.execute("SELECT count(*) FROM files").fetchone() == (60,)
        edit(project / "templates" / "base.html", "</footer>", "<!-- changed --></footer>")
        run(project)
        assert log.stat().st_size == 0
        edit(first_article(project), "title: Story", "title: Logged")
        assert run(project).quick
        assert log.stat().st_size == 0
        # A reader in the middle of a read does not hold the build up for the connection's timeout (5 s):
        # the log is left for a later build to empty.
        reading = reader.execute("SELECT path FROM files")
        assert reading.fetchone()
        edit(first_article(project), "title: Logged", "title: Read meanwhile")
        started = time.perf_counter()
        run(project)
        assert time.perf_counter() - started < 4
        assert log.stat().st_size > 0
        reading.close()
        edit(first_article(project), "title: Read meanwhile", "title: Emptied again")
        run(project)
        assert log.stat().st_size == 0
    finally:
        reader.close()
    cold_equals_incremental(project)


def test_a_build_leaves_the_collector_nothing_counted_as_new(project: Path) -> None:
    # The collector is off while a build loads and plans. Were what the build made still counted as
    # new when it is turned back on, its first pass would walk all of it (0.26 s at 100,000 articles).
    run(project)
    pending: list[int] = []  # objects counted as new when each pass of the collector starts

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            pending.append(gc.get_count()[0])

    threshold = gc.get_threshold()[0]
    for old, new in (("title: Story", "title: Counted"), ("title: Counted", "title: Counted again")):
        edit(first_article(project), old, new)
        pending.clear()
        gc.callbacks.append(note)
        try:
            result = run(project)
            made = [[] for _ in range(2 * threshold)]  # enough new objects for a pass
        finally:
            gc.callbacks.remove(note)
        assert result.quick and made and gc.isenabled()
        assert pending and max(pending) <= threshold + 1, pending
    gc.disable()
    try:
        edit(first_article(project), "title: Counted again", "title: Collector off")
        run(project)
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_output_changed_behind_our_back_is_repaired(project: Path) -> None:
    run(project)
    victim = next((project / "site").glob("20*/*/*/*/index.html"))
    victim.unlink()
    edit(first_article(project), "title: Story", "title: Repaired")
    cold_equals_incremental(project)


def test_parallel_and_sequential_builds_are_identical(tmp_path: Path) -> None:
    root = big_project(tmp_path)
    config = load_config(root=root)
    parallel = build(config, BuildOptions(output_dir=root / "parallel", jobs=2, cache=False))
    sequential = build(config, BuildOptions(output_dir=root / "sequential", jobs=1, cache=False))
    assert parallel.rendered_pages == sequential.rendered_pages > 256  # enough to fan out
    assert_same_tree(root / "parallel", root / "sequential")


def template_of(item: object) -> str:
    return getattr(item, "template", "feed")  # a page's template; a feed has none


def log_renders(
    monkeypatch: pytest.MonkeyPatch,
    log_path: Path,
    describe: Callable[[render_stage.RenderPlan, object], str],
    slow_elsewhere: float = 0.0,
) -> Callable[[], list[list[str]]]:
    """Every render process notes each page or feed it renders in `log_path`, as its pid and
    `describe(plan, item)`; a process other than this one first sleeps `slow_elsewhere` seconds a
    batch. Returns what reads the notes back (after the build), split into words."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # shared with the worker
    render_batch = render_stage.RenderPlan.render
    here = os.getpid()

    def logged(self: render_stage.RenderPlan, items: Sequence) -> list:
        for item in items:
            os.write(log, f"{os.getpid()} {describe(self, item)}\n".encode())
        if slow_elsewhere and os.getpid() != here:
            time.sleep(slow_elsewhere)
        return render_batch(self, items)

    monkeypatch.setattr(render_stage.RenderPlan, "render", logged)

    def read() -> list[list[str]]:
        os.close(log)
        return [line.split() for line in log_path.read_text().splitlines()]

    return read


def test_the_lean_render_worker_renders_article_pages_without_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a build cache, the render worker is forked before the site is loaded and holds none of
    it: it renders the article pages and feeds it is sent, and the pages are those of a build in one process."""
    root = big_project(tmp_path)

    def site_and_template(plan: render_stage.RenderPlan, item: object) -> str:
        return f"{len(plan.renderer.site.articles)} {template_of(item)}"

    renders_of = log_renders(monkeypatch, tmp_path / "renders.log", site_and_template)
    config = load_config(root=root)
    result = build(config, BuildOptions(output_dir=root / "parallel", jobs=2))
    renders = renders_of()
    assert len(renders) == result.rendered_pages
    elsewhere = [(site, template) for pid, site, template in renders if int(pid) != os.getpid()]
    assert len(elsewhere) > 64  # more than one batch
    assert {site for site, _ in elsewhere} == {"0"}  # no article of the site in the worker
    # Only pages whose contexts name articles alone (feeds may be taken back by this process at the end).
    assert "article.html" in {template for _, template in elsewhere} <= {"article.html", "feed"}
    build(config, BuildOptions(output_dir=root / "sequential", jobs=1, cache=False))
    assert_same_tree(root / "parallel", root / "sequential")


def test_the_lean_render_worker_is_forked_before_the_content_is_listed_and_ended_when_not_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker that renders article pages already runs when the build lists the content folder,
    so it shares none of what the build reads; a build with nothing to render ends it unused."""
    root = big_project(tmp_path)
    renders_of = log_renders(monkeypatch, tmp_path / "renders.log", lambda plan, item: template_of(item))
    at_scan: list[set[int]] = []

    def noting_children(content_dir: Path) -> Any:
        at_scan.append(child_processes())
        return scan(content_dir)

    monkeypatch.setattr(builder, "scan", noting_children)
    config = load_config(root=root)
    before = child_processes()
    build(config, BuildOptions(jobs=2))
    workers = {int(pid) for pid, _ in renders_of()} - {os.getpid()}
    assert len(workers) == 1 and workers <= at_scan[0] - before
    assert child_processes() == before
    threads = threading.active_count()
    result = build(config, BuildOptions(jobs=2))  # nothing changed
    assert result.stats.written == 0 and len(at_scan) == 2 and len(at_scan[1] - before) == 1
    assert child_processes() == before and threading.active_count() == threads


def test_a_quick_rebuild_ends_the_lean_render_worker_and_one_that_gives_up_forks_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quick rebuild renders in this process: the worker forked before the scan is gone before
    the edit snapshot is loaded. When the quick rebuild then gives up (too many files edited), the
    full build forks a worker again, which renders the article pages."""
    root = big_project(tmp_path)
    config = load_config(root=root)
    build(config, BuildOptions(jobs=2))
    before = child_processes()
    at_scan: list[set[int]] = []
    at_snapshot: list[set[int]] = []

    def noting_children(content_dir: Path) -> Any:
        at_scan.append(child_processes() - before)
        return scan(content_dir)

    load_snapshot = edit_build._load_snapshot

    def noting_children_too(cache: BuildCache) -> Any:
        at_snapshot.append(child_processes() - before)
        return load_snapshot(cache)

    monkeypatch.setattr(builder, "scan", noting_children)
    monkeypatch.setattr(edit_build, "_load_snapshot", noting_children_too)
    edit(first_article(root), "\n\n", "\n\nAn edited first line.\n\n")
    assert build(config, BuildOptions(jobs=2)).quick
    assert len(at_scan[0]) == 1 and not at_scan[0] & at_snapshot[0]

    renders_of = log_renders(monkeypatch, tmp_path / "renders.log", lambda plan, item: template_of(item))
    for path in sorted((root / "content").rglob("*.md"))[: 4 * edit_build.MAX_EDITED]:
        path.write_text(path.read_text("utf-8") + "\nAn added last line.\n", "utf-8")
    result = build(config, BuildOptions(jobs=2))
    workers = {int(pid) for pid, _ in renders_of()} - {os.getpid()}
    assert not result.quick and len(at_snapshot) == 2 and len(workers) == 1
    assert not workers & at_scan[1]  # not the one forked before the scan: that one was ended
    assert child_processes() == before
    build(config, BuildOptions(output_dir=root / "cold", jobs=1, cache=False))
    assert_same_tree(root / "site", root / "cold")


def test_batches_a_slow_worker_has_not_started_are_rendered_here_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its own pages done, this process takes back the shipped batches the lean worker has not
    begun rather than waiting for them: each page is rendered once, by one process or the other."""
    root = big_project(tmp_path)
    here = os.getpid()
    # The worker is slow: this process renders its lists long before the worker is through.
    renders_of = log_renders(
        monkeypatch, tmp_path / "renders.log", lambda plan, item: f"{template_of(item)} /{item.url}", slow_elsewhere=0.5
    )
    config = load_config(root=root)
    result = build(config, BuildOptions(output_dir=root / "parallel", jobs=2))
    renders = renders_of()
    urls = [url for _, _, url in renders]
    assert len(urls) == len(set(urls)) == result.rendered_pages
    by_worker = {url for pid, _, url in renders if int(pid) != here}
    taken_back = {url for pid, template, url in renders if int(pid) == here and template in ("article.html", "feed")}
    assert by_worker and taken_back  # the worker started some batches; this process took the others
    build(config, BuildOptions(output_dir=root / "sequential", jobs=1, cache=False))
    assert_same_tree(root / "parallel", root / "sequential")


def test_list_entries_are_rendered_once_by_all_render_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An article's list entry shows on a dozen pages, which any render process may render: the
    processes pass on the entries they render, so that most are rendered once in all (a few twice,
    at the same moment), and the pages are those of a build in one process."""
    root = big_project(tmp_path)
    log = os.open(tmp_path / "renders.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # shared by forked workers
    item_html = Renderer.item_html

    def counted(self: Renderer, article: Article, **options: object) -> object:
        known = len(self._items)
        found = item_html(self, article, **options)
        if len(self._items) > known:  # rendered here, not found (the site is too small to evict any)
            os.write(log, f"{os.getpid()} {article.path} {sorted(options.items())}\n".encode())
        return found

    monkeypatch.setattr(Renderer, "item_html", counted)
    monkeypatch.setattr(render_stage, "_RENDER_CHUNK", 4)  # as many batches as a big site has
    config = load_config(root=root)
    build(config, BuildOptions(output_dir=root / "parallel", jobs=2, cache=False))
    os.close(log)
    renders = [line.split(" ", 1) for line in (tmp_path / "renders.log").read_text().splitlines()]
    assert len({pid for pid, _ in renders}) == 2  # both processes rendered entries
    distinct = {entry for _, entry in renders}
    assert len(distinct) > 600  # three kinds per article: lists, related stories, day pages
    # Each process renders alone about half of them again (430 more here); passed on, about 100.
    assert len(renders) - len(distinct) < len(distinct) / 4
    build(config, BuildOptions(output_dir=root / "sequential", jobs=1, cache=False))
    assert_same_tree(root / "parallel", root / "sequential")


def test_lists_rendered_by_date_need_only_a_window_of_list_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lists that share entries are rendered newest first (render_stage.render_order), so each
    article's entries are asked for close together: a window of recent entries, far smaller than
    the site, serves most requests, and the pages are the same as with every entry kept."""
    root = big_project(tmp_path)
    config = load_config(root=root)

    class Counted(OrderedDict):  # the renderer's entry cache: one entry set per entry rendered
        sets = 0

        def __setitem__(self, key: object, value: object) -> None:
            Counted.sets += 1
            super().__setitem__(key, value)

    monkeypatch.setattr(render, "OrderedDict", Counted)
    renders = {}
    for kept in (150, 1_000_000):
        monkeypatch.setattr(Renderer, "ITEMS_KEPT", kept)
        Counted.sets = 0
        build(config, BuildOptions(output_dir=root / f"kept-{kept}", jobs=1, cache=False))
        renders[kept] = Counted.sets
    # Keeping half as many entries as articles: 1.6 times as many renders as keeping all (838)
    # here; in plan order (tag by tag), 2.5 times.
    assert renders[150] < 1.8 * renders[1_000_000]
    assert_same_tree(root / "kept-150", root / "kept-1000000")


def test_the_build_process_keeps_a_smaller_window_of_list_entries_beside_a_lean_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside a lean worker, which renders the article pages (their related stories reach furthest
    back), the build process renders the lists, and keeps only LIST_ITEMS_KEPT entries for reuse;
    the worker keeps ITEMS_KEPT. The pages are those of a build in one process keeping every entry."""
    root = big_project(tmp_path)
    log = os.open(tmp_path / "kept.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # shared by forked workers
    item_html = Renderer.item_html

    def noted(self: Renderer, article: Article, **options: object) -> object:
        found = item_html(self, article, **options)
        os.write(log, f"{os.getpid()} {len(self._items)}\n".encode())
        return found

    monkeypatch.setattr(Renderer, "item_html", noted)
    monkeypatch.setattr(Renderer, "LIST_ITEMS_KEPT", 40)
    monkeypatch.setattr(Renderer, "ITEMS_KEPT", 120)
    config = load_config(root=root)
    build(config, BuildOptions(output_dir=root / "lean", jobs=2))
    os.close(log)
    most: dict[int, int] = {}
    for line in (tmp_path / "kept.log").read_text().splitlines():
        pid, kept = map(int, line.split())
        most[pid] = max(most.get(pid, 0), kept)
    assert most.pop(os.getpid()) == 40
    assert list(most.values()) == [120]  # the worker's window filled, to its own size
    monkeypatch.setattr(Renderer, "ITEMS_KEPT", 1_000_000)
    build(config, BuildOptions(output_dir=root / "sequential", jobs=1, cache=False))
    assert_same_tree(root / "lean", root / "sequential")


def test_jobs_are_kept_as_an_array_of_ints_and_ordered_lists_newest_first(project: Path) -> None:
    """A build plans a job for every page of the site: a page by its index, a feed as ~index, all
    in one array (no tuple and int object for each). The lists of articles (day lists too) come
    newest first in the place of the first of them; the other jobs keep their order."""
    config = load_config(project / "site.toml")
    markdown, _ = scan(project / "content")
    articles, fresh, _, _ = parse_stage.load_content(markdown, config.tz, None, "inline", 1, lambda *_: None)
    site, _ = build_site(articles)
    bodies = CachedBodies(fresh, None)
    renderer = Renderer(site, config, render.make_environment(project / "templates"), bodies.facts, bodies)
    pages = list(renderer.pages())
    jobs = render_stage.all_jobs(len(pages), 3)
    assert type(jobs) is array and jobs.itemsize == 8
    assert list(jobs) == [*range(len(pages)), -1, -2, -3]
    ordered = render_stage.render_order(lambda job: pages[job].entries_date, jobs)
    assert type(ordered) is array and sorted(ordered) == sorted(jobs)
    dated = [job for job in ordered if job >= 0 and pages[job].entries_date is not None]
    assert len(dated) > 10 and [pages[job].entries_date for job in dated] == sorted(
        (pages[job].entries_date for job in dated), reverse=True
    )
    first = min(ordered.index(job) for job in dated)
    assert list(ordered[first : first + len(dated)]) == dated  # all together, where the first was
    assert {pages[job].url for job in dated} >= {period.url for period in site.days}  # day lists too
    shared = set(dated)
    others = [job for job in ordered if job not in shared]
    assert others == [job for job in jobs if job not in shared]


@pytest.mark.parametrize("cache", [False, True], ids=["forked-worker", "lean-worker"])
def test_a_write_that_stops_early_stops_the_render_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> None:
    """The render workers put pages into the spare tree themselves: when the writer fails midway, they
    must be gone before the error reaches the caller (who may build again into that tree)."""
    root = big_project(tmp_path)

    def failing_write(self: SpareTree, outputs: Iterable[Output], *, errors: Sequence[str] = ()) -> None:
        for taken, item in enumerate(outputs):
            assert item.placed is not None  # rendered, and already in the spare
            if taken == 200:
                raise OSError("no space left on device")

    monkeypatch.setattr(SpareTree, "write", failing_write)
    before = child_processes()  # any an earlier test left are not this build's
    try:
        build(load_config(root=root), BuildOptions(jobs=2, cache=cache))
    except OSError as exc:  # while the error is handled (its traceback holds every frame of the build)
        assert "no space left" in str(exc)
        assert child_processes() - before == set()
    else:
        pytest.fail("the build did not fail")


def test_a_template_error_in_the_lean_render_worker_names_the_template_and_line(tmp_path: Path) -> None:
    """An article page that fails to render in the lean worker fails the build as it would in this
    process: with the template's name and line, and the live site left as it was."""
    root = big_project(tmp_path)
    config = load_config(root=root)
    build(config, BuildOptions(jobs=2))
    before = (root / "site" / "index.html").read_bytes()
    article = root / "templates" / "article.html"
    lines = article.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "{% block main %}" in line)
    lines.insert(at + 1, "{{ article.title.no_such_thing() }}\n")
    article.write_text("".join(lines))
    for jobs in (2, 1):  # in the worker, then in this process
        with pytest.raises(BroadsheetError) as failed:
            build(config, BuildOptions(jobs=jobs))
        assert failed.value.path == "article.html" and failed.value.line == at + 2
        assert "template error while rendering /20" in str(failed.value)
        assert (root / "site" / "index.html").read_bytes() == before


def test_a_render_worker_that_is_killed_fails_the_build_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-build (the out-of-memory killer, say) is reported as what it is, not as a
    traceback of the process pool's; the live site stays as it was and no worker is left behind."""
    root = big_project(tmp_path)
    config = load_config(root=root)
    build(config, BuildOptions(jobs=2))
    before = tree(root / "site")
    edit(root / "templates" / "base.html", "</footer>", "<p>edited</p></footer>")  # every page again
    parent = os.getpid()
    render_batch = render_stage.RenderPlan.render

    def killed_in_a_worker(self: render_stage.RenderPlan, items: Sequence) -> list:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return render_batch(self, items)

    monkeypatch.setattr(render_stage.RenderPlan, "render", killed_in_a_worker)
    children = child_processes()
    with pytest.raises(BroadsheetError, match="worker process of the build stopped unexpectedly"):
        build(config, BuildOptions(jobs=2))
    assert child_processes() - children == set()
    assert tree(root / "site") == before
    monkeypatch.undo()
    build(config, BuildOptions(jobs=2))  # and the next build works
    assert b"<p>edited</p>" in (root / "site" / "index.html").read_bytes()


def test_local_parse_workers_read_the_files_they_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build process sends parse workers on this machine the files to read, not their bytes:
    every file is read once, by a worker; one that cannot be read is reported by name and the rest
    are built."""
    root = tmp_path / "site"
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
    make_corpus(root / "content", 150, seed=5, words=(30, 80), tags=10)
    unreadable = sorted((root / "content").rglob("*.md"))[40]
    unreadable.unlink()
    os.mkfifo(unreadable)  # listed with the files, refused when read
    log = os.open(tmp_path / "reads.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # shared by forked workers
    read_source = parse_stage.read_source

    def noted(source: object) -> bytes:
        os.write(log, f"{os.getpid()}\n".encode())
        return read_source(source)  # type: ignore[arg-type]

    monkeypatch.setattr(parse_stage, "read_source", noted)
    result = build(load_config(root=root), BuildOptions(jobs=2, keep_going=True))
    os.close(log)
    readers = (tmp_path / "reads.log").read_text().split()
    assert len(readers) == 150 and str(os.getpid()) not in readers and len(set(readers)) == 2
    assert [e.path for e in result.errors] == [unreadable.relative_to(root / "content").as_posix()]
    assert result.articles == 149


def test_dask_cluster_build_is_identical(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="the optional 'dask' extra is not installed")
    root = tmp_path / "dask"
    (root / "content").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
    make_corpus(root / "content", 150, seed=5, words=(30, 80), tags=10)
    config = load_config(root=root)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        on_dask = build(config, BuildOptions(output_dir=root / "dask", executor=f"dask://{address}", cache=False))
    inline = build(config, BuildOptions(output_dir=root / "inline", executor="inline", jobs=1, cache=False))
    assert on_dask.parsed_files == inline.parsed_files == 150
    assert_same_tree(root / "dask", root / "inline")


def test_cache_is_safe_to_delete(project: Path) -> None:
    run(project)
    shutil.rmtree(project / ".broadsheet-cache")
    edit(first_article(project), "title: Story", "title: Without cache")
    cold_equals_incremental(project)
    assert os.listdir(project / ".broadsheet-cache")


def test_a_file_deleted_from_the_spare_tree_is_rewritten(project: Path) -> None:
    run(project)
    edit(first_article(project), "title: Story", "title: First change")
    run(project)  # now the spare holds the first build
    spare = project / ".site.spare"
    victim = next(spare.glob("20*/*/*/*/index.html"))
    victim.unlink()
    edit(first_article(project), "title: First change", "title: Second change")
    cold_equals_incremental(project)


def test_comparing_every_page_keeps_no_page_context(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a change to the site's structure every page's fingerprint is compared, from its context
    (its lists, related stories...): those of the pages kept must not stay in memory until the end."""
    run(project)
    plans: list[render_stage.RenderPlan] = []

    class Recorded(render_stage.RenderPlan):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            plans.append(self)

    monkeypatch.setattr(builder, "RenderPlan", Recorded)
    remove_first_tag(first_article(project))
    result = cold_equals_incremental(project)
    assert result.fingerprinted_pages > len(plans[0].pages) > 50 > result.rendered_pages > 0
    assert [page.url for page in plans[0].pages if page._context is not None] == []


def test_facts_read_from_the_cache_a_few_at_a_time_make_the_pages_a_build_holding_them_all_makes(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Articles' facts (word count, summary) are read from the cache when a page asks for them, in
    every process, only a few kept at once (two here): the pages are those a build without a cache,
    which holds every article's, makes, after a cold build and after an edit of an article's first
    paragraph, which changes its summary."""
    monkeypatch.setattr(CachedBodies, "FACTS_KEPT", 2)
    log = os.open(tmp_path / "facts.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # shared with the workers
    read = CachedBodies._read

    def counted(self: CachedBodies, digest: str, path: str | None, columns: str) -> tuple:
        if columns == "words, summary":
            os.write(log, f"{digest}\n".encode())
        return read(self, digest, path, columns)

    monkeypatch.setattr(CachedBodies, "_read", counted)
    cold_equals_incremental(project)
    edit(first_article(project), "\n---\n", "\n---\nThe harbour reopened at dawn, said the port.\n\n")
    assert cold_equals_incremental(project).parsed_files == 1
    os.close(log)
    digests = (tmp_path / "facts.log").read_text().split()
    articles = len(list((project / "content").rglob("*.md")))
    assert len(set(digests)) == articles and len(digests) > 2 * articles  # read again once let go
    tag_lists = (project / "site" / "tags").rglob("index.html")
    assert any("The harbour reopened at dawn, said the port." in page.read_text() for page in tag_lists)


def test_search_terms_stay_in_the_cache_and_are_read_once_each(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only the search index reads an article's terms (kilobytes of real prose each): a build with a
    cache keeps no terms or bodies in memory, and reads each article's terms once when the index
    is made again, in whichever process makes it."""
    run(project)
    log = os.open(tmp_path / "terms.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # shared with the workers
    get = CachedBodies._get

    def counted(self: CachedBodies, digest: str, path: str | None, index: int, column: str) -> str:
        if column == "terms":
            os.write(log, f"{digest} {len(self.fresh)}\n".encode())
        return get(self, digest, path, index, column)

    monkeypatch.setattr(CachedBodies, "_get", counted)
    edit(first_article(project), "tags: [", "tags: [Brand New Tag, ")  # the index is made again
    result = run(project)
    os.close(log)
    asked = [line.split() for line in (tmp_path / "terms.log").read_text().splitlines()]
    assert result.parsed_files == 1
    (cache_file,) = (project / ".broadsheet-cache").glob("*.sqlite")
    with contextlib.closing(sqlite3.connect(cache_file)) as db:
        built = dict(db.execute("SELECT path, digest FROM built"))
    assert sorted(built) == sorted(
        p.relative_to(project / "content").as_posix() for p in (project / "content").rglob("*.md")
    )
    assert sorted(digest for digest, _ in asked) == sorted(built.values())  # each article's, once
    assert {held for _, held in asked} == {"0"}  # the edited article's body and terms went to the cache too
    monkeypatch.undo()
    cold_equals_incremental(project)


def test_the_lean_render_worker_makes_the_term_shards_and_this_process_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that makes the search index again has the lean render worker make its term shards
    (the part that grows with the archive) while this process renders; they are the shards a build
    in one process makes, and this process reads no article's terms."""
    root = big_project(tmp_path)
    log = os.open(tmp_path / "shards.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    place = write.SparePart.place

    def logged(self: write.SparePart, path: str, data: bytes) -> output.Placed:
        if path.startswith("search/t-"):
            os.write(log, f"{os.getpid()} {path}\n".encode())
        return place(self, path, data)

    monkeypatch.setattr(write.SparePart, "place", logged)
    terms_here: list[str] = []
    monkeypatch.setattr(CachedBodies, "terms", lambda self, article: terms_here.append(article.path))
    result = build(load_config(root=root), BuildOptions(output_dir=root / "parallel", jobs=2))
    os.close(log)
    placed = [line.split() for line in (tmp_path / "shards.log").read_text().splitlines()]
    shards = sorted(p.relative_to(root / "parallel").as_posix() for p in (root / "parallel" / "search").glob("t-*"))
    assert len(shards) > 20 and sorted(path for _, path in placed) == shards  # each placed once, by the worker
    assert len({pid for pid, _ in placed}) == 1 and int(placed[0][0]) != os.getpid()
    assert terms_here == [] and result.stats.written == result.stats.files
    monkeypatch.undo()
    build(load_config(root=root), BuildOptions(output_dir=root / "sequential", jobs=1, cache=False))
    assert_same_tree(root / "parallel", root / "sequential")


def test_paths_and_digests_are_held_once_by_the_manifests_and_the_page_records(project: Path) -> None:
    """A rebuild holds the path and digest of every file of the site in several maps at once (the
    live and spare trees' manifests, the cache's page records): one object each, not one per map."""
    run(project)
    edit(project / "templates" / "base.html", "</footer>", "<p>edited</p></footer>")
    run(project)  # now the spare tree has a manifest too
    config = load_config(project / "site.toml")
    tree = SpareTree(project / "site")
    with BuildCache(builder.cache_path_for(config, project / "content", project / "site")) as cache:
        known = cache.pages()
    page = first_article(project).stem
    path = next(p for p in known if page in p)
    live, have, recorded = (next(k for k in keys if k == path) for keys in (tree.live, tree.have, known))
    assert live is have is recorded
    assert tree.live[path] == known[path][1] and tree.live[path] is known[path][1]


def readers_as_recorded(root: Path, output: str = "site") -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The cache's map from each article to the pages that read it, and the same map worked out from
    every page's record (the articles it read)."""
    config = load_config(root / "site.toml")
    db = sqlite3.connect(builder.cache_path_for(config, root / "content", root / output))
    stored = {article: set(pages.split("\n")) for article, pages in db.execute("SELECT * FROM readers") if pages}
    expected: dict[str, set[str]] = {}
    for page, deps in db.execute("SELECT path, deps FROM pages"):
        for article in filter(None, deps.split("\n")):
            expected.setdefault(article, set()).add(page)
    db.close()
    return stored, expected


def articles_read(readers: dict[str, set[str]]) -> int:
    """How many articles a readers map names (it names the templates pages loaded too)."""
    return len([dep for dep in readers if not dep.startswith(TEMPLATE_DEP)])


def test_a_full_render_stores_page_records_as_the_pages_come(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When most pages are rendered (cold, a template changed), each page's record goes into the
    cache while the render runs, not all at the end; which pages read each article is then found
    from the records, and edits after that rebuild exactly what a cold build makes."""
    root = big_project(tmp_path)
    (root / "site.toml").write_text('title = "Big"\n')
    monkeypatch.setattr(page_records, "_RECORDS_PER_WRITE", 16)
    events: list[str] = []
    render_changed, put_pages = builder.render_changed, BuildCache.put_pages

    def rendering(*args: object) -> Iterable[object]:
        for page in render_changed(*args):  # type: ignore[arg-type]
            events.append("rendered")
            yield page

    def putting(self: BuildCache, rows: list[tuple[str, str, str, str]]) -> None:
        events.append(f"stored {len(rows)}")
        put_pages(self, rows)

    monkeypatch.setattr(builder, "render_changed", rendering)
    monkeypatch.setattr(BuildCache, "put_pages", putting)
    result = run(root)
    last_page = len(events) - 1 - events[::-1].index("rendered")
    stored_early = [e for e in events[:last_page] if e.startswith("stored")]
    assert len(stored_early) >= result.rendered_pages // 16 - 1 and set(stored_early) == {"stored 16"}
    stored, expected = readers_as_recorded(root)
    assert stored == expected and articles_read(stored) == 300

    # A template change and an article gone: every page rendered again, one page fewer. The last
    # build's records are not even read (nothing is compared with them), only their paths.
    events.clear()
    edit(root / "templates" / "base.html", "</footer>", "<p>edited</p></footer>")
    gone = middle_article(root)
    gone.unlink()
    records_read = BuildCache.pages
    monkeypatch.setattr(BuildCache, "pages", lambda self: events.append("records read") or records_read(self))
    run(root)
    assert "stored 16" in events and "records read" not in events
    stored, expected = readers_as_recorded(root)
    assert stored == expected and articles_read(stored) == 299
    assert gone.relative_to(root / "content").as_posix() not in stored
    assert not any(f"/{gone.stem}/" in page for pages in stored.values() for page in pages)
    config = load_config(root / "site.toml")
    with BuildCache(builder.cache_path_for(config, root / "content", root / "site")) as cache:
        assert not [path for path in cache.page_paths() if f"/{gone.stem}/" in path]
    monkeypatch.undo()
    edit(first_article(root), "\n---\n", "\n---\nFirst edited.\n\n")
    cold_equals_incremental(root)


def test_related_stories_found_are_stored_as_they_come_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each article's related stories go into the cache as they are found, a few at a time (not
    all held until the end), and a later build reuses them while the articles of its tags stay
    the same: a template change finds none again."""
    root = big_project(tmp_path)
    (root / "site.toml").write_text('title = "Big"\n')
    monkeypatch.setattr(page_records, "_RECORDS_PER_WRITE", 16)
    # Related stories of article pages sent to a lean render worker are found as they are sent, a
    # few batches ahead of the writer: fewer ahead here, where the site has only five batches.
    monkeypatch.setattr(render_stage, "_SHIPPED_AHEAD", 2)
    stored: list[int] = []
    put_related = BuildCache.put_related

    def putting(self: BuildCache, answers: dict) -> None:
        stored.append(len(answers))
        put_related(self, answers)

    monkeypatch.setattr(BuildCache, "put_related", putting)
    run(root)
    # Answers come in batches of pages (64, from either process): a few batches at a time at most.
    assert len([n for n in stored if n]) >= 3 and max(stored) <= (2 + 1) * 64 and sum(stored) == 300
    config = load_config(root / "site.toml")
    db = sqlite3.connect(builder.cache_path_for(config, root / "content", root / "site"))
    assert db.execute("SELECT count(*) FROM related").fetchone() == (300,)
    db.close()

    searched: list[int] = []
    index_init = render_stage.RelatedIndex.__init__

    def counted(self: render_stage.RelatedIndex, site: object) -> None:
        searched.append(1)
        index_init(self, site)  # type: ignore[arg-type]

    monkeypatch.setattr(render_stage.RelatedIndex, "__init__", counted)
    edit(root / "templates" / "base.html", "</footer>", "<p>edited</p></footer>")
    run(root, jobs=1)  # one process: the search would be counted here
    assert searched == []
    remove_first_tag(first_article(root))  # its tags' articles change: those answers are found again
    run(root, jobs=1)
    assert searched == [1]
    monkeypatch.undo()
    cold_equals_incremental(root)


def test_related_answers_ask_an_empty_cache_once(tmp_path: Path) -> None:
    """A cold build asks for every article's related stories: with none stored, one question
    answers them all. Answers stored and committed later are read by the next build's reader."""
    path = tmp_path / "cache.sqlite"
    asked: list[str] = []

    class Counting(RelatedAnswers):
        def _row(self, sql: str, *params: object) -> tuple | None:
            asked.append(sql)
            return super()._row(sql, *params)

    with BuildCache(path):
        pass
    empty = Counting(path)
    assert [empty(f"a{i}.md") for i in range(3)] == [None, None, None]
    assert len(asked) == 1
    with BuildCache(path) as cache:
        cache.put_related({"a0.md": (b"key", ("b.md", "c.md"))})
    asked.clear()
    stored = Counting(path)
    assert stored("a0.md") == (b"key", ["b.md", "c.md"])
    assert stored("a1.md") is None
    assert len(asked) == 3  # whether there are any, then one question per article


def test_a_build_stopped_while_parsing_keeps_what_it_had_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse stage commits its results every few batches (SQLite empties its log into the
    database as it goes, not all at once at the end of the stage): a build stopped half way, by
    Ctrl-C say, leaves those in the cache, and the next build parses only the rest."""
    root = big_project(tmp_path)  # 300 files: five batches of 64
    (root / "site.toml").write_text('title = "Big"\n')
    monkeypatch.setattr(parse_stage, "_COMMIT_EVERY", 2)
    config = load_config(root / "site.toml")

    def stop_after_three_batches(stage: str, done: int, total: int) -> None:
        if stage == "parse" and done >= 3 * 64:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(config, BuildOptions(output_dir=root / "site", jobs=1), stop_after_three_batches)
    assert not (root / "site").exists()
    assert run(root).parsed_files == 300 - 2 * 64  # the third batch was not committed yet
    cold_equals_incremental(root)


def test_a_render_stopped_half_way_leaves_the_page_records_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render stopped half way by a file of the live site found missing (MissingOutput) is made
    again without the cache. The records the stopped render had stored are undone: half-replaced,
    they would not match the map of which pages read each article, and a later edit would miss
    pages. (A live file deleted by hand is found before the render, where the kept files are
    linked; here the writer reports one while the second batch of records is stored.)"""
    root = big_project(tmp_path)
    (root / "site.toml").write_text('title = "Big"\n')
    cold = run(root)
    monkeypatch.setattr(page_records, "_RECORDS_PER_WRITE", 4)
    monkeypatch.setattr(page_records, "_STREAMED_FROM", 0)  # this small change's records go as they come
    stored_rows: list[int] = []
    put_pages = BuildCache.put_pages

    def putting(self: BuildCache, rows: list[tuple[str, str, str, str]]) -> None:
        if stored_rows:
            raise write.MissingOutput("index.html")
        stored_rows.append(len(rows))
        put_pages(self, rows)

    monkeypatch.setattr(BuildCache, "put_pages", putting)
    config = load_config(root / "site.toml")
    before = sqlite3.connect(builder.cache_path_for(config, root / "content", root / "site"))
    records_before = sorted(before.execute("SELECT * FROM pages"))
    before.close()
    remove_first_tag(first_article(root))
    result = run(root)
    assert result.rendered_pages == cold.rendered_pages  # everything, the second time
    assert sum(stored_rows) > 0  # the first render had stored some before it stopped
    after = sqlite3.connect(builder.cache_path_for(config, root / "content", root / "site"))
    assert sorted(after.execute("SELECT * FROM pages")) == records_before
    after.close()
    stored, expected = readers_as_recorded(root)
    assert stored == expected
    monkeypatch.undo()
    edit(first_article(root), "\n---\n", "\n---\nFirst edited.\n\n")
    cold_equals_incremental(root)


def middle_article(root: Path) -> Path:
    articles = sorted((root / "content").rglob("*.md"))
    return articles[len(articles) // 2]


# Edits that keep the site's structure (same articles, URLs, dates, tags, sources and authors):
# the build re-checks only the pages that depend on the edited articles (deps.structure_key).
CONTENT_ONLY: dict[str, Callable[[Path], None]] = {
    "body": lambda root: edit(middle_article(root), "\n---\n", "\n---\nA brand new opening paragraph.\n\n"),
    "summary and image added": lambda root: edit(
        middle_article(root),
        "\n---\n",
        '\nsummary: "A standfirst <b>bold</b>"\nimage:\n  src: /media/x.jpg\n  caption: A caption\n---\n',
    ),
    "words removed from the search index": lambda root: edit(
        middle_article(root), "\n---\n", "\n---\nQuixotic zebras.\n\n"
    ),
    # The month page lists every headline of the month through its day groups, not the articles
    "title (the slug is fixed)": lambda root: edit(middle_article(root), "title: Story", "title: Retitled story"),
    "two articles": lambda root: (
        edit(first_article(root), "\n---\n", "\n---\nFirst edited.\n\n"),
        edit(middle_article(root), "\n---\n", "\n---\nMiddle edited.\n\n"),
    ),
}


@pytest.mark.parametrize("change", sorted(CONTENT_ONLY))
def test_content_only_edit_checks_only_dependent_pages(project: Path, change: str) -> None:
    full = run(project)
    if change == "words removed from the search index":
        CONTENT_ONLY[change](project)
        run(project)
        edit(middle_article(project), "Quixotic zebras.", "Plain words.")  # both terms leave the index
    elif change == "title (the slug is fixed)":
        edit(middle_article(project), "title: Story", "slug: fixed-slug\ntitle: Story")
        full = run(project)
        CONTENT_ONLY[change](project)
    else:
        CONTENT_ONLY[change](project)
    result = cold_equals_incremental(project)
    assert result.stats.written > 0
    assert 0 < result.fingerprinted_pages < full.fingerprinted_pages / 3, (result, full.fingerprinted_pages)


def test_search_index_is_updated_in_place_after_a_body_edit(project: Path) -> None:
    run(project)
    edit(middle_article(project), "\n---\n", "\n---\nXylophonist quorum.\n\n")
    cold_equals_incremental(project)
    search = project / "site" / "search"
    shard = search / f"t-{b'xy'.hex()}.json"
    assert "xylophonist" in shard.read_text("utf-8")
    edit(middle_article(project), "Xylophonist quorum.", "Nothing odd.")
    cold_equals_incremental(project)
    assert not shard.exists()  # its only term is gone, so is the shard (and meta.json no longer lists it)
    assert "78" not in (search / "meta.json").read_text("utf-8").split('"shards":')[1].split("]")[0]


def test_content_edit_after_a_failed_build_renders_what_changed_since_the_last_good_one(project: Path) -> None:
    run(project)
    victim = middle_article(project)
    edit(victim, "\n---\n", "\n---\nWritten while the build was broken.\n\n")
    broken = project / "content" / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\nbody\n", "utf-8")
    with pytest.raises(BuildFailed) as failed:
        run(project)
    assert [e.path for e in failed.value.errors] == ["broken.md"]
    broken.unlink()
    cold_equals_incremental(project)
    pages = list((project / "site").rglob("index.html"))
    assert any("Written while the build was broken" in p.read_text("utf-8") for p in pages)


def test_a_body_edit_renders_the_pages_that_read_the_article_not_those_that_only_link_to_its_day(
    project: Path,
) -> None:
    run(project)
    article = middle_article(project)
    edit(article, "\n---\n", "\n---\nA brand new opening paragraph.\n\n")  # its summary on lists changes too
    rendered = set(cold_equals_incremental(project).rendered)
    day = article.read_text("utf-8").split("date: ", 1)[1][:10].replace("-", "/")
    assert f"{day}/{article.stem}/index.html" in rendered
    assert f"{day}/index.html" in rendered  # lists it
    assert f"{day[:7]}/index.html" in rendered  # the month lists its headline
    site = project / "site"
    days = sorted(p.parent.relative_to(site).as_posix() for p in site.glob("*/*/*/index.html"))
    here = days.index(day)
    neighbours = {f"{d}/index.html" for d in days[max(0, here - 1) : here + 2] if d != day}
    assert neighbours, days
    # Pages that reach it only through a group: links to its day, counts of its year and tags.
    for path in (*neighbours, f"{day[:4]}/index.html", "archive/index.html", "tags/index.html"):
        assert path not in rendered, (path, sorted(rendered))


def test_a_build_after_another_content_folder_built_into_the_same_site_replaces_all_of_it(project: Path) -> None:
    run(project)
    other = project / "other"
    shutil.copytree(project / "content", other)
    edit(sorted(other.rglob("*.md"))[0], "date: 20", "date: 1999-12-31T10:00:00+00:00\nx: 20")  # another sitemap
    run(project, content_dir=other)
    assert "1999" in (project / "site" / "sitemap.xml").read_text("utf-8")
    shutil.rmtree(other)
    cold_equals_incremental(project)  # from the cache of the first build: nothing in its content changed


def test_records_made_by_parallel_workers_serve_the_next_builds(tmp_path: Path) -> None:
    """A cold build fingerprints its pages in the render workers; the builds after it must find
    those records as good as ones made in this process: few pages rendered, the same tree as cold."""
    root = big_project(tmp_path)
    (root / "site.toml").write_text('title = "Test Wire"\n')
    first = run(root, jobs=2)
    assert first.rendered_pages > 256  # enough to fan out
    stories = sorted((root / "content").rglob("*.md"))
    edit(stories[150], "\n---\n", "\n---\nA brand new opening paragraph.\n\n")  # content only
    body = cold_equals_incremental(root)
    assert 0 < body.rendered_pages < first.rendered_pages / 10
    remove_first_tag(stories[40])  # the structure changes: every fingerprint is compared
    retag = cold_equals_incremental(root)
    assert retag.fingerprinted_pages == first.fingerprinted_pages
    assert 0 < retag.rendered_pages < first.rendered_pages / 5


def test_a_body_lost_from_the_cache_is_an_error_naming_the_cache_and_what_it_lost(project: Path) -> None:
    """A corrupt cache that no longer holds an article's rendered body is reported, not worked
    around: by the article's path where the article is known, else by the cache file and digest."""
    run(project)
    (cache_file,) = (project / ".broadsheet-cache").glob("*.sqlite")
    with contextlib.closing(sqlite3.connect(cache_file)) as db:
        path, digest = db.execute("SELECT path, digest FROM built ORDER BY path LIMIT 1").fetchone()
        db.execute("DELETE FROM markdown WHERE digest=?", (digest,))
        db.commit()
    bodies = CachedBodies({}, cache_file)
    with pytest.raises(BroadsheetError) as lost:
        bodies.terms_at(digest)
    assert lost.value.path == str(cache_file) and digest in str(lost.value)
    article = Article(path, "Title", datetime(2024, 1, 1, tzinfo=UTC), False, "slug", "", digest)
    with pytest.raises(BroadsheetError) as lost:
        bodies(article)
    assert lost.value.path == path and "lost a rendered body" in str(lost.value)


@pytest.mark.parametrize("change", ["cold", "template"])
def test_the_plan_and_the_list_entries_are_let_go_before_the_build_is_recorded(
    project: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A build that rendered most pages makes its records (which pages read each article, the
    snapshot) after the swap, where a large one peaked: by then it holds no page of its plan and
    no list entry kept for reuse, only the site and what it wrote."""
    if change == "template":
        run(project)
        base = project / "templates" / "base.html"
        base.write_text(base.read_text() + "<!-- changed -->\n")
    held: list[tuple[int, list[int]]] = []
    again = BuildCache.readers_again

    def counted(self: BuildCache, gone: Iterable[str] = (), *own: Callable[[str], str]) -> None:
        gc.unfreeze()  # (the build froze what it had planned: the collector lists it only so)
        gc.collect()
        objects = gc.get_objects()
        pages = sum(1 for o in objects if type(o) is Page)
        held.append((pages, [len(o._items) for o in objects if type(o) is Renderer]))
        # Related stories were looked for from each article's page, which says where the article is.
        positions.extend(o._position for o in objects if type(o) is RelatedIndex)
        # Paths read back are swapped for the build's own: an article's as its article holds it.
        article = next(o for o in objects if type(o) is Article)
        assert own[0]("".join(list(article.path))) is article.path
        return again(self, gone, *own)

    positions: list[object] = []
    monkeypatch.setattr(BuildCache, "readers_again", counted)
    result = run(project)
    assert result.rendered_pages > 50 and not result.quick
    assert held == [(0, [0])]
    assert positions == ([None] if change == "cold" else [])  # (after a template change, all are known)


@pytest.mark.parametrize("change", ["cold", "template"])
def test_the_heap_memory_the_render_freed_is_given_back_before_the_build_is_recorded(
    project: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Freed memory stays with the process, scattered among what it still holds, unless given
    back: a build that rendered most pages gives it back once the pages and the sitemap (megabytes
    of text for a large site) are written, and again once the plan and the list entries are let go,
    before the records are made, where a large build peaked."""
    if change == "template":
        run(project)
        base = project / "templates" / "base.html"
        base.write_text(base.read_text() + "<!-- changed -->\n")
    events: list[object] = []
    sitemaps = builder.sitemap_files

    def sitemap_files(*args: Any) -> Iterable[tuple[str, bytes]]:
        yield from sitemaps(*args)
        events.append("sitemap written")

    def release() -> None:
        gc.unfreeze()  # (the build froze what it had planned: the collector lists it only so)
        gc.collect()
        objects = gc.get_objects()
        pages = sum(1 for o in objects if type(o) is Page)
        events.append(("memory given back", pages > 0, [len(o._items) for o in objects if type(o) is Renderer]))

    again = BuildCache.readers_again

    def recorded(self: BuildCache, *args: Any) -> None:
        events.append("records")
        return again(self, *args)

    monkeypatch.setattr(builder, "sitemap_files", sitemap_files)
    monkeypatch.setattr(builder, "release_free_memory", release)
    monkeypatch.setattr(BuildCache, "readers_again", recorded)
    result = run(project)
    assert result.rendered_pages > 50 and not result.quick
    if change == "cold":  # (after a template change, the sitemap, which lists no page's text, is kept)
        assert events.pop(0) == "sitemap written"
    assert events[0][:2] == ("memory given back", True)  # the plan is still there: the render goes on
    assert events[1:] == [("memory given back", False, [0]), "records"]  # no page of the plan, no list entry


class _WatchedDict(dict):
    """What the cache hands out, as a dict that can be watched (a weak reference)."""


class _WatchedSet(set):
    """What the cache hands out, as a set that can be watched (a weak reference)."""


@pytest.mark.parametrize("change", ["template", "added", "deleted"])
def test_the_last_builds_records_are_let_go_before_the_render(
    project: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A full build after another reads the last build's records: every article's digest (what
    changed since), every page's record (which to render again) or the pages that loaded an
    edited template. None of them is held through the render, and the build still records what
    it was made of, which the builds after it read."""
    run(project)
    content = project / "content"
    victim = sorted(content.rglob("*.md"))[5]
    if change == "template":
        base = project / "templates" / "base.html"
        base.write_text(base.read_text() + "<!-- changed -->\n")
    elif change == "added":
        (content / "late.md").write_text("---\ntitle: Late story\ndate: 2021-06-01\ntags: [Late]\n---\nIt came late.\n")
    else:
        victim.unlink()
    handed: list[weakref.ref] = []
    held_in_render: list[bool] = []
    write_tree = SpareTree.write

    def watch(read: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any) -> Any:
            found = read(*args)
            found = _WatchedSet(found) if isinstance(found, set) else _WatchedDict(found)
            handed.append(weakref.ref(found))
            return found

        return watched

    def writing(self: SpareTree, *args: Any, **kwargs: Any) -> Any:
        held_in_render.extend(ref() is not None for ref in handed)
        return write_tree(self, *args, **kwargs)

    for name in ("built_digests", "pages", "pages_reading"):
        monkeypatch.setattr(BuildCache, name, watch(getattr(BuildCache, name)))
    monkeypatch.setattr(SpareTree, "write", writing)
    result = run(project)
    assert not result.quick and len(held_in_render) >= 2 and not any(held_in_render)
    monkeypatch.undo()
    config = load_config(project / "site.toml")
    with BuildCache(builder.cache_path_for(config, content, project / "site")) as cache:
        digests, pages = cache.built_digests(), sorted(cache.page_paths())
    articles, *_ = parse_stage.load_content(scan(content)[0], ZoneInfo("UTC"), None, "inline", 1, lambda *_: None)
    assert digests == {a.path: a.digest for a in articles}
    assert ("late.md" in digests) == (change == "added")
    assert (victim.relative_to(content).as_posix() in digests) == (change != "deleted")
    # The pages recorded are this build's, as a cold build of the same content records them.
    run(project, output="cold")
    with BuildCache(builder.cache_path_for(config, content, project / "cold")) as cache:
        assert pages == sorted(cache.page_paths())


def test_each_article_holds_its_files_scan_entry_as_its_path(project: Path, tmp_path: Path) -> None:
    """A build holds every file's scan entry and every article until it ends: an article's path is
    that entry's string, not a copy of its own, whether it was parsed now or read from the cache."""
    markdown, _ = scan(project / "content")
    with BuildCache(tmp_path / "cache" / "build.sqlite") as cache:
        for parsed_now in (len(markdown), 0):  # parsed, then every one read back from the cache
            articles, _, errors, parsed = parse_stage.load_content(
                markdown, ZoneInfo("UTC"), cache, "inline", 1, lambda *_: None
            )
            assert (parsed, errors) == (parsed_now, [])
            by_path = {article.path: article for article in articles}
            assert sorted(by_path) == [f.rel for f in markdown]
            assert all(by_path[f.rel].path is f.rel for f in markdown)


def test_readers_found_again_hold_the_builds_own_path_objects(tmp_path: Path) -> None:
    """Which pages read each article, found again from every page's record: each page's path and
    each article's held as the build's own object (`own`), asked once each, not a string per row."""
    asked: list[str] = []

    def own(path: str) -> str:
        asked.append(path)
        return path

    with BuildCache(tmp_path / "cache.sqlite") as cache:
        cache.put_pages([("a/index.html", "k", "d", "x.md\ny.md"), ("b/index.html", "k", "d", "y.md")])
        cache.put_pages([("c.xml", "k", "d", "")])
        cache.readers_again(["gone/index.html"], own)
        assert cache.pages_reading(["y.md"]) == {"a/index.html", "b/index.html"}
        assert cache.pages_reading(["x.md"]) == {"a/index.html"}
    assert sorted(asked) == ["a/index.html", "b/index.html", "c.xml", "x.md", "y.md"]

"""The writer: a new tree staged beside the output and swapped in atomically; unchanged files kept as
they are (same inode and mtime); stale files gone; a manifest marking the folder as ours; folders that
are not ours refused; one build per output at a time."""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import re
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from buildkit import (
    ROOT,
    SiteDirs,
    out_of_memory,
    pages_in_memory,
    placements,
    read_in_soon,
    spare_in_step,
    wrapped_python,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from broadsheet import fileops, spare, spare_fill, write
from broadsheet.errors import BroadsheetError
from broadsheet.guards import check_output_dir, foreign_files
from broadsheet.locks import build_lock
from broadsheet.manifest import (
    MANIFEST,
    MANIFEST_VERSION,
    _manifest_paths,
    _within,
    file_digest,
    files_of,
    live_manifest,
    manifest_text,
    read_manifest,
    record_failed_build,
    write_manifest,
)
from broadsheet.output import Output
from broadsheet.spare import spare_dir
from broadsheet.spare_fill import SpareFill, SpareLag, fill_spare, settle_spare
from broadsheet.stamps import save_stamps
from broadsheet.swap import recover
from broadsheet.write import SpareTree, TreeCheck, write_changes, write_site

ARTICLES = {
    f"2024/0{month}/{name}.md": f"---\ntitle: {name}\ndate: 2024-0{month}-1{month}\ntags: [{tag}]\n---\n{name} text.\n"
    for month, name, tag in [(1, "alpha", "A"), (2, "beta", "B"), (3, "gamma", "A"), (4, "delta", "C")]
}


def stat_of(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(output: Path, kind: str) -> list[Path]:
    return list(output.parent.glob(f".{output.name}-{kind}-*"))


def wait_until_gone(output: Path, kind: str, seconds: float = 20.0) -> list[Path]:
    # Retired trees are deleted by a detached process after the swap; give it a moment.
    deadline = time.monotonic() + seconds
    while leftovers(output, kind) and time.monotonic() < deadline:
        time.sleep(0.05)
    return leftovers(output, kind)


# --- write_site ----------------------------------------------------------------------------------


def test_first_write_creates_the_tree_and_manifest(tmp_path: Path) -> None:
    output = tmp_path / "site"
    stats = write_site([Output("index.html", b"home"), Output("a/b/index.html", b"deep")], output)
    assert files(output) == {
        "index.html": b"home",
        "a/b/index.html": b"deep",
        MANIFEST: (output / MANIFEST).read_bytes(),
    }
    manifest = json.loads((output / MANIFEST).read_text("utf-8"))
    assert set(manifest["files"]) == {"index.html", "a/b/index.html"}
    assert read_manifest(output) == manifest["files"]
    assert (stats.files, stats.written, stats.unchanged, stats.removed) == (2, 2, 0, 0)
    assert not leftovers(output, "new")


def test_the_writer_remembers_only_the_folders_it_made_lately_and_finds_the_others_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold build makes about a folder a page: the writer keeps only the last few it made (each a
    string held to the end of the build), and a folder met again after it was forgotten is there."""
    monkeypatch.setattr(write, "_FOLDERS_KEPT", 4)
    kept: list[int] = []
    make_folder = write.make_folder

    def making(path: str) -> None:
        make_folder(path)
        kept.append(len(tree._made_dirs))

    monkeypatch.setattr(write, "make_folder", making)
    output = tmp_path / "site"
    outputs = [Output(f"{n}/index.html", str(n).encode()) for n in range(10)]
    outputs += [Output("0/feed.xml", b"feed"), Output("0/1/index.html", b"deep")]  # (folder 0: forgotten)
    tree = SpareTree(output)
    stats = tree.write(outputs)
    assert max(kept) <= 4 and len(kept) == 12
    assert files(output) == {o.path: o.data for o in outputs} | {MANIFEST: (output / MANIFEST).read_bytes()}
    assert stats.written == 12


def test_unchanged_files_keep_inode_and_mtime_changed_are_rewritten_stale_removed(tmp_path: Path) -> None:
    output = tmp_path / "site"
    write_site([Output("same.html", b"same"), Output("changes.html", b"v1"), Output("stale.html", b"old")], output)
    same_before, changes_before = stat_of(output / "same.html"), stat_of(output / "changes.html")
    time.sleep(0.01)
    stats = write_site([Output("same.html", b"same"), Output("changes.html", b"v2"), Output("new.html", b"n")], output)
    assert stat_of(output / "same.html") == same_before
    assert (output / "changes.html").read_bytes() == b"v2" and stat_of(output / "changes.html") != changes_before
    assert not (output / "stale.html").exists()
    assert (stats.written, stats.unchanged, stats.removed, stats.swapped) == (2, 1, 1, True)
    assert set(read_manifest(output)) == {"same.html", "changes.html", "new.html"}


def test_identical_output_touches_nothing(tmp_path: Path) -> None:
    output = tmp_path / "site"
    outputs = [Output("index.html", b"home"), Output("x/index.html", b"x")]
    write_site(outputs, output)
    before = {p: stat_of(output / p) for p in ("index.html", "x/index.html", MANIFEST)}
    folder = stat_of(output)
    stats = write_site(outputs, output)
    assert stats.swapped is False and stats.written == 0
    assert {p: stat_of(output / p) for p in before} == before and stat_of(output)[0] == folder[0]


def test_a_write_that_fails_midway_leaves_the_old_site(tmp_path: Path) -> None:
    output = tmp_path / "site"
    write_site([Output("index.html", b"old home")], output)
    before = {p: (d, stat_of(output / p)) for p, d in files(output).items()}
    # "a" is written as a file, then "a/b" needs "a" to be a folder: the write fails partway through.
    with pytest.raises(OSError):
        write_site([Output("index.html", b"new home"), Output("a", b"file"), Output("a/b", b"under a file")], output)
    assert {p: (d, stat_of(output / p)) for p, d in files(output).items()} == before
    assert not leftovers(output, "new")


def test_two_outputs_for_one_path_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BroadsheetError, match="same file"):
        write_site([Output("index.html", b"a"), Output("index.html", b"b")], tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_a_file_only_the_spare_has_is_rewritten_in_place_a_shared_one_is_replaced(tmp_path: Path) -> None:
    output = tmp_path / "site"
    spare = spare_dir(output)
    write_site([Output("own.html", b"version one, the longest"), Output("shared.html", b"s")], output)
    write_site([Output("own.html", b"version two"), Output("shared.html", b"s")], output)
    # Now the spare holds version one of own.html (its only name) and a link to the live shared.html.
    own_inode = (spare / "own.html").stat().st_ino
    assert (spare / "shared.html").stat().st_nlink == 2
    live_shared = stat_of(output / "shared.html")
    write_site([Output("own.html", b"three"), Output("shared.html", b"s, changed")], output)
    assert files(output) == {
        "own.html": b"three",  # shorter than what the file held: cut to its new length
        "shared.html": b"s, changed",
        MANIFEST: (output / MANIFEST).read_bytes(),
    }
    assert (output / "own.html").stat().st_ino == own_inode  # rewritten where it was
    # The shared file got a new inode; the tree that was live keeps its bytes.
    assert (output / "shared.html").stat().st_ino != live_shared[0]
    assert (spare / "own.html").read_bytes() == b"version two" and (spare / "shared.html").read_bytes() == b"s"
    assert stat_of(spare / "shared.html") == live_shared


def test_a_stray_file_in_the_spare_gives_way_to_the_link_it_should_be(tmp_path: Path) -> None:
    output = tmp_path / "site"
    write_site([Output("a.html", b"a")], output)
    write_site([Output("a.html", b"a"), Output("new.html", b"new")], output)
    # The spare (the first build) does not list new.html, yet a file of that name is there.
    (spare_dir(output) / "new.html").write_bytes(b"stray")
    live_new = stat_of(output / "new.html")
    write_site([Output("a.html", b"a!"), Output("new.html", b"new")], output)
    assert (output / "new.html").read_bytes() == b"new" and stat_of(output / "new.html") == live_new


def test_files_placed_where_they_are_rendered_are_swapped_in_with_the_rest(tmp_path: Path) -> None:
    output = tmp_path / "site"
    write_site([Output("a/index.html", b"a1"), Output("b/index.html", b"b")], output)
    write_site([Output("a/index.html", b"a2"), Output("b/index.html", b"b")], output)
    # The spare now has a1 and b; rendering places a3 (written), b (already there) and a new page.
    tree = SpareTree(output)
    placed = {
        p: tree.place(p, data) for p, data in [("a/index.html", b"a3"), ("b/index.html", b"b"), ("c/d.html", b"c")]
    }
    assert [p.touched for p in placed.values()] == [True, False, True]
    assert (tree.spare / "c/d.html").read_bytes() == b"c" and not (output / "c").exists()  # not live yet
    stats = tree.write([Output(p, placed=where) for p, where in placed.items()] + [Output("robots.txt", b"r")])
    assert files(output) == {
        "a/index.html": b"a3",
        "b/index.html": b"b",
        "c/d.html": b"c",
        "robots.txt": b"r",
        MANIFEST: (output / MANIFEST).read_bytes(),
    }
    assert read_manifest(output) == {p: where.digest for p, where in placed.items()} | {"robots.txt": file_digest(b"r")}
    assert (stats.written, stats.unchanged, stats.removed) == (3, 1, 0)


def test_readers_never_see_a_missing_or_mixed_site(tmp_path: Path) -> None:
    """While the site is replaced again and again, a reader always finds one complete version."""
    output = tmp_path / "site"
    names = [f"p{i}/index.html" for i in range(30)]

    def version(tag: bytes) -> list[Output]:
        return [Output("index.html", tag), *(Output(n, tag + n.encode()) for n in names)]

    write_site(version(b"A"), output)
    problems: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                home = (output / "index.html").read_bytes()
                listing = set(os.listdir(output))
            except OSError as exc:
                problems.append(f"read failed: {exc}")
                continue
            if home not in (b"A", b"B"):
                problems.append(f"partial file {home!r}")
            if listing != {"index.html", MANIFEST, *(n.split("/")[0] for n in names)}:
                problems.append(f"incomplete folder: {len(listing)} entries")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(8):
            write_site(version(b"B" if i % 2 == 0 else b"A"), output)
            # The guarantee is for a reader that finishes before the build after next starts: the tree
            # swapped out becomes the spare that build updates. Real builds are far apart; here a
            # reader thread that opened the folder may wait out a GIL switch before listing it.
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join()
    assert problems == []
    assert wait_until_gone(output, "old") == []


# --- refusing folders that are not ours -----------------------------------------------------------------


def test_refuses_root_home_and_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = tmp_path / "content"
    content.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for forbidden in (Path("/"), home, ROOT):
        with pytest.raises(BroadsheetError, match="refusing"):
            check_output_dir(forbidden, project_root=ROOT, content_dir=content)


def test_refuses_a_folder_that_contains_the_content(tmp_path: Path) -> None:
    content = tmp_path / "project" / "content"
    content.mkdir(parents=True)
    for output in (tmp_path / "project", tmp_path, content):
        with pytest.raises(BroadsheetError, match="content"):
            check_output_dir(output, project_root=ROOT, content_dir=content)


def test_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("not a folder")
    with pytest.raises(BroadsheetError, match="not a folder"):
        check_output_dir(tmp_path / "site", project_root=ROOT, content_dir=tmp_path / "content")


def test_accepts_a_new_an_empty_and_its_own_folder(tmp_path: Path) -> None:
    content = tmp_path / "content"
    assert check_output_dir(tmp_path / "new", project_root=ROOT, content_dir=content) == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty", project_root=ROOT, content_dir=content)
    write_site([Output("index.html", b"x")], tmp_path / "ours")
    check_output_dir(tmp_path / "ours", project_root=ROOT, content_dir=content)


def test_a_foreign_non_empty_folder_is_refused_and_left_alone(make_site: Callable[..., SiteDirs]) -> None:
    site = make_site(ARTICLES)
    site.output.mkdir()
    (site.output / "thesis.tex").write_text("years of work")
    result = site.cli()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not empty" in result.stderr and str(site.output) in result.stderr
    assert files(site.output) == {"thesis.tex": b"years of work"}


@pytest.mark.parametrize(
    "foreign",
    ["CNAME", "a/b/notes.txt", "a/new/deep/draft.html", "z/draft.html"],
    ids=["top", "in-our-folder", "in-a-new-folder-in-ours", "in-a-new-folder"],
)
def test_a_swap_is_refused_while_the_site_holds_someone_elses_file(tmp_path: Path, foreign: str) -> None:
    output = tmp_path / "site"
    pages = [Output("index.html", b"home"), Output("a/b/index.html", b"deep"), Output("a/c/index.html", b"c")]
    for version in (b"c0", b"c1", b"c", b"c2"):  # each tree written twice: its notes were updated, not made anew
        write_site([*pages[:2], Output("a/c/index.html", version)], output)
    (output / foreign).parent.mkdir(parents=True, exist_ok=True)
    (output / foreign).write_text("mine")
    with pytest.raises(BroadsheetError, match="did not write") as raised:
        write_site([*pages[:2], Output("a/c/index.html", b"c3")], output)
    assert foreign in str(raised.value)
    assert (output / foreign).read_text() == "mine" and (output / "a/c/index.html").read_bytes() == b"c2"
    (output / foreign).unlink()
    write_site([*pages[:2], Output("a/c/index.html", b"c3")], output)
    assert (output / "a/c/index.html").read_bytes() == b"c3"


def test_each_trees_folder_notes_are_kept_apart_and_the_others_written_back_as_found(tmp_path: Path) -> None:
    """A build unpickles only the notes of the tree it looks at or writes: the other tree's go back
    into the file byte for byte."""
    output = tmp_path / "site"
    pages = [Output("index.html", b"home"), Output("a/b/index.html", b"deep")]
    write_site(pages, output)
    write_site([*pages, Output("c/index.html", b"c")], output)
    notes = tmp_path / ".site.folders.pickle"
    before = pickle.loads(notes.read_bytes())
    live, spare = str(output.stat().st_ino), str(spare_dir(output).stat().st_ino)
    assert before.keys() == {live, spare} and all(isinstance(v, bytes) for v in before.values())
    assert pickle.loads(before[live]) == {folder: (output / folder).stat().st_mtime_ns for folder in ("a", "a/b", "c")}
    write_site([*pages, Output("c/index.html", b"c, again")], output)  # writes the spare, swapped in
    after = pickle.loads(notes.read_bytes())
    assert after[live] == before[live] and after[spare] != before[spare]


@pytest.mark.parametrize("notes_are", ["not a pickle", "from an older version", "damaged for this tree"])
def test_folder_notes_that_cannot_be_read_make_the_check_look_in_every_folder(tmp_path: Path, notes_are: str) -> None:
    output = tmp_path / "site"
    pages = [Output("index.html", b"home"), Output("a/b/index.html", b"deep")]
    legacy = tmp_path / ".site.folders.json"  # where builds before kept their notes, as JSON
    legacy.write_text("{}", "utf-8")
    write_site(pages, output)
    write_site([*pages, Output("c/index.html", b"c")], output)
    notes = tmp_path / ".site.folders.pickle"
    assert notes.is_file() and not legacy.exists()
    # A file slipped in without moving its folder's time is not seen while the notes say the folder
    # is as the build left it (the price of not listing every folder), but is once they cannot be read.
    folder = output / "a" / "b"
    before = folder.stat().st_mtime_ns
    (folder / "notes.txt").write_text("mine", "utf-8")
    os.utime(folder, ns=(before, before))
    assert not foreign_files(output, read_manifest(output))
    inode = str(output.stat().st_ino)
    if notes_are == "not a pickle":
        notes.write_bytes(b"\x80\x05 not a pickle")
    elif notes_are == "from an older version":  # every tree's notes in one dict of dicts
        found = {key: pickle.loads(value) for key, value in pickle.loads(notes.read_bytes()).items()}
        notes.write_bytes(pickle.dumps(found))
    else:
        notes.write_bytes(pickle.dumps({**pickle.loads(notes.read_bytes()), inode: b"\x80\x05 damaged"}))
    with pytest.raises(BroadsheetError, match="did not write") as raised:
        write_site(pages, output)
    assert "a/b/notes.txt" in str(raised.value)


# --- the lock --------------------------------------------------------------------------------------------


def test_a_second_build_of_the_same_output_is_refused_while_one_runs(make_site: Callable[..., SiteDirs]) -> None:
    site = make_site(ARTICLES)
    with build_lock(site.output):
        result = site.cli()
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "another build" in result.stderr
        assert not site.output.exists()
        with pytest.raises(BroadsheetError, match="another build"), build_lock(site.output):
            pass
    site.build()  # released: builds again
    assert (site.output / "index.html").is_file()


# --- recovery ----------------------------------------------------------------------------------------------


def test_recover_puts_back_a_site_caught_mid_swap_and_drops_staging(tmp_path: Path) -> None:
    output = tmp_path / "site"
    swapped_out = tmp_path / ".site-swap-123-456"
    swapped_out.mkdir()
    (swapped_out / "index.html").write_bytes(b"the previous site")
    staging = tmp_path / ".site-new-abc"
    staging.mkdir()
    (staging / "index.html").write_bytes(b"half")
    recover(output)
    assert (output / "index.html").read_bytes() == b"the previous site"
    assert not staging.exists() and not swapped_out.exists()


# --- through a full build ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "build-cache"])
def test_rebuild_keeps_unchanged_pages_and_removes_stale_ones(make_site: Callable[..., SiteDirs], cache: bool) -> None:
    site = make_site(ARTICLES)
    site.build(cache=cache)
    out = site.output
    untouched = ["404.html", "2024/01/11/alpha/index.html", "tags/a/index.html"]
    before = {p: stat_of(out / p) for p in untouched}
    delta_page = out / "2024/04/14/delta/index.html"
    assert delta_page.is_file()
    time.sleep(0.01)
    # Change one article's body and delete another: only pages showing them may change.
    site.write("2024/02/beta.md", ARTICLES["2024/02/beta.md"].replace("beta text.", "beta text, revised."))
    (site.content / "2024/04/delta.md").unlink()
    result = site.build(cache=cache)
    assert {p: stat_of(out / p) for p in untouched} == before
    assert b"beta text, revised." in (out / "2024/02/12/beta/index.html").read_bytes()
    assert not delta_page.exists() and not (out / "tags/c").exists() and not (out / "2024/04").exists()
    assert result.stats.removed > 0 and result.stats.unchanged > 0
    manifest = read_manifest(out)
    assert set(manifest) == {p for p in files(out) if p != MANIFEST}


# --- write_changes ---------------------------------------------------------------------------------


def two_generations(output: Path) -> dict[str, bytes]:
    """A site written twice, so that the spare holds the first version: {path: bytes} of the second."""
    first = {"index.html": b"home", "a/one/index.html": b"one", "b/two/index.html": b"two", "c.txt": b"c"}
    write_site([Output(p, d) for p, d in first.items()], output)
    second = {**first, "index.html": b"home again"}
    write_site([Output(p, d) for p, d in second.items()], output)
    return second


@pytest.mark.parametrize("forked", [True, False])
def test_tree_check_finds_files_missing_from_the_spare_and_files_not_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    if forked:  # whatever threads earlier tests left running in this process
        monkeypatch.setattr(write.threading, "active_count", lambda: 1)
    else:
        monkeypatch.setattr(TreeCheck, "_fork", lambda self: None)
    output = tmp_path / "site"
    two_generations(output)
    (spare_dir(output) / "a" / "one" / "index.html").unlink()
    (output / "b" / "two" / "notes.txt").write_text("mine", "utf-8")
    check = TreeCheck(output)
    assert (check._child is not None) == forked
    assert check.result() == ({"a/one/index.html"}, ["b/two/notes.txt"])


def test_tree_check_does_not_fork_a_process_that_runs_other_threads(tmp_path: Path) -> None:
    output = tmp_path / "site"
    two_generations(output)
    (output / "notes.txt").write_text("mine", "utf-8")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        check = TreeCheck(output)
        assert check._child is None
        assert check.result() == (set(), ["notes.txt"])
    finally:
        release.set()
        other.join()


def forked_check(output: Path, monkeypatch: pytest.MonkeyPatch) -> TreeCheck:
    monkeypatch.setattr(write.threading, "active_count", lambda: 1)  # whatever threads earlier tests left
    check = TreeCheck(output)
    assert check._child is not None
    return check


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("spare", ["none", "one build behind"])
def test_a_forked_tree_check_brings_the_spare_in_step_and_the_write_places_only_the_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spare: str, processes: int
) -> None:
    """After a build that rewrote the site (and after a cold one, which left no spare), every file
    of the spare differs from the live tree: the forked check puts them in step while the build goes
    on (in two processes, for many files), and the quick write then places only its own changes. A
    file the spare has of its own gets the live bytes and time copied into it, where it is; one it
    lacks is a link to the live file."""
    if processes == 2:
        monkeypatch.setattr(spare_fill, "_TWO_PROCESSES_FROM", 2)
    output = tmp_path / "site"
    if spare == "none":
        site = {"index.html": b"home", "a/one/index.html": b"one", "b/two/index.html": b"two"}
        write_site([Output(p, d) for p, d in site.items()], output)
        assert not spare_dir(output).exists()
    else:
        site = two_generations(output)
        (spare_dir(output) / "old.txt").write_bytes(b"only the spare has it")
        manifest = json.loads((spare_dir(output) / MANIFEST).read_text("utf-8"))
        manifest["files"]["old.txt"] = "0" * 32
        (spare_dir(output) / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    own = {p.relative_to(spare_dir(output)).as_posix(): p.stat().st_ino for p in spare_dir(output).rglob("*")}
    own = {path: inode for path, inode in own.items() if path in site and (output / path).stat().st_ino != inode}
    assert list(own) == ([] if spare == "none" else ["index.html"])
    check = forked_check(output, monkeypatch)
    assert check.result() == (set(), [])
    assert check.have == read_manifest(spare_dir(output)) == read_manifest(output)
    for path, data in site.items():
        mine, live = (spare_dir(output) / path).stat(), (output / path).stat()
        assert (spare_dir(output) / path).read_bytes() == data
        assert mine.st_mtime_ns == live.st_mtime_ns
        assert mine.st_ino == own.get(path, live.st_ino)
    assert not (spare_dir(output) / "old.txt").exists()
    placed = placements(monkeypatch)
    stats = write_changes([Output("a/one/index.html", b"one, edited")], check)
    assert placed == ["a/one/index.html"]
    assert (stats.written, stats.swapped) == (1, True)
    assert {p: d for p, d in files(output).items() if p != MANIFEST} == {**site, "a/one/index.html": b"one, edited"}
    assert {p: d for p, d in files(spare_dir(output)).items() if p != MANIFEST} == site  # the version before


def test_a_forked_tree_check_leaves_out_of_the_spare_what_it_cannot_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "site"
    write_site([Output("index.html", b"home"), Output("a/one/index.html", b"one")], output)
    (output / "a" / "one" / "index.html").unlink()  # deleted by hand: the full build puts it back
    check = forked_check(output, monkeypatch)
    assert check.result() == (set(), [])
    assert check.have == read_manifest(spare_dir(output)) == {"index.html": read_manifest(output)["index.html"]}
    with pytest.raises(write.MissingOutput, match="a/one/index.html"):
        write_changes([Output("index.html", b"home, edited")], check)
    assert (output / "index.html").read_bytes() == b"home"


@pytest.mark.parametrize("dies", ["check", "second"])
def test_a_tree_check_whose_child_dies_midway_trusts_the_spare_as_its_manifest_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dies: str
) -> None:
    """The forked check fails while it links (`check`), or the second process that links half the
    files does (`second`): the spare is then as its manifest says, none, and is made the long way.
    No process of the check links on after the answer, which would race with that."""
    output = tmp_path / "site"
    site = {"a/one/index.html": b"one", "b/two/index.html": b"two", "c.txt": b"c", "index.html": b"home"}
    write_site([Output(p, d) for p, d in site.items()], output)
    monkeypatch.setattr(spare_fill, "_TWO_PROCESSES_FROM", 2)  # a/ and b/ linked by the second process
    parent, link, pids = os.getpid(), spare_fill.link_new, tmp_path / "pids"

    def dying(existing: str | Path, target: str | Path) -> bool:
        if os.getpid() != parent:
            second = "/a/one/" in str(target) or "/b/two/" in str(target)
            with open(pids, "a") as noted:
                noted.write(f"{os.getpid()} {second}\n")
            if second:
                time.sleep(0.2)  # slower than the other half: it must still be waited for
            if second == (dies == "second"):
                raise RuntimeError("killed")  # after the spare's manifest was taken away
        return link(existing, target)

    monkeypatch.setattr(spare_fill, "link_new", dying)
    check = forked_check(output, monkeypatch)
    check.result()
    linkers = {tuple(line.split()) for line in pids.read_text().splitlines()}
    assert len({pid for pid, _ in linkers}) == len(linkers) == 2  # two processes, a half each
    for pid, _ in linkers:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)  # gone, and reaped
    assert check.have == {}  # a spare without a manifest: made again the long way
    write_changes([Output("c.txt", b"new c")], check)
    assert {p: d for p, d in files(output).items() if p != MANIFEST} == {**site, "c.txt": b"new c"}
    assert read_manifest(spare_dir(output)).keys() == site.keys()


def quick_write_placing_only_it(output: Path, monkeypatch: pytest.MonkeyPatch, path: str, data: bytes) -> None:
    """A quick write of one changed file whose forked check finds the spare in step: only it is placed."""
    monkeypatch.setattr(spare_fill, "_mirror_into", lambda *args: pytest.fail("the check found something to place"))
    placed = placements(monkeypatch)
    stats = write_changes([Output(path, data)], forked_check(output, monkeypatch))
    assert placed == [path]
    assert (stats.written, stats.swapped) == (1, True)


@pytest.mark.parametrize("processes", [1, 2])
def test_filling_the_spare_after_a_write_that_made_the_folder_links_it_in_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    """A write that made the output folder anew leaves no spare: `fill_spare` makes one by links to
    every live file, sealed with the live manifest and its folders' times, so that the next quick
    write (its forked check finding nothing to link) places only its changes."""
    if processes == 2:
        monkeypatch.setattr(spare_fill, "_TWO_PROCESSES_FROM", 2)
    output = tmp_path / "site"
    site = {"index.html": b"home", "a/one/index.html": b"one", "b/two/index.html": b"two", "c.txt": b"c"}
    write_site([Output(p, d) for p, d in site.items()], output)
    assert not spare_dir(output).exists()
    assert fill_spare(output) == len(site)
    assert (spare_dir(output) / MANIFEST).read_bytes() == (output / MANIFEST).read_bytes()
    for path in site:
        assert (spare_dir(output) / path).stat().st_ino == (output / path).stat().st_ino
    quick_write_placing_only_it(output, monkeypatch, "a/one/index.html", b"one, edited")
    assert {p: d for p, d in files(output).items() if p != MANIFEST} == {**site, "a/one/index.html": b"one, edited"}
    assert {p: d for p, d in files(spare_dir(output)).items() if p != MANIFEST} == site
    assert foreign_files(output, read_manifest(output)) == []
    (output / "b" / "two" / "notes.txt").write_text("mine", "utf-8")  # the folders' times were noted
    assert foreign_files(output, read_manifest(output)) == ["b/two/notes.txt"]


@pytest.mark.parametrize("lost", [False, True])
def test_a_fill_of_many_files_lets_go_of_their_list_and_the_manifests_text_before_it_needs_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lost: bool
) -> None:
    """The spare fill runs while the build is at its largest. Once the files are placed, the paths
    it was sent (after a cold build, every file of the site) are let go before the live manifest is
    read, and the manifest's text before the folders' times are taken; with that many files, those
    of every folder are, and a file put into any of them later is found. (`lost`: a file gone from
    the live tree, which the spare's manifest leaves out.)"""
    monkeypatch.setattr(spare_fill, "FEW_TOUCHED", 3)
    output = tmp_path / "site"
    site = {f"{n}/story-{n}/index.html": f"page {n}".encode() for n in range(6)} | {"index.html": b"home"}
    write_site([Output(p, d) for p, d in site.items()], output)
    if lost:
        (output / "5/story-5/index.html").unlink()
    sent: list[weakref.ref] = []
    texts: list[weakref.ref] = []

    class Text(str):  # (a str that can be watched)
        pass

    def manifest_read(output: Path) -> tuple[str, list[str]]:
        assert sent[0]() is None, "the paths sent are still held"
        text, paths = live_manifest(output)
        watched = Text(text)
        texts.append(weakref.ref(watched))
        return watched, paths

    def stamps_saved(tree: Path, files: object, touched: object) -> None:
        assert texts[0]() is None, "the manifest's text is still held"
        assert touched is None
        save_stamps(tree, files, touched)

    monkeypatch.setattr(spare_fill, "live_manifest", manifest_read)
    monkeypatch.setattr(spare_fill, "save_stamps", stamps_saved)
    monkeypatch.setattr(spare, "save_stamps", stamps_saved)

    def lag() -> SpareLag:
        made = SpareLag([], list(site), [])
        sent.append(weakref.ref(made))
        return made

    placed = fill_spare(output, lag())  # (not in an assert, whose rewriting would keep the lag)
    assert placed == len(site) - lost
    assert len(texts) == 1
    expected = read_manifest(output)
    if lost:
        del expected["5/story-5/index.html"]
    assert read_manifest(spare_dir(output)) == expected
    spare_tree = spare_dir(output)
    assert foreign_files(spare_tree, expected) == []
    for n in range(6 - lost):  # every folder's time was taken
        (spare_tree / f"{n}/story-{n}/notes.txt").write_text("mine", "utf-8")
        assert foreign_files(spare_tree, expected) == [f"{n}/story-{n}/notes.txt"]
        (spare_tree / f"{n}/story-{n}/notes.txt").unlink()


_PARTS = st.text(st.characters(blacklist_characters="/\x00"), min_size=1).filter(lambda part: part not in {".", ".."})


@settings(max_examples=300, deadline=None)
@given(
    files=st.dictionaries(
        st.lists(_PARTS, min_size=1, max_size=4).map("/".join),
        st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    ),
    errors=st.lists(st.text() | st.just('x"files": {"a": "b"}, "version": 1}')),
)
# A newline ends a file name: a regex `$` matched before it, which read such a path as one with an
# empty part (a manifest with it, as not ours).
@example(files={"\n": "0" * 32, "a/\n": "1" * 32}, errors=[])
def test_the_paths_read_from_a_manifests_text_are_those_it_lists(files: dict[str, str], errors: list[str]) -> None:
    """The spare fill reads the paths straight from the manifest's text: the keys JSON would give,
    in order, whatever the paths (quotes, backslashes, any character) and the errors hold."""
    text = json.dumps({"version": MANIFEST_VERSION, "files": files, "errors": errors}, sort_keys=True)
    assert _manifest_paths(text) == list(json.loads(text)["files"])
    assert _manifest_paths(json.dumps({"files": files, "version": 0}, sort_keys=True)) is None
    assert _manifest_paths(json.dumps({"files": files, "version": 1}, indent=1, sort_keys=True)) is None


@settings(max_examples=300, deadline=None)
@given(
    files=st.dictionaries(st.text(), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
    errors=st.lists(st.text()),
    part=st.integers(1, 5),
)
def test_a_manifest_written_in_parts_is_the_text_json_gives_whole(
    files: dict[str, str], errors: list[str], part: int
) -> None:
    """What the spare fill and every later build read (`_manifest_paths`, json): the same text
    json.dumps gives for the whole manifest with sorted keys, whatever the paths and errors."""
    whole = json.dumps({"version": MANIFEST_VERSION, "files": files, "errors": errors}, sort_keys=True)
    assert "".join(manifest_text(files, errors, part)) == whole


def test_a_manifest_is_written_without_its_whole_text_in_memory(tmp_path: Path) -> None:
    """A site's manifest lists every file (16 MB of text at 100,000 articles): it is written a part
    at a time, not made whole with a copy in UTF-8 and a sorted list of every path and digest."""
    files = {f"{n % 997:04d}/story-{n:06d}/index.html": file_digest(str(n).encode()) for n in range(60_000)}
    tracemalloc.start()
    try:
        write_manifest(tmp_path, files, ["an error"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = (tmp_path / MANIFEST).read_text("utf-8")
    assert json.loads(text) == {"version": MANIFEST_VERSION, "files": files, "errors": ["an error"]}
    assert _manifest_paths(text) == sorted(files)
    assert peak < len(text) / 3, (peak, len(text))  # whole, the text alone is len(text)


def test_filling_the_spare_reads_a_manifest_written_otherwise_whole(tmp_path: Path) -> None:
    output = tmp_path / "site"
    site = {"index.html": b"home", "a/one/index.html": b"one"}
    write_site([Output(p, d) for p, d in site.items()], output)
    manifest = json.loads((output / MANIFEST).read_text("utf-8"))
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2), "utf-8")  # not as the writer writes it
    assert _manifest_paths((output / MANIFEST).read_text("utf-8")) is None
    assert fill_spare(output) == len(site)
    assert read_manifest(spare_dir(output)) == read_manifest(output) == manifest["files"]


def test_filling_the_spare_leaves_out_of_its_manifest_what_it_cannot_link(tmp_path: Path) -> None:
    output = tmp_path / "site"
    write_site([Output("index.html", b"home"), Output("a/one/index.html", b"one")], output)
    (output / "a" / "one" / "index.html").unlink()  # deleted by hand: the next full build puts it back
    assert fill_spare(output) == 1
    assert read_manifest(spare_dir(output)) == {"index.html": read_manifest(output)["index.html"]}


def test_a_spare_fill_holds_the_build_lock_until_it_ends_should_the_build_die_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process filling the spare is handed the build lock: a build killed meanwhile (its
    descriptor closed, the lock never let go) leaves no other build to start on the folder before
    the fill has ended, and then the spare is whole."""
    output = tmp_path / "site"
    site = {"index.html": b"home", "a/one/index.html": b"one"}
    write_site([Output(p, d) for p, d in site.items()], output)
    monkeypatch.setattr(spare_fill.sys, "executable", str(wrapped_python(tmp_path, "sleep 1")))
    lock = os.open(tmp_path / ".site.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    fill = SpareFill(output, lock)
    os.close(lock)  # the build is gone
    with pytest.raises(BroadsheetError, match="another build"), build_lock(output):
        pass
    with fill:  # (waits for it)
        pass
    with build_lock(output):
        assert read_manifest(spare_dir(output)) == read_manifest(output)


def test_filling_the_spare_leaves_a_spare_that_is_there_as_it_is(tmp_path: Path) -> None:
    """After a swap with an older site, that site is the spare, its files its own: the next build
    that rewrites the site rewrites them where they are, rather than making new ones."""
    output = tmp_path / "site"
    two_generations(output)
    write_site([Output("index.html", b"home, third"), Output("a/one/index.html", b"one")], output)
    before = read_manifest(spare_dir(output))
    assert fill_spare(output) == 0
    assert read_manifest(spare_dir(output)) == before
    assert (spare_dir(output) / "index.html").read_bytes() == b"home again"
    assert (spare_dir(output) / "index.html").stat().st_nlink == 1


def test_filling_the_spare_after_a_swap_brings_it_in_step_in_its_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Told how the site just swapped out (now the spare) differs from the live one, `fill_spare`
    copies the live bytes and times into the spare's own files where they are, links the files it
    lacks, removes those gone (and folders left empty), and seals it with the live manifest and its
    folders' times: the next quick write places only its changes."""
    output = tmp_path / "site"
    two_generations(output)
    second = read_manifest(output)
    third = {"index.html": b"home, third", "a/one/index.html": b"one", "d/new/index.html": b"new"}
    stats = write_site([Output(p, d) for p, d in third.items()], output)
    spare = spare_dir(output)
    own = (spare / "index.html").stat()
    assert (own.st_nlink, (spare / "index.html").read_bytes()) == (1, b"home again")
    lag = SpareLag.between(second, stats.digests)
    assert (lag.changed, lag.added, sorted(lag.gone)) == (
        ["index.html"],
        ["d/new/index.html"],
        ["b/two/index.html", "c.txt"],
    )
    assert fill_spare(output, lag) == 2
    assert {p: d for p, d in files(spare).items() if p != MANIFEST} == third
    assert (spare / MANIFEST).read_bytes() == (output / MANIFEST).read_bytes()
    assert not (spare / "b").exists()
    copied, live = (spare / "index.html").stat(), (output / "index.html").stat()
    assert (copied.st_ino, copied.st_nlink, copied.st_mtime_ns) == (own.st_ino, 1, live.st_mtime_ns)
    assert (spare / "d/new/index.html").stat().st_ino == (output / "d/new/index.html").stat().st_ino
    quick_write_placing_only_it(output, monkeypatch, "d/new/index.html", b"new, edited")
    assert {p: d for p, d in files(output).items() if p != MANIFEST} == {**third, "d/new/index.html": b"new, edited"}
    (output / "d" / "notes.txt").write_text("mine", "utf-8")  # the folders' times were noted
    assert foreign_files(output, read_manifest(output)) == ["d/notes.txt"]


@pytest.mark.parametrize("kind", ["pipe", "symlink"])
def test_a_pipe_or_symlink_where_the_spare_had_a_page_is_replaced_not_written_through(
    tmp_path: Path, kind: str
) -> None:
    """Neither rewriting in place nor copying into the spare's file opens a pipe put in its place (which
    would wait for a reader for ever) or follows a symlink: the page is written as a new file."""
    target, elsewhere, source = tmp_path / "spare.html", tmp_path / "elsewhere.html", tmp_path / "live.html"
    source.write_bytes(b"new")
    elsewhere.write_bytes(b"theirs")
    if kind == "pipe":
        os.mkfifo(target)
    else:
        target.symlink_to(elsewhere)
    done: list[tuple[bool, bool]] = []

    def replace() -> None:
        done.append((fileops.copy_over(str(source), str(target)), fileops._rewrite_unshared(target, b"new")))
        fileops.write_over(target, b"new")

    thread = threading.Thread(target=replace, daemon=True)
    thread.start()
    thread.join(10)
    assert done == [(False, False)] and not thread.is_alive()
    assert target.read_bytes() == b"new" and not target.is_symlink()
    assert elsewhere.read_bytes() == b"theirs"


def test_the_spare_reads_ahead_its_files_for_the_outputs_it_is_given(tmp_path: Path) -> None:
    """`SpareTree.read_ahead` takes output paths: those the spare's manifest lists are read in from the
    spare, unless the live tree shares them (a shared file is replaced, not rewritten where it is)."""
    output = tmp_path / "site"
    two_generations(output)
    spare = spare_dir(output)
    own, shared = spare / "index.html", spare / "a/one/index.html"
    assert (own.stat().st_nlink, shared.stat().st_nlink) == (1, 2)
    out_of_memory(own, shared)
    SpareTree(output).read_ahead(["a/one/index.html", "new/index.html", "index.html"])
    assert read_in_soon(own)
    assert pages_in_memory(shared) == [False]


@pytest.mark.parametrize("how", ["fill", "settle"])
def test_bringing_the_spare_in_step_reads_in_its_files_ahead_of_copying_into_them_and_places_every_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Bringing the spare in step (after a build, or between builds of the preview server) copies
    into its own files where they are, so it reads them in ahead, a part at a time, each before it is
    copied into (not a file the spare lacks): in parts of four here, every one of twelve pages is
    placed."""
    monkeypatch.setattr(spare_fill, "_AHEAD", 4)
    events: list[tuple[str, str]] = []
    read_ahead, copy_over = spare_fill.read_ahead, spare_fill.copy_over

    def reading(paths: Iterable[str], *, unshared_only: bool = False) -> None:
        assert unshared_only  # (a file the live tree shares is replaced: no use reading it)
        paths = list(paths)
        events.extend(("read", path) for path in paths)
        read_ahead(paths, unshared_only=unshared_only)

    def copying(source: str, target: str) -> bool:
        events.append(("copy", target))
        return copy_over(source, target)

    monkeypatch.setattr(spare_fill, "read_ahead", reading)
    monkeypatch.setattr(spare_fill, "copy_over", copying)
    output = tmp_path / "site"
    pages = [f"p{n}/index.html" for n in range(11)]
    for version in (b"first", b"second"):
        write_site([Output(p, version) for p in pages], output)
    before = read_manifest(output)  # the second version: the spare's after the next write, in files of its own
    stats = write_site([Output(p, b"third") for p in [*pages, "new/index.html"]], output)
    if how == "fill":
        assert fill_spare(output, SpareLag.between(before, stats.digests)) == 12
    else:
        assert settle_spare(output) == 12
    assert spare_in_step(output)
    spare = str(spare_dir(output)) + "/"
    own = [target for kind, target in events if kind == "copy" and target != spare + "new/index.html"]
    assert sorted(own) == sorted(spare + p for p in pages)
    for target in own:
        assert events.count(("read", target)) == 1
        assert events.index(("read", target)) < events.index(("copy", target))
    assert ("read", spare + "new/index.html") not in events
    # Not all at once: a part is read while the one before it is copied.
    assert events.index(("read", own[-1])) > events.index(("copy", own[0]))


@pytest.mark.parametrize("kernel_copy", [True, False])
@pytest.mark.parametrize(("old", "new"), [(b"a longer page than the new one", b"short"), (b"", b"x" * 70_000)])
def test_copying_into_the_spares_own_file_rewrites_it_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool, old: bytes, new: bytes
) -> None:
    """Shorter or longer, the copy is exact and keeps the file; without the kernel's copy_file_range
    it is read and written. A file some other name links to is left alone (the caller links)."""
    if not kernel_copy:
        monkeypatch.delattr(fileops.os, "copy_file_range", raising=False)
    source, target, other = tmp_path / "live", tmp_path / "spare", tmp_path / "other"
    source.write_bytes(new)
    os.utime(source, ns=(1, 1_234_567_890_123_456_789))
    target.write_bytes(old)
    inode = target.stat().st_ino
    assert fileops.copy_over(str(source), str(target))
    assert target.read_bytes() == new
    assert (target.stat().st_ino, target.stat().st_mtime_ns) == (inode, 1_234_567_890_123_456_789)
    os.link(target, other)
    source.write_bytes(b"changed")
    assert not fileops.copy_over(str(source), str(target))
    assert other.read_bytes() == target.read_bytes() == new
    lonely = tmp_path / "lonely"
    lonely.write_bytes(b"kept")
    assert not fileops.copy_over(str(tmp_path / "gone"), str(lonely))  # (gone from the live tree)
    assert not fileops.copy_over(str(source), str(tmp_path / "none"))
    assert lonely.read_bytes() == b"kept" and not (tmp_path / "none").exists()


def test_filling_the_spare_that_fails_midway_leaves_it_to_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "site"
    site = {"index.html": b"home", "a/one/index.html": b"one", "c.txt": b"c"}
    write_site([Output(p, d) for p, d in site.items()], output)
    link = spare_fill.link_new

    def failing(existing: str | Path, target: str | Path) -> bool:
        if str(target).endswith("c.txt"):
            raise OSError("disk full")
        return link(existing, target)

    monkeypatch.setattr(spare_fill, "link_new", failing)
    with pytest.raises(OSError, match="disk full"):
        fill_spare(output)
    assert spare_dir(output).is_dir() and read_manifest(spare_dir(output)) == {}
    monkeypatch.setattr(spare_fill, "link_new", link)
    write_changes([Output("c.txt", b"new c")], forked_check(output, monkeypatch))
    assert {p: d for p, d in files(output).items() if p != MANIFEST} == {**site, "c.txt": b"new c"}
    assert read_manifest(spare_dir(output)).keys() == site.keys()


@given(st.lists(st.text(alphabet="a./\0", max_size=6), max_size=4))
@example(["a", "b/c", "./d"])
@example(["a/b/..", "c"])
@example(["\0a"])
def test_a_manifest_lists_only_paths_whose_every_part_names_a_file(paths: list[str]) -> None:
    """No part of a path (between slashes, or NUL, which would cut a file name short) is empty,
    "." or "..": then it stays inside its tree."""
    parts = [part for path in paths for part in re.split("[/\0]", path)]
    assert _within(paths) == all(part not in ("", ".", "..") for part in parts)


@pytest.mark.parametrize("tampered", ["live", "spare"])
def test_a_manifest_naming_a_file_outside_its_tree_is_not_ours_and_that_file_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tampered: str
) -> None:
    """Files are linked, replaced and removed by the paths the manifests list: one altered to lead
    outside its tree (the output folder may lie somewhere less guarded than the project) is read as
    no manifest, by every way a build reads one, and the file it names is not touched."""
    output = tmp_path / "site"
    site = two_generations(output)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", "utf-8")
    tree = output if tampered == "live" else spare_dir(output)
    manifest = json.loads((tree / MANIFEST).read_text("utf-8"))
    for outside in ("/etc/passwd", "a//b", "a/./b", "a/..", ""):  # each, alone, makes the manifest not ours
        text = json.dumps({**manifest, "files": {**manifest["files"], outside: "0" * 32}}, sort_keys=True)
        assert files_of(json.loads(text)) == {} and _manifest_paths(text) is None
    manifest["files"]["../victim.txt"] = file_digest(b"other")
    (tree / MANIFEST).write_text(json.dumps(manifest, sort_keys=True), "utf-8")
    assert read_manifest(tree) == {}
    assert _manifest_paths((tree / MANIFEST).read_text("utf-8")) is None
    if tampered == "live":
        (spare_dir(output) / MANIFEST).unlink()
        spare_dir(output).rename(tmp_path / "aside")
        assert fill_spare(output) == 0
        check = TreeCheck(output)
        assert check.live == {}  # (nothing to bring in step: no process forked)
        with pytest.raises(write.MissingOutput):
            write_changes([Output("c.txt", b"new c")], check)
        with pytest.raises(BroadsheetError, match="did not write"):  # every file of it is someone else's now
            write_site([Output(p, d) for p, d in site.items()], output)
    else:
        write_changes([Output("c.txt", b"new c")], forked_check(output, monkeypatch))
        write_site([Output(p, d) for p, d in site.items()], output)
        assert {p: d for p, d in files(output).items() if p != MANIFEST} == site
    assert victim.read_text("utf-8") == "keep me"


def test_a_file_whose_name_is_a_newline_is_ours_to_rebuild(tmp_path: Path) -> None:
    """A content file named "\\n" (copied to the site as it is), listed last in the manifest, was read
    as a path with an empty part: the manifest as not ours, and every rebuild refused."""
    output = tmp_path / "site"
    write_site([Output("index.html", b"home"), Output("~/\n", b"x")], output)
    assert read_manifest(output).keys() == {"index.html", "~/\n"}
    write_site([Output("index.html", b"home, again"), Output("~/\n", b"x")], output)
    assert (output / "index.html").read_bytes() == b"home, again"


def test_write_changes_swaps_in_the_changes_and_puts_back_what_the_spare_lost(tmp_path: Path) -> None:
    output = tmp_path / "site"
    second = two_generations(output)
    (spare_dir(output) / "c.txt").unlink()
    kept = stat_of(output / "b" / "two" / "index.html")
    stats = write_changes([Output("a/one/index.html", b"one, edited")], TreeCheck(output), gone=["c.txt"])
    expected = {**second, "a/one/index.html": b"one, edited"}
    del expected["c.txt"]
    assert {p: d for p, d in files(output).items() if p != MANIFEST} == expected
    assert read_manifest(output).keys() == expected.keys()
    assert stat_of(output / "b" / "two" / "index.html") == kept  # the same file, linked: not rewritten
    assert (stats.written, stats.removed, stats.swapped) == (1, 1, True)
    # The tree that went out of service is the version before, whole: the next quick write starts there.
    assert {p: d for p, d in files(spare_dir(output)).items() if p != MANIFEST} == second


def test_write_changes_refuses_to_swap_away_files_that_are_not_ours(tmp_path: Path) -> None:
    output = tmp_path / "site"
    two_generations(output)
    (output / "theirs.txt").write_text("mine", "utf-8")
    with pytest.raises(BroadsheetError, match="did not write"):
        write_changes([Output("c.txt", b"new c")], TreeCheck(output))
    assert (output / "c.txt").read_bytes() == b"c" and (output / "theirs.txt").is_file()


# --- settle_spare ---------------------------------------------------------------------------------


def test_settling_copies_what_differs_into_the_spare_where_it_is_and_swaps_nothing(tmp_path: Path) -> None:
    output = tmp_path / "site"
    second = two_generations(output)
    live = {path: stat_of(output / path) for path in second}
    own = (spare_dir(output) / "index.html").stat().st_ino  # the first build's, linked from nowhere else
    assert settle_spare(output) == 1  # only index.html differs in the spare
    assert spare_in_step(output)
    assert {path: stat_of(output / path) for path in second} == live  # the live tree untouched
    # Rewritten where it was, not linked: the next build that rewrites the site rewrites it in place too.
    assert (spare_dir(output) / "index.html").stat().st_ino == own != live["index.html"][0]
    assert settle_spare(output) == 0  # in step: nothing to do


def test_settling_makes_a_spare_where_there_is_none(tmp_path: Path) -> None:
    output = tmp_path / "site"
    write_site([Output("index.html", b"home"), Output("a/one/index.html", b"one")], output)
    assert not spare_dir(output).exists() or not read_manifest(spare_dir(output))
    assert settle_spare(output) == 2
    assert spare_in_step(output)
    kept = stat_of(output / "index.html")
    # The next quick write has only its own change to place, and swaps it in; the page it did not
    # change keeps its time (the copy's is the original's), so deploys see one changed file.
    stats = write_changes([Output("a/one/index.html", b"one, edited")], TreeCheck(output))
    assert (stats.written, stats.swapped) == (1, True)
    assert (output / "a/one/index.html").read_bytes() == b"one, edited"
    assert (output / "index.html").read_bytes() == b"home"
    assert (output / "index.html").stat().st_mtime_ns == kept[1]


def test_settling_leaves_a_site_with_build_errors_and_a_busy_folder_alone(tmp_path: Path) -> None:
    output = tmp_path / "site"
    two_generations(output)
    spare_before = files(spare_dir(output))
    record_failed_build(output, ["content/x.md: broken"])
    assert settle_spare(output) == 0
    assert files(spare_dir(output)) == spare_before
    with build_lock(output), pytest.raises(BroadsheetError, match="running"):
        settle_spare(output)


def test_settling_copies_only_regular_files(tmp_path: Path) -> None:
    output = tmp_path / "site"
    second = two_generations(output)
    (output / "index.html").unlink()
    os.mkfifo(output / "index.html")  # a pipe where a page was: reading it would wait for ever
    with pytest.raises(OSError, match="not a regular file"):
        settle_spare(output)
    (output / "index.html").unlink()
    (output / "index.html").symlink_to(tmp_path / "elsewhere.html")
    (tmp_path / "elsewhere.html").write_bytes(second["index.html"])
    with pytest.raises(OSError):
        settle_spare(output)
    assert not read_manifest(spare_dir(output))  # left to be made again by the next build

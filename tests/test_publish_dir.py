"""`broadsheet publish --to DIR` and the rsync publisher, against real folders, the system rsync
and a real rsync daemon on 127.0.0.1: new and changed files go first, pages last, files that an
earlier publish wrote and the site dropped are removed, and nothing else ever is."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from publish_support import article_files, build_project, make_project, site_files, snapshot

from broadsheet.errors import BroadsheetError
from broadsheet.locks import build_lock, reading_lock
from broadsheet.publish import PublishOptions, publish, target_kind
from broadsheet.publish.record import RECORD
from broadsheet.publish.result import pages_last
from broadsheet.publish.rsync import delete_command, destination, upload_commands

DROPPED = "content/2024/07/observatory-open-night.md"

FOREIGN = {
    "index.php": b"<?php // the host's own file\n",
    "cgi-bin/hello.sh": b"#!/bin/sh\necho hello\n",
    "2024/notes.txt": b"a file inside a folder the site also uses\n",
    ".htaccess": b"Options -Indexes\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = make_project(tmp_path / "project")
    build_project(proj)
    return proj


def send(project: Path, to: str | Path) -> object:
    return publish(project / "site", PublishOptions(str(to)), project_root=project)


def put_foreign(target: Path) -> None:
    for rel, data in FOREIGN.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)


def assert_mirrors(target: Path, site: Path) -> None:
    published = snapshot(target)
    for rel, data in site_files(site).items():
        assert published.get(rel) == data, rel
    for rel, data in FOREIGN.items():
        assert published.get(rel) == data, f"foreign file {rel} changed"


def dropped_outputs(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return set(before) - set(after)


# --- folder mirror ------------------------------------------------------------------------------
def test_mirror_into_a_folder_with_foreign_files(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    put_foreign(target)

    result = send(project, target)

    assert_mirrors(target, project / "site")
    assert set(result.sent) == set(site_files(project / "site"))  # type: ignore[attr-defined]
    assert (target / RECORD).is_file()
    assert not (target / ".broadsheet-manifest.json").exists()  # the build's bookkeeping stays home
    mode = (target / "index.html").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def test_removes_only_what_an_earlier_publish_wrote(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    put_foreign(target)
    before = site_files(project / "site")
    send(project, target)

    (project / DROPPED).unlink()
    build_project(project)
    after = site_files(project / "site")
    gone = dropped_outputs(before, after)
    assert "2024/07/09/observatory-open-night/index.html" in gone

    result = send(project, target)

    assert set(result.removed) == gone  # type: ignore[attr-defined]
    assert_mirrors(target, project / "site")
    for rel in gone:
        assert not (target / rel).exists()
    assert not (target / "2024/07/09/observatory-open-night").exists()  # emptied folders go too
    assert (target / "2024/notes.txt").read_bytes() == FOREIGN["2024/notes.txt"]


def test_a_stale_file_edited_at_the_target_is_kept(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    send(project, target)
    page = target / "2024/07/09/observatory-open-night/index.html"
    page.write_text("edited by hand on the server", encoding="utf-8")

    (project / DROPPED).unlink()
    build_project(project)
    result = send(project, target)

    assert page.read_text("utf-8") == "edited by hand on the server"
    assert "2024/07/09/observatory-open-night/index.html" in result.kept  # type: ignore[attr-defined]


def test_an_unchanged_site_writes_nothing(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    send(project, target)
    inodes = {p: p.stat().st_ino for p in target.rglob("*") if p.is_file() and p.name != RECORD}

    result = send(project, target)

    assert result.sent == () and result.removed == ()  # type: ignore[attr-defined]
    assert {p: p.stat().st_ino for p in target.rglob("*") if p.is_file() and p.name != RECORD} == inodes


def test_changed_files_are_replaced_and_pages_come_last(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    send(project, target)
    for css in (project / "templates/static").glob("style.css"):
        css.write_text(css.read_text("utf-8") + "\n.new-rule { color: red; }\n", "utf-8")
    build_project(project)

    result = send(project, target)

    sent = list(result.sent)  # type: ignore[attr-defined]
    assert sent == pages_last(sent)
    new_css = [p for p in sent if p.startswith("static/style.") and p.endswith(".css")]
    assert new_css and all(not p.endswith(".html") for p in sent[: len(new_css)])
    first_page = min((target / p).stat().st_mtime_ns for p in sent if p.endswith(".html"))
    last_asset = max((target / p).stat().st_mtime_ns for p in sent if not p.endswith(".html"))
    assert last_asset <= first_page
    assert_mirrors_site_only(target, project / "site")


def assert_mirrors_site_only(target: Path, site: Path) -> None:
    published = snapshot(target)
    published.pop(RECORD)
    expected = site_files(site)
    # the old hashed stylesheet is stale and was removed; nothing else is there
    assert published == expected


def test_pages_last_orders_assets_before_pages() -> None:
    paths = ["index.html", "static/style.1.css", "a/index.html.gz", "feed.xml", "media/x.svg"]
    assert pages_last(paths) == ["feed.xml", "media/x.svg", "static/style.1.css", "a/index.html.gz", "index.html"]


def test_refuses_a_folder_in_the_way_before_writing_anything(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    (target / "robots.txt").mkdir(parents=True)
    (target / "robots.txt" / "keep.me").write_text("foreign", encoding="utf-8")

    with pytest.raises(BroadsheetError, match="robots.txt"):
        send(project, target)

    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["robots.txt", "robots.txt/keep.me"]


def test_refuses_targets_overlapping_the_site(project: Path) -> None:
    for target in (project / "site", project / "site" / "sub", project):
        with pytest.raises(BroadsheetError, match="outside the built site"):
            send(project, target)


def test_refuses_an_unreadable_record(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    target.mkdir()
    (target / RECORD).write_text("{not json", encoding="utf-8")
    with pytest.raises(BroadsheetError, match="earlier publishes"):
        send(project, target)


def test_publish_and_build_keep_off_each_others_site(project: Path, tmp_path: Path) -> None:
    """A build swaps the trees and rewrites the spare: a publish must not read the site meanwhile,
    nor may a build start while a publish reads it."""
    target = tmp_path / "www"
    with build_lock(project / "site"), pytest.raises(BroadsheetError, match="a build of this site is running"):
        send(project, target)
    assert not target.exists()  # refused before anything was sent
    with reading_lock(project / "site"):
        with pytest.raises(BroadsheetError, match="a publish of this site is running"):
            build_project(project)
        with reading_lock(project / "site"):  # publishes share it
            pass
    send(project, target)  # and once neither runs, both work
    published = snapshot(target)
    assert all(published.get(rel) == data for rel, data in site_files(project / "site").items())


def test_publishing_where_nothing_was_built_says_so_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(BroadsheetError, match="no built site here"):
        publish(tmp_path / "nowhere" / "site", PublishOptions(str(tmp_path / "www")), project_root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_git_options_only_go_with_git(project: Path, tmp_path: Path) -> None:
    with pytest.raises(BroadsheetError, match="--branch only apply to --to git"):
        publish(project / "site", PublishOptions(str(tmp_path / "www"), branch="x"), project_root=project)


# --- rsync ---------------------------------------------------------------------------------------
def test_target_forms() -> None:
    assert target_kind("git") == "git"
    assert target_kind("rsync://host/module/path") == "rsync"
    assert target_kind("deploy@example.org:/var/www/news") == "rsync"
    assert target_kind("example.org:news") == "rsync"
    assert target_kind("rsync:/srv/www") == "rsync"
    assert target_kind("./git") == "dir"
    assert target_kind("./a:b") == "dir"
    assert target_kind("/srv/www") == "dir"
    assert destination("deploy@example.org:/var/www/news") == "deploy@example.org:/var/www/news/"
    assert destination("rsync:/srv/www/") == "/srv/www/"
    with pytest.raises(BroadsheetError, match="absolute"):
        destination("rsync:relative/path")


def test_rsync_commands_compare_checksums_and_delete_only_listed_files(tmp_path: Path) -> None:
    upload = upload_commands("rsync", tmp_path / "site", "u@h:/www/", [tmp_path / "a.list", tmp_path / "b.list"])
    assert [c[-1] for c in upload] == ["u@h:/www/", "u@h:/www/"]
    assert all("--checksum" in c and any(a.startswith("--files-from=") for a in c) for c in upload)
    assert not any(a.startswith("--delete") for c in upload for a in c)
    delete = delete_command("rsync", tmp_path / "empty", "u@h:/www/", tmp_path / "stale.list")
    assert "--delete-missing-args" in delete and "--delete" not in delete and "--delete-after" not in delete
    assert f"--files-from={tmp_path / 'stale.list'}" in delete


def test_rsync_into_a_local_folder(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    put_foreign(target)
    before = site_files(project / "site")

    first = send(project, f"rsync:{target}")
    assert_mirrors(target, project / "site")
    assert set(first.sent) == set(before)  # type: ignore[attr-defined]

    assert send(project, f"rsync:{target}").sent == ()  # type: ignore[attr-defined]

    (project / DROPPED).unlink()
    build_project(project)
    gone = dropped_outputs(before, site_files(project / "site"))
    third = send(project, f"rsync:{target}")
    assert set(third.removed) == gone  # type: ignore[attr-defined]
    for rel in gone:
        assert not (target / rel).exists()
    assert_mirrors(target, project / "site")


@pytest.fixture
def rsync_daemon(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real rsync daemon on 127.0.0.1 with one writable module; yields (module URL, its folder)."""
    module = tmp_path / "module"
    module.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "rsyncd.conf"
    config.write_text(
        f"use chroot = false\nreverse lookup = false\nuid = {os.getuid()}\ngid = {os.getgid()}\n"
        f"pid file = {tmp_path / 'rsyncd.pid'}\n[site]\n  path = {module}\n  read only = false\n",
        encoding="utf-8",
    )
    daemon = subprocess.Popen(
        [shutil.which("rsync") or "rsync", "--daemon", "--no-detach", f"--config={config}",
         "--address=127.0.0.1", f"--port={port}", f"--log-file={tmp_path / 'rsyncd.log'}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert daemon.poll() is None and time.monotonic() < deadline, "rsync daemon did not start"
                time.sleep(0.05)
        yield f"rsync://127.0.0.1:{port}/site/", module
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_rsync_to_a_daemon(project: Path, rsync_daemon: tuple[str, Path]) -> None:
    url, module = rsync_daemon
    put_foreign(module)
    before = site_files(project / "site")

    send(project, url)
    assert_mirrors(module, project / "site")
    assert send(project, url).sent == ()  # type: ignore[attr-defined]

    article = project / "content/2024/03/harbour-dredging-plan-approved.md"
    article.write_text(article.read_text("utf-8").replace("about five months", "about six months"), "utf-8")
    (project / DROPPED).unlink()
    build_project(project)
    after = site_files(project / "site")
    result = send(project, url)

    assert set(result.sent) == {p for p in after if before.get(p) != after[p]}  # type: ignore[attr-defined]
    assert set(result.removed) == dropped_outputs(before, after)  # type: ignore[attr-defined]
    assert_mirrors(module, project / "site")
    assert not (module / "2024/07/09/observatory-open-night/index.html").exists()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_articles_exist() -> None:
    # The fixtures above rely on the sample content having these articles.
    root = Path(__file__).resolve().parents[1]
    names = {p.relative_to(root).as_posix() for p in article_files(root)}
    assert DROPPED in names

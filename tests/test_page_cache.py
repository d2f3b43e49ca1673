"""page_cache: files asked for from the disk ahead of their reads. Checked on the page cache itself
(mincore), on a file system that drops files from it when told to; skipped elsewhere."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from buildkit import out_of_memory, pages_in_memory, read_in_soon

from broadsheet import page_cache


@pytest.mark.parametrize("unshared_only", [False, True])
def test_reading_ahead_brings_in_regular_files_and_never_waits_on_a_pipe(tmp_path: Path, unshared_only: bool) -> None:
    """Asked for, a file comes into memory in the background. With `unshared_only` (the spare tree's
    files, which are rewritten where they are only when nothing else links to them), a file another
    name links to is not read. A missing file, a pipe (opening one to read would wait for a writer)
    and a symlink are passed over."""
    own, shared, linked_to = tmp_path / "own.html", tmp_path / "shared.html", tmp_path / "elsewhere.html"
    own.write_bytes(b"o" * 20_000)
    shared.write_bytes(b"s" * 20_000)
    linked_to.write_bytes(b"e" * 20_000)
    os.link(shared, tmp_path / "live.html")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "symlink").symlink_to(linked_to)
    out_of_memory(own, shared, linked_to)
    done = threading.Event()
    # (the others asked for first: read in, they would be in memory before the last)
    paths = [str(tmp_path / name) for name in ("gone", "pipe", "symlink", "shared.html", "own.html")]

    def ask() -> None:
        page_cache.read_ahead(paths, unshared_only=unshared_only)
        done.set()

    threading.Thread(target=ask, daemon=True).start()
    assert done.wait(10), "it waited on the pipe"
    assert read_in_soon(own)
    if unshared_only:
        assert pages_in_memory(shared) == [False] * 5
    else:
        assert read_in_soon(shared)
    assert pages_in_memory(linked_to) == [False] * 5


def test_a_large_file_is_asked_for_a_part_at_a_time_and_comes_in_whole(tmp_path: Path) -> None:
    """The kernel reads at most its read-ahead window for each request: every part of the file is
    asked for (here parts of three 4 kB pages)."""
    big = tmp_path / "cache.sqlite"
    big.write_bytes(os.urandom(40 * 4096 + 100))
    out_of_memory(big)
    page_cache.read_file_ahead(big, part=3 * 4096)
    assert read_in_soon(big)


def test_asking_for_what_cannot_be_read_is_no_error(tmp_path: Path) -> None:
    page_cache.read_file_ahead(tmp_path / "gone")
    page_cache.read_file_ahead(tmp_path)  # (a folder)
    os.mkfifo(tmp_path / "pipe")
    page_cache.read_file_ahead(tmp_path / "pipe")  # (not opened to wait for a writer)
    page_cache.read_ahead([str(tmp_path), str(tmp_path / "gone")])

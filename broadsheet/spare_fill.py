"""Brings the spare tree in step with the live one: after a full build, between previews, in a quick rebuild."""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from broadsheet.fileops import copy_into, copy_over, link_new, link_over, make_folder
from broadsheet.forked import forked_result, start_forked
from broadsheet.locks import build_lock
from broadsheet.manifest import MANIFEST, errors_of, files_of, live_manifest, parsed, without
from broadsheet.page_cache import parts_ahead, read_ahead
from broadsheet.spare import drop, manifests, open_spare, seal, spare_dir
from broadsheet.stamps import FEW_TOUCHED, PlainUnpickler, save_stamps


class SpareFill:
    """The spare tree of `output` made like the live tree in a process of its own (`fill_spare`),
    while the build records what it did on the core its render workers have left; otherwise the
    next quick rebuild (the first edit) does it, and waits for it:
    - where there is no spare (the build made the output folder anew), by hard links to every live
      file: every folder and file of the site, and a folder is the costliest thing to make here (at
      10,000 articles, 14,600 folders took 0.33 s and their 15,100 files' links 0.14 s);
    - after a swap with an older site, by copying the files that differ into the spare's own (see
      `copy_over`): after a template change, every page (0.6-1.4 s of the first edit's build after
      it at 10,000 articles, against 0.35 s).
    `lag` says which files those are.

    A fresh interpreter that imports only this module, not a fork of the build: the build goes on
    touching its whole heap (pickling the snapshot), which would leave the fork holding a private
    copy of all of it (46 MB at 10,000 articles). A context manager: leaving it waits for that
    process, which the build must do before it lets go of the folder; `lock`, the build lock's
    descriptor (`build_lock`), is handed to it, so that should the build be killed first, no other
    build starts on the folder before it has ended. One that fails leaves the spare without a
    manifest, to be made again by the next build, as if it had never run."""

    def __init__(self, output: Path, lock: int, lag: SpareLag | None = None) -> None:
        self._process: subprocess.Popen | None = None
        self._feeder: threading.Thread | None = None
        if not sys.executable or (spare_dir(output).exists() and not (lag and lag.files)):
            return
        package_parent = str(Path(__file__).resolve().parents[1])
        # At low priority, so that the build's own work after the swap keeps its core: the fill
        # has the rest of that time, and mostly waits on the file system.
        code = (
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "import os; os.nice(10); from broadsheet.spare_fill import fill_spare, SpareLag; "
            "fill_spare(Path(sys.argv[2]), SpareLag.read(sys.stdin.buffer))"
        )
        # -S: no site-packages (this module needs none), quicker to start.
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-c", code, package_parent, str(output)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # a failure costs nothing but the next build's time
            pass_fds=(lock,),
        )
        # Fed from a thread: the build goes on while the process starts and reads (1 MB of paths
        # at 10,000 articles after a template change).
        self._feeder = threading.Thread(target=_feed, args=(self._process.stdin, lag), daemon=True)
        self._feeder.start()

    def __enter__(self) -> SpareFill:
        return self

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if self._feeder is not None:
            self._feeder.join()
        if process is not None:
            process.wait()


def _feed(pipe: IO[bytes], lag: SpareLag | None) -> None:
    data = (lag.changed, lag.added, lag.gone) if lag else None
    with contextlib.suppress(OSError), pipe:  # (a process that died first: the next build does it)
        pickle.dump(data, pipe, pickle.HIGHEST_PROTOCOL)  # in frames, not as one bytes object


@dataclass(frozen=True)
class SpareLag:
    """How the spare tree differs from the live one just after a swap, the spare holding the site
    before it: computed from the two sites' manifests, which the build has at hand, so that the
    process bringing the spare in step need not read and hold both again."""

    changed: list[str]  # files both trees have, with other bytes in the spare
    added: list[str]  # live files the spare lacks
    gone: list[str]  # spare files the live tree lacks

    @classmethod
    def between(cls, spare: dict[str, str], live: dict[str, str]) -> SpareLag:
        changed: list[str] = []
        added: list[str] = []
        for path, digest in live.items():
            if (had := spare.get(path)) != digest:
                (added if had is None else changed).append(path)
        return cls(changed, added, [path for path in spare if path not in live])

    @property
    def files(self) -> int:
        return len(self.changed) + len(self.added) + len(self.gone)

    @classmethod
    def read(cls, stream: IO[bytes]) -> SpareLag | None:
        """What `_feed` wrote (plain lists of strings)."""
        data = PlainUnpickler(stream).load()
        return cls(*data) if data else None


def fill_spare(output: Path, lag: SpareLag | None = None) -> int:
    """Make the spare tree of `output` like the live tree (see `SpareFill`), `lag` saying how they
    differ (the build's: the site just swapped out is the spare, if any): files the spare lacks are
    linked, those it has (`_mirror_all`) brought in step, and those gone removed. Without `lag`,
    only a missing spare is made, of every file the live manifest lists. The number of files
    placed. Only from a process with one thread (see `start_forked`), and while a build holds the
    folder's lock.

    This process runs while the build is at its largest, and holds one list of paths at a time:
    the live manifest is read once the files are placed, and only its paths, not its digests: the
    spare's manifest is the live one's text, unless a file could not be placed (a parsed manifest
    and its JSON made again took this process to 162 MB at 100,000 articles; while it links, its two
    processes hold 45 MB, against 58 MB with the manifest's text and paths read first). When many
    files were placed, the paths it was sent are let go before the manifest is read, and the
    manifest's text before the folders' times are taken: after a cold build at 100,000 articles it
    peaked at 69-73 MB rather than 97 MB."""
    spare = spare_dir(output)
    made = not spare.exists()
    if lag is None:
        if not made:
            return 0
        lag = SpareLag([], live_manifest(output)[1], [])
    elif not made and not (spare / MANIFEST).is_file():
        return 0  # (one without a manifest is made again by the next build)
    if not lag.files:
        return 0
    if made:
        spare = open_spare(output, {})
    else:
        (spare / MANIFEST).unlink()  # from here on the spare is "being updated"
    have = () if made else _EVERY_PATH
    failed = _mirror_all(output, spare, lag.changed, have) + _mirror_all(output, spare, lag.added, ())
    placed = len(lag.changed) + len(lag.added) - len(failed)
    dropped = drop(spare, lag.gone)
    # With that many, the folder times are taken of every folder (None), not of those touched: then
    # the lag's paths (every file of the site after a cold build) are let go before the manifest is read.
    many = len(lag.changed) + len(lag.added) + len(dropped) >= FEW_TOUCHED
    touched = None if many else [*lag.changed, *lag.added, *dropped]
    del lag, dropped
    _seal_as_live(output, spare, failed, touched)
    return placed


class _Everything:
    def __contains__(self, path: object) -> bool:
        return True


_EVERY_PATH: Container[str] = _Everything()  # the files a spare has, for paths it is known to have


def _seal_as_live(output: Path, spare: Path, failed: list[str], touched: list[str] | None) -> None:
    """Seal the spare with the live manifest, less the files that could not be placed (`failed`),
    and the times of the folders `touched` (of every folder when None)."""
    text, paths = live_manifest(output)
    if not paths:
        return
    if failed:
        data = parsed(text)
        del text
        seal(spare, without(files_of(data), failed), {}, touched, errors_of(data) or [])
    else:
        (spare / MANIFEST).write_text(text, "utf-8")
        del text  # (the folders' times need only the paths)
        save_stamps(spare, paths, touched)


def settle_spare(output: Path) -> int:
    """Bring the spare tree in step with the live one now, which the next quick rebuild would
    otherwise do first (after a build that rewrote the site: every file, 1.1 s of the first edit at
    10,000 articles). For the preview server, to do between a build and the next edit.

    Each file that differs gets the live file's bytes and modification time, copied (into the
    spare's own file where it has one, by the kernel: `copy_over`): not a hard link, as a quick
    rebuild's check makes for a file the spare lacks, so that the spare's files stay its own and the
    next build that rewrites the site (a template edit) rewrites them where they are, rather than
    making a new file for each. The number of files copied; 0 when the trees are in step already or
    the live tree's build recorded errors. Raises BroadsheetError while a build or publish holds the folder, and
    OSError when a live file cannot be read (the spare is then left without a manifest, to be made
    again by the next build)."""
    with build_lock(output):
        live, live_errors, have = manifests(output)
        if not live or live_errors != [] or have == live:
            return 0
        spare = open_spare(output, have)
        differ = _differing(live, have)
        source, target = str(output) + "/", str(spare) + "/"
        # In one thread: four took longer here (1.8–2.1 s at 10,000 articles, not 1.4, when every
        # file was copied through Python's reads and writes).
        for path in _read_ahead(differ, have, target):
            if not copy_over(source + path, target + path):
                copy_into(output / path, spare / path)  # new to the spare, or shared: a file of its own
        seal(spare, live, have, differ, live_errors)  # the live tree's files: nothing to swap in
        return len(differ)


def bring_in_step(
    output: Path, live: dict[str, str], live_errors: list[str] | None, have: dict[str, str]
) -> tuple[set[str], list[str]]:
    """Make the spare the live tree again (`_mirror_all`), and seal it so: the files placed, and
    those that could not be (gone from the live tree), which are left out of its manifest. A quick
    rebuild's forked `TreeCheck` does this while the build parses and renders, rather than the
    build placing every file that differs once it has rendered: when the build before rewrote the
    site and no `SpareFill` brought the spare in step after it, that is every file."""
    differ = _differing(live, have)
    if not differ and have.keys() <= live.keys():
        return set(), []
    spare = open_spare(output, have)
    failed = _mirror_all(output, spare, differ, have)
    seal(spare, without(live, failed), have, list(differ), live_errors or [])
    return set(differ), failed


def _mirror_all(output: Path, spare: Path, paths: list[str], have: Container[str]) -> list[str]:
    """`_mirror_into` for `paths`, half of them in a second process from `_TWO_PROCESSES_FROM` on."""
    source, target = str(output) + "/", str(spare) + "/"  # strings: this runs once per file
    if len(paths) < _TWO_PROCESSES_FROM:
        return _mirror_into(paths, have, source, target)
    # (the two halves share a few parent folders, which `make_folder` may find made)
    half = len(paths) // 2
    other = start_forked(lambda: _mirror_into(paths[:half], have, source, target))
    try:
        failed = _mirror_into(paths[half:], have, source, target)
    finally:
        failed = forked_result(other) + failed  # (raises if that process failed: no manifest then)
    return failed


def _differing(live: dict[str, str], have: dict[str, str]) -> list[str]:
    """The live tree's files that the spare (`have`) lacks or holds other bytes for."""
    return [path for path, digest in live.items() if have.get(path) != digest]


# From this many files on, a second process places half the files: the system calls that make
# folders and links take most of the time, and they run on both cores (15,000 files of the
# benchmark's site took 0.27-0.28 s so, 0.44-0.48 s in one process).
_TWO_PROCESSES_FROM = 2048


def _mirror_into(paths: Sequence[str], have: Container[str], source: str, target: str) -> list[str]:
    """Each file of `paths` under `source` placed at the same path under `target` (the spare, whose
    files are `have`): copied into the spare's own file where it has one (`copy_over`), else
    linked; those that could not be placed."""
    made: set[str] = set()
    failed: list[str] = []
    for path in _read_ahead(paths, have, target):
        if path in have:
            placed = copy_over(source + path, target + path) or link_over(source + path, target + path)
        else:
            folder = path.rpartition("/")[0]
            if folder not in made:
                make_folder(target + folder)
                made.add(folder)
            placed = link_new(source + path, target + path)
        if not placed:
            failed.append(path)
    return failed


def _read_ahead(paths: Sequence[str], have: Container[str], target: str) -> Iterator[str]:
    """`paths` one at a time, the spare's files (`have`, under `target`) of the next part of them read
    in meanwhile (page_cache): copied into where they are, their last pages would otherwise be read
    one file at a time. (Not those the live tree shares, which are replaced.)"""
    for part, ahead in parts_ahead(paths, _AHEAD):
        read_ahead((target + path for path in ahead if path in have), unshared_only=True)
        yield from part


_AHEAD = 256  # files (see `_read_ahead`)

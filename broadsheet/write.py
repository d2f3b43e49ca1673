"""Writes a build's files into the output folder. This module and those it uses for each part of the
job (manifest, spare, spare_fill, fileops, swap, stamps, guards, locks, forked) are the only ones that
touch the output folder (besides page_cache, which only asks for files to be read).

A build is written into a spare tree beside the output and then swapped in with one atomic rename
(renameat2 RENAME_EXCHANGE), so a reader (or a killed build) sees either the old site or the new
one, never a mix. The spare is the previous version, updated in place with only what changed, so a
small edit to a large site writes a few files. (A reader still inside the old tree when the next
build starts sees that build's edits, even in a file it holds open: the guarantee holds per build, as
for any two-tree server.)
A manifest of what Broadsheet wrote marks a folder as ours; a folder without one is never replaced.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Collection, Container, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.fileops import link_new, link_over, make_folder, write_new, write_over
from broadsheet.forked import forked_result, start_forked
from broadsheet.guards import foreign_files, refuse, refuse_foreign_files
from broadsheet.manifest import MANIFEST, file_digest, read_manifest, without
from broadsheet.output import Output, Placed
from broadsheet.page_cache import read_ahead
from broadsheet.spare import manifests, open_spare, seal, spare_dir
from broadsheet.spare_fill import bring_in_step
from broadsheet.swap import swap_in


@dataclass(frozen=True)
class WriteStats:
    files: int
    written: int
    unchanged: int
    removed: int
    swapped: bool
    digests: dict[str, str] = field(default_factory=dict, repr=False)  # path -> digest of every file


class MissingOutput(Exception):
    """An output the build meant to keep is no longer in the output folder (someone changed it)."""


def write_site(outputs: Iterable[Output], output: Path, *, errors: Sequence[str] = ()) -> WriteStats:
    """Bring the spare tree up to date with `outputs`, then swap it with `output` in one atomic rename
    (see SpareTree)."""
    return SpareTree(output).write(outputs, errors=errors)


_FOLDERS_KEPT = 1024


class SparePart:
    """Puts rendered files into the spare tree (`place`), knowing the live and spare manifests'
    digests of the files it is given: all of them in a SpareTree, a batch's in `SpareTree.part`."""

    def __init__(self, output: Path, spare: Path, live: dict[str, str], have: dict[str, str]) -> None:
        self.output, self.spare, self.live, self.have = output, spare, live, have
        self._prefix = str(spare) + "/"  # strings, not Paths: this runs once per file of the site
        # Folders made here lately. Not every one: in a cold build, about as many as files (a page
        # to a folder), 4 MB at 100,000 articles held to the end. Pages of one folder come close
        # together; a folder forgotten and met again costs one failed mkdir.
        self._made_dirs: set[str] = set()

    def _where(self, path: str, digest: str) -> tuple[Path, Path | None, bool] | None:
        """Where these bytes go in the spare: the file, the live tree's copy to link when it has them,
        and whether the spare is new to the path (its folder made here). None when the spare has them
        already (one stat: a file deleted there is written again)."""
        if self.have.get(path) == digest and os.path.exists(self._prefix + path):
            return None
        is_new = path not in self.have
        parent = path.rpartition("/")[0]
        if is_new and parent not in self._made_dirs:
            make_folder(self._prefix + parent)
            if len(self._made_dirs) >= _FOLDERS_KEPT:
                self._made_dirs.clear()
            self._made_dirs.add(parent)
        same_as_live = self.output / path if self.live.get(path) == digest else None
        return self.spare / path, same_as_live, is_new

    def read_ahead(self, paths: Iterable[str]) -> None:
        """Start reading, in the background, the spare's files for these outputs that placing their new
        bytes will rewrite where they are (`write_over`, which makes the write read the page its
        bytes end in when that has left memory): for a batch of pages about to be rendered. Not a
        file the live tree shares, which is replaced by a new one."""
        have = self.have
        read_ahead((self._prefix + path for path in paths if path in have), unshared_only=True)

    def place(self, path: str, data: bytes) -> Placed:
        """Put a rendered file into the spare now, in this process, and say what it took."""
        digest = file_digest(data)
        where = self._where(path, digest)
        if where is None:
            return Placed(digest, touched=False)
        target, same_as_live, is_new = where
        _place(path, target, data, same_as_live, is_new)
        return Placed(digest, touched=True)


class SpareTree(SparePart):
    """The spare tree of `output`, opened for a build that goes through every output.

    Two trees take turns (blue/green): the live `output` and a spare holding the version before it.
    The spare is never served, so it is updated in place, touching only files that differ from its
    own manifest: a rebuild costs what changed, not the size of the site. A file the live tree
    shares (as a hard link, which also keeps its modification time, so deploys see only real
    changes) is replaced by a new file, never rewritten; one only the spare holds is rewritten where
    it is. A spare caught half-updated by a crash has no manifest and is rebuilt from scratch next
    time.

    Pages are put in by `place` where they are rendered: in render workers too (through `part`), so
    their bytes never travel to this process. `write` takes every output (those placed, by their digest)
    and swaps the spare in."""

    def __init__(self, output: Path) -> None:
        live, self.live_errors, have = manifests(output)
        super().__init__(output, open_spare(output, have), live, have)

    def part(self, paths: Sequence[str]) -> SparePart:
        """What placing these files needs, for a process that does not share this one's memory:
        the two manifests' entries for them, not the whole site's."""
        live, have = self.live, self.have
        return SparePart(
            self.output,
            self.spare,
            {p: live[p] for p in paths if p in live},
            {p: have[p] for p in paths if p in have},
        )

    def write(self, outputs: Iterable[Output], *, errors: Sequence[str] = ()) -> WriteStats:
        """Every output of the site, streamed (never all held in memory), then the swap. An output
        with `keep` must match the file in `output` per its manifest (MissingOutput if that file is
        gone). `errors` (from a --keep-going build) go into the manifest so that `publish` refuses
        such a site."""
        digests: dict[str, str] = {}
        touched: list[str] = []  # files of the spare written, linked or removed
        with _Placer() as placer:
            for item in outputs:
                path = item.path
                if path in digests:
                    raise BroadsheetError(f"two outputs want the same file {path!r}", path=path)
                if item.placed is not None:
                    digests[path] = item.placed.digest
                    if item.placed.touched:
                        touched.append(path)
                    continue
                data = item.data
                if item.keep is not None:
                    digest = item.keep
                else:
                    if data is None:
                        data = item.source.read_bytes()  # type: ignore[union-attr]
                    digest = file_digest(data)
                digests[path] = digest
                where = self._where(path, digest)
                if where is None:
                    continue
                target, same_as_live, is_new = where
                placer.place(path, target, data, same_as_live, is_new)
                touched.append(path)
        return _finish(self.spare, self.output, digests, self.have, touched, self.live, self.live_errors, errors)


class TreeCheck:
    """The two trees as a quick rebuild needs them checked: the files the spare is missing, and the
    files in the live tree that are not ours. Each is one stat per file or folder of the site, the
    largest part of a small rebuild of a large site, so a forked process looks while this one goes
    on (parsing and rendering), once it has brought the spare in step with the live tree
    (`bring_in_step`). Start it early; `result()` waits for the answer."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.live, self.live_errors, self.have = manifests(output)
        self._answer: tuple[set[str], list[str]] | None = None
        self._child: tuple[int, int] | None = None  # (pid, pipe to read)
        # Only from a process with one thread (the `broadsheet build` command): a child forked from
        # a threaded one (the preview server) may find a lock held by a thread it does not have.
        if self.live and hasattr(os, "fork") and threading.active_count() == 1:
            self._fork()

    def _fork(self) -> None:
        self._child = start_forked(self._in_child)

    def _in_child(self) -> tuple[set[str], list[str], list[str]]:
        placed, failed = bring_in_step(self.output, self.live, self.live_errors, self.have)
        self.have = without(self.live, failed)
        return (*self._look(placed), failed)

    def _look(self, placed: Container[str] = ()) -> tuple[set[str], list[str]]:
        """What `result` says, for a spare whose files `placed` were just put there."""
        prefix = str(spare_dir(self.output)) + "/"
        missing = {path for path in self.have if path not in placed and not os.access(prefix + path, os.F_OK)}
        return missing, foreign_files(self.output, self.live)

    def spare_files(self) -> dict[str, str]:
        """The spare's manifest (`have`), once the forked process, which brings the spare in step
        with the live tree, is done with it."""
        self._collect()
        return self.have

    def result(self) -> tuple[set[str], list[str]]:
        """(files of the spare's manifest that are not there, files in the live tree not ours)."""
        self._collect()
        if self._answer is None:  # no child, or it died midway: looked at here
            self._answer = self._look()
        return self._answer

    def _collect(self) -> None:
        if self._child is None:
            return
        child, self._child = self._child, None
        try:
            missing, foreign, failed = forked_result(child)
        except Exception:  # noqa: BLE001 - the child died midway: the spare is as its manifest says
            self.have = read_manifest(spare_dir(self.output))
            return
        self.have = without(self.live, failed)
        self._answer = missing, foreign

    def close(self) -> None:
        """Reap the child if its answer was never asked for."""
        self._collect()


def write_changes(changes: Sequence[Output], check: TreeCheck, gone: Collection[str] = ()) -> WriteStats:
    """The live site with only `changes` (outputs with their bytes) and the files `gone` different,
    swapped in like `write_site` does it, at the cost of the changes: the spare is brought up to
    date from the two manifests (it differs from the live tree in what the build before changed,
    and in these), without going through every output; where the check's forked process has
    brought it in step already, only these are placed. For a build that knows every other file
    stays as it is. `check` holds the manifests, and looks at the trees."""
    output, live = check.output, check.live
    if not live:
        raise MissingOutput(MANIFEST)
    have = check.spare_files()
    digests = {path: digest for path, digest in live.items() if path not in gone} if gone else dict(live)
    data_of: dict[str, bytes] = {}
    for item in changes:
        assert item.data is not None, item.path
        digests[item.path] = file_digest(item.data)
        data_of[item.path] = item.data
    spare = spare_dir(output)
    if not have:  # no spare in step with the live tree: make one the long way
        return write_site(
            (Output(p, data_of[p]) if p in data_of else Output(p, keep=d) for p, d in digests.items()), output
        )
    missing, foreign = check.result()
    (spare / MANIFEST).unlink()  # from here on the spare is "being updated"
    # As in write_site, a file deleted from the spare is put back.
    touched = [path for path, digest in digests.items() if have.get(path) != digest or path in missing]
    with _Placer() as placer:
        for path in touched:
            if path not in have:
                make_folder(str(spare / path.rpartition("/")[0]))
            same_as_live = output / path if live.get(path) == digests[path] else None
            placer.place(path, spare / path, data_of.get(path), same_as_live, path not in have)
    return _finish(spare, output, digests, have, touched, live, check.live_errors, (), foreign=foreign)


def _finish(
    spare: Path,
    output: Path,
    digests: dict[str, str],
    have: dict[str, str],
    touched: list[str],
    live: dict[str, str],
    live_errors: list[str] | None,
    errors: Sequence[str],
    foreign: list[str] | None = None,
) -> WriteStats:
    """Drop what the spare has and the new site does not, seal the spare with its manifest, and
    swap it in (unless it is the same as the live tree, `live` and `live_errors` its manifest's)."""
    seal(spare, digests, have, touched, errors)
    removed = len(live.keys() - digests.keys())
    changed = sum(1 for path, digest in digests.items() if live.get(path) != digest)
    unchanged = len(digests) - changed
    if output.is_dir() and changed == 0 and removed == 0 and live_errors == list(errors):
        return WriteStats(len(digests), 0, unchanged, 0, swapped=False, digests=digests)
    if foreign is None:
        refuse_foreign_files(output, live)
    else:
        refuse(output, foreign)
    swap_in(spare, output)
    return WriteStats(len(digests), changed, unchanged, removed, swapped=True, digests=digests)


class _Placer:
    """Puts files into the spare tree on a few threads. Creating and renaming files is mostly
    waiting on the file system, which releases the GIL: the build renders on while they land.
    (A file that is only linked is linked at once, here.) The first failure is raised (by `place`
    or on leaving), after every pending write has ended."""

    _IN_FLIGHT = 64  # files handed over and not yet written: bounds the bytes held

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()

    def __enter__(self) -> _Placer:
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="broadsheet-write")
        return self

    def place(self, path: str, target: Path, data: bytes | None, same_as_live: Path | None, is_new: bool) -> None:
        assert self._pool is not None
        if data is None:
            # Only a link to make (a file kept from the live tree): made here. Handed to the threads,
            # links contended in the kernel, and the hand-over cost more than the link: 15,000 took
            # 1.1-1.4 s so at 10,000 articles against 0.65-0.9 s here.
            _place(path, target, data, same_as_live, is_new)
            return
        self._pending.append(self._pool.submit(_place, path, target, data, same_as_live, is_new))
        while len(self._pending) > self._IN_FLIGHT:
            self._pending.popleft().result()

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        assert self._pool is not None
        self._pool.shutdown(wait=True)
        pending, self._pending = self._pending, deque()
        if kind is None:
            for future in pending:
                future.result()


def _place(path: str, target: Path, data: bytes | None, same_as_live: Path | None, is_new: bool) -> None:
    """One file of the spare: a hard link to the live tree's copy when that has these bytes, else
    written."""
    if same_as_live is not None and (link_new(same_as_live, target) if is_new else link_over(same_as_live, target)):
        return
    if data is None:
        raise MissingOutput(path)
    if is_new:
        write_new(target, data)
    else:
        write_over(target, data)

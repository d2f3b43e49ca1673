"""The only module that touches the output folder.

A build is written into a spare tree beside the output and then swapped in with one atomic rename
(renameat2 RENAME_EXCHANGE), so a reader (or a killed build) sees either the old site or the new
one, never a mix. The spare is the previous version, updated in place with only what changed, so a
small edit to a large site writes a few files. (A reader still inside the old tree when the next
build starts sees that build's edits, even in a file it holds open: the guarantee holds per build, as
for any two-tree server.)
A manifest of what Broadsheet wrote marks a folder as ours; a folder without one is never replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from json.decoder import scanstring
from pathlib import Path
from sys import intern
from typing import IO, Any, NoReturn

from broadsheet.errors import BroadsheetError
from broadsheet.output import Output, Placed

MANIFEST = ".broadsheet-manifest.json"
_MANIFEST_VERSION = 1


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


def check_output_dir(output: Path, *, project_root: Path, content_dir: Path) -> Path:
    """Refuse output folders whose replacement would destroy something that is not ours."""
    output = output.resolve()
    forbidden = {Path("/"), Path.home().resolve(), project_root.resolve()}
    if output in forbidden or output == output.anchor:
        raise BroadsheetError("refusing to build into this folder: it is not a build output folder", path=str(output))
    content = content_dir.resolve()
    if content.is_relative_to(output):
        raise BroadsheetError(
            f"refusing to build here: the output folder contains the content folder {content}", path=str(output)
        )
    if output.is_relative_to(content):
        # Every build would publish the previous site again as content assets, one level deeper.
        raise BroadsheetError(
            f"refusing to build here: the output folder is inside the content folder {content}", path=str(output)
        )
    if output.exists() and not output.is_dir():
        raise BroadsheetError("output path exists and is not a folder", path=str(output))
    if output.is_dir() and any(output.iterdir()) and not (output / MANIFEST).is_file():
        raise BroadsheetError(
            "output folder is not empty and was not made by Broadsheet (no manifest); "
            "refusing to replace it — choose another --output or empty it yourself",
            path=str(output),
        )
    return output


def refuse_foreign_files(output: Path, ours: dict[str, str] | None = None) -> None:
    """A swap replaces the whole output folder: refuse it while someone else's files are in there.
    (Checked only when a swap is about to happen. `ours`: the folder's manifest, already read.)"""
    if output.is_dir():
        _refuse(output, _foreign_files(output, read_manifest(output) if ours is None else ours))


def _refuse(output: Path, foreign: list[str]) -> None:
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BroadsheetError(
            f"output folder holds files Broadsheet did not write ({shown}); a build replaces the whole "
            "folder, so move them out first (files in content/ are published with the site)",
            path=str(output),
        )


def _foreign_files(output: Path, ours: dict[str, str]) -> list[str]:
    """Files (and links) in our output folder that its manifest does not list: someone else's.

    Adding or removing an entry changes a folder's modification time, and the build that wrote the
    tree noted every folder's (see _save_stamps), so only folders whose time moved are listed, plus
    the top one, where the manifest itself changes. Without those notes, everything is listed."""
    stamps = _load_stamps(output)
    base = str(output) + "/"
    changed = [""]
    for folder, mtime in stamps.items():
        try:
            if os.stat(base + folder).st_mtime_ns != mtime:
                changed.append(folder)
        except OSError:
            pass  # gone: nothing of anyone's in there, and its parent's time moved
    found = []
    for start in changed:
        pending = [start]
        while pending:
            folder = pending.pop()
            prefix = folder + "/" if folder else ""
            try:
                with os.scandir(base + folder) as listing:
                    entries = list(listing)
            except OSError:
                continue
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if rel not in stamps:  # a folder the build did not leave: look at everything in it
                        pending.append(rel)
                elif rel not in ours and not rel.startswith(MANIFEST):  # MANIFEST.<pid>.tmp: ours, mid-update
                    found.append(rel)
    return sorted(found)


def _stamps_file(tree: Path) -> Path:
    """Beside the two trees, not in them: the notes must not be published or differ between builds.
    A pickle, not JSON: every build that writes reads and writes it, a folder per article, and at
    10,000 articles that took 16 ms as JSON and takes 5 ms so. Each tree's notes are a pickle of
    their own inside it, so that a build unpickles only the tree's it needs and writes the other
    back as it found it (at 100,000 articles each tree's is 146,000 folders). (Older versions of
    Broadsheet wrote `.folders.json`, which `_save_stamps` removes.)"""
    name = tree.name.removeprefix(".").removesuffix(".spare")
    return tree.with_name(f".{name}.folders.pickle")


def _save_stamps(tree: Path, files: Iterable[str], touched: Sequence[str]) -> None:
    """Note the modification time of every folder of the tree just written, under the tree's inode
    (the trees swap names, not inodes). Folders this build left alone keep the time noted when the
    tree was last written: if that still matches, nothing has been added there since."""
    target = _stamps_file(tree)
    notes = _read_stamps(target)
    inode = str(tree.stat().st_ino)
    base = str(tree) + "/"
    if len(touched) < 1000 and (old := _tree_stamps(notes.get(inode))):
        stamps = old
        folders = _folders_of(touched)
        for folder in folders:
            try:
                stamps[folder] = os.stat(base + folder).st_mtime_ns
            except OSError:
                stamps.pop(folder, None)
    else:
        stamps = {folder: os.stat(base + folder).st_mtime_ns for folder in sorted(_folders_of(files))}
    others = [(k, v) for k, v in notes.items() if k != inode][-1:]  # the other tree's, as they were
    staged = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    mine = pickle.dumps(stamps, pickle.HIGHEST_PROTOCOL)
    staged.write_bytes(pickle.dumps({**dict(others), inode: mine}, pickle.HIGHEST_PROTOCOL))
    os.replace(staged, target)
    with contextlib.suppress(FileNotFoundError):
        target.with_suffix(".json").unlink()


def _folders_of(files: Iterable[str]) -> set[str]:
    """Every folder holding one of `files`, and the folders above it (not the top one, "")."""
    folders: set[str] = set()
    for path in files:
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def _load_stamps(tree: Path) -> dict[str, int]:
    return _tree_stamps(_read_stamps(_stamps_file(tree)).get(str(tree.stat().st_ino)))


def _tree_stamps(note: object) -> dict[str, int]:
    """One tree's notes, from what the notes file holds for it: its own pickle ({} if none)."""
    if not isinstance(note, bytes):
        return {}  # none, or written by a version before the notes were kept apart: looked at afresh
    try:
        found = _PlainUnpickler(io.BytesIO(note)).load()
    except Exception:  # noqa: BLE001 - unreadable in any way: every folder is looked at
        return {}
    return found if isinstance(found, dict) else {}


def _read_stamps(path: Path) -> dict:
    try:
        data = _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
    except Exception:  # noqa: BLE001 - missing or unreadable in any way: every folder is looked at
        return {}
    return data if isinstance(data, dict) else {}


class _PlainUnpickler(pickle.Unpickler):
    """Reads dicts, strings and numbers, nothing that names a class or function to call. The notes
    lie beside the output folder, which may be somewhere less guarded than the project (a shared
    web root): a pickle put there must not run code when a build reads it."""

    def find_class(self, module: str, name: str) -> NoReturn:
        raise pickle.UnpicklingError(f"{module}.{name}: only plain data is read here")


@contextlib.contextmanager
def build_lock(output: Path) -> Iterator[int]:
    """One build per output folder at a time, and none while the folder is published (an advisory
    lock beside the folder). Gives the lock file's descriptor: a process started with it holds the
    lock too, for as long as it has it open, should this one die first (see SpareFill)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with _lock(output, fcntl.LOCK_EX, "another build or a publish of this site is running (lock held)") as fd:
        assert fd is not None
        yield fd


@contextlib.contextmanager
def reading_lock(output: Path) -> Iterator[None]:
    """Hold builds off while the built site is read as a whole (publish): a build swaps the trees and
    rewrites the spare, so a long read could otherwise send a mix of two builds. Readers share it."""
    with _lock(output, fcntl.LOCK_SH, "a build of this site is running: publish once it has finished", reader=True):
        yield


@contextlib.contextmanager
def _lock(output: Path, kind: int, busy: str, *, reader: bool = False) -> Iterator[int | None]:
    lock_path = output.parent / f".{output.name}.lock"
    try:
        opened = open(lock_path, "a+")  # noqa: SIM115 - closed by the with below
    except OSError:
        if not reader:
            raise
        # Nothing built there, or a folder we may not write to, where no build can run either: the
        # reader finds out what it can read.
        yield None
        return
    with opened as handle:
        try:
            fcntl.flock(handle, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BroadsheetError(busy, path=str(lock_path)) from None
        try:
            yield handle.fileno()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_manifest_data(output: Path) -> dict:
    try:
        data = json.loads((output / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _files_of(data: dict) -> dict[str, str]:
    files = data.get("files")
    if data.get("version") == _MANIFEST_VERSION and isinstance(files, dict) and _within(files):
        # One copy of each path and digest, however many maps hold it: both trees' manifests and the
        # cache's page records (cache.BuildCache.pages) name every file of the site.
        return {intern(str(k)): intern(str(v)) for k, v in files.items()}
    return {}


# A part of a path that leads out of the tree or names no file: empty (an absolute path, "a//b"),
# "." or ".."; paths are joined by NUL, which no file name holds, to be searched at once. (\Z, not $,
# which also matches before a final newline: a file named "\n" is a file.)
_OUTSIDE = re.compile(r"(?:^|\x00|/)(?:\.\.?)?(?:/|\x00|\Z)")


def _within(paths: Collection[str]) -> bool:
    """Every path is one the build writes: relative, inside the tree. Files are linked, replaced and
    removed by the paths a manifest lists, and one someone altered (the output folder may lie
    somewhere less guarded than the project) must not lead any of that outside: such a manifest is
    not ours. (A manifest's paths are JSON keys: strings.)"""
    return not paths or not _OUTSIDE.search("\x00".join(paths))


def _errors_of(data: dict) -> list[str] | None:
    errors = data.get("errors")
    return [str(e) for e in errors] if isinstance(errors, list) else None


def _manifests(output: Path) -> tuple[dict[str, str], list[str] | None, dict[str, str]]:
    """The files and errors the live tree's manifest records, and the files the spare's records ({}
    when it has none). Only those, not the parsed JSON: a second copy of every path and digest of the
    site, held for the whole build."""
    data = _read_manifest_data(output)
    return _files_of(data), _errors_of(data), read_manifest(spare_dir(output))


def read_manifest(output: Path) -> dict[str, str]:
    """path -> digest of every file the build that wrote this folder put there ({} if not ours)."""
    return _files_of(_read_manifest_data(output))


def read_build_errors(output: Path) -> list[str] | None:
    """The errors the manifest records for the build that wrote (or last failed to replace) this
    folder: [] for a clean build, None when unknown (no manifest, or one from before this was kept)."""
    return _errors_of(_read_manifest_data(output))


def record_failed_build(output: Path, errors: Sequence[str]) -> None:
    """Note in the manifest that the latest build failed, so `publish` refuses the older pages still
    here until a build succeeds. Only the manifest is replaced (atomically); every page stays."""
    manifest = output / MANIFEST
    try:
        data = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        return  # no site here (or not ours): nothing could be published from it anyway
    if not isinstance(data, dict):
        return
    data["errors"] = [str(e) for e in errors] or ["the build failed"]
    staged = manifest.with_name(f"{MANIFEST}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(data, sort_keys=True), "utf-8")
    os.replace(staged, manifest)


def manifest_signature(output_dir: Path) -> str:
    """Which manifest the output folder has (its stat signature): the one a build left there, or not."""
    try:
        st = (output_dir / MANIFEST).stat()
    except FileNotFoundError:
        return "no output"
    return f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"


def file_digest(data: bytes) -> str:
    """The digest a manifest records for a file with these bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def spare_dir(output: Path) -> Path:
    return output.with_name(f".{output.name}.spare")


def write_site(outputs: Iterable[Output], output: Path, *, errors: Sequence[str] = ()) -> WriteStats:
    """Bring the spare tree up to date with `outputs`, then swap it with `output` in one atomic rename
    (see SpareTree)."""
    return SpareTree(output).write(outputs, errors=errors)


def _open_spare(output: Path, have: dict[str, str]) -> Path:
    """The spare tree of `output`, marked as being updated (its manifest gone); `have`: the files its
    manifest listed. One without a manifest is in an unknown state (a crash mid-update, or not
    ours): it is started again, empty."""
    spare = spare_dir(output)
    if spare.is_dir() and not have:
        shutil.rmtree(spare)
    spare.mkdir(exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (spare / MANIFEST).unlink()  # from here on the spare is "being updated"
    return spare


class SparePart:
    """Puts rendered files into the spare tree (`place`), knowing the live and spare manifests'
    digests of the files it is given: all of them in a SpareTree, a batch's in `SpareTree.part`."""

    def __init__(self, output: Path, spare: Path, live: dict[str, str], have: dict[str, str]) -> None:
        self.output, self.spare, self.live, self.have = output, spare, live, have
        self._prefix = str(spare) + "/"  # strings, not Paths: this runs once per file of the site
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
            _make_folder(self._prefix + parent)
            self._made_dirs.add(parent)
        same_as_live = self.output / path if self.live.get(path) == digest else None
        return self.spare / path, same_as_live, is_new

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
        live, self.live_errors, have = _manifests(output)
        super().__init__(output, _open_spare(output, have), live, have)

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
    (`_bring_in_step`). Start it early; `result()` waits for the answer."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.live, self.live_errors, self.have = _manifests(output)
        self._answer: tuple[set[str], list[str]] | None = None
        self._child: tuple[int, int] | None = None  # (pid, pipe to read)
        # Only from a process with one thread (the `broadsheet build` command): a child forked from
        # a threaded one (the preview server) may find a lock held by a thread it does not have.
        if self.live and hasattr(os, "fork") and threading.active_count() == 1:
            self._fork()

    def _fork(self) -> None:
        self._child = _start_forked(self._in_child)

    def _in_child(self) -> tuple[set[str], list[str], list[str]]:
        placed, failed = _bring_in_step(self.output, self.live, self.live_errors, self.have)
        self.have = _without(self.live, failed)
        return (*self._look(placed), failed)

    def _look(self, placed: Container[str] = ()) -> tuple[set[str], list[str]]:
        """What `result` says, for a spare whose files `placed` were just put there."""
        prefix = str(spare_dir(self.output)) + "/"
        missing = {path for path in self.have if path not in placed and not os.access(prefix + path, os.F_OK)}
        return missing, _foreign_files(self.output, self.live)

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
            missing, foreign, failed = _forked_result(child)
        except Exception:  # noqa: BLE001 - the child died midway: the spare is as its manifest says
            self.have = read_manifest(spare_dir(self.output))
            return
        self.have = _without(self.live, failed)
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
                _make_folder(str(spare / path.rpartition("/")[0]))
            same_as_live = output / path if live.get(path) == digests[path] else None
            placer.place(path, spare / path, data_of.get(path), same_as_live, path not in have)
    return _finish(spare, output, digests, have, touched, live, check.live_errors, (), foreign=foreign)


def settle_spare(output: Path) -> int:
    """Bring the spare tree in step with the live one now, which the next quick rebuild would
    otherwise do first (after a build that rewrote the site: every file, 1.1 s of the first edit at
    10,000 articles). For the preview server, to do between a build and the next edit.

    Each file that differs gets the live file's bytes and modification time, copied (into the
    spare's own file where it has one, by the kernel: `_copy_over`): not a hard link, as a quick
    rebuild's check makes for a file the spare lacks, so that the spare's files stay its own and the
    next build that rewrites the site (a template edit) rewrites them where they are, rather than
    making a new file for each. The number of files copied; 0 when the trees are in step already or
    the live tree's build recorded errors. Raises BroadsheetError while a build or publish holds the folder, and
    OSError when a live file cannot be read (the spare is then left without a manifest, to be made
    again by the next build)."""
    with build_lock(output):
        live, live_errors, have = _manifests(output)
        if not live or live_errors != [] or have == live:
            return 0
        spare = _open_spare(output, have)
        differ = _differing(live, have)
        source, target = str(output) + "/", str(spare) + "/"
        # In one thread: four took longer here (1.8–2.1 s at 10,000 articles, not 1.4, when every
        # file was copied through Python's reads and writes).
        for path in differ:
            if not _copy_over(source + path, target + path):
                _copy_into(output / path, spare / path)  # new to the spare, or shared: a file of its own
        _seal(spare, live, have, differ, live_errors)  # the live tree's files: nothing to swap in
        return len(differ)


def _copy_into(source: Path, target: Path) -> None:
    """`source`'s bytes and modification time in `target`, rewritten where it is if nothing else
    links to it (see `_write_over`). Only a regular file is copied: not through a symlink, and
    never waiting on a pipe someone put in its place (OSError)."""
    if (opened := _open_regular(source, os.O_RDONLY)) is None:
        raise OSError(errno.EINVAL, "not a regular file that can be read", str(source))
    fd, st = opened
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    try:
        _write_over(target, data)
    except FileNotFoundError:  # new to the spare (or deleted from it), and maybe its folder too
        _make_folder(str(target.parent))
        _write_new(target, data)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


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
    _seal(spare, digests, have, touched, errors)
    removed = len(live.keys() - digests.keys())
    changed = sum(1 for path, digest in digests.items() if live.get(path) != digest)
    unchanged = len(digests) - changed
    if output.is_dir() and changed == 0 and removed == 0 and live_errors == list(errors):
        return WriteStats(len(digests), 0, unchanged, 0, swapped=False, digests=digests)
    if foreign is None:
        refuse_foreign_files(output, live)
    else:
        _refuse(output, foreign)
    _swap_in(spare, output)
    return WriteStats(len(digests), changed, unchanged, removed, swapped=True, digests=digests)


def _drop(spare: Path, paths: Collection[str]) -> list[str]:
    """Remove `paths` from the spare, and folders left empty: the paths, in the order removed."""
    stale = sorted(paths, reverse=True)
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            (spare / path).unlink()
    _prune_empty_dirs(spare, stale)
    return stale


def _seal(
    spare: Path, digests: dict[str, str], have: dict[str, str], touched: list[str], errors: Sequence[str]
) -> None:
    """Drop what the spare has (`have`) and `digests` does not, and seal the spare with its manifest
    (`digests`, `errors`) and the times of the folders `touched`."""
    touched += _drop(spare, have.keys() - digests.keys())  # a set of one map's keys, not of both
    manifest = {"version": _MANIFEST_VERSION, "files": digests, "errors": list(errors)}
    # On one line: json's fast encoder does not indent, and this file lists every file of the site.
    (spare / MANIFEST).write_text(json.dumps(manifest, sort_keys=True), "utf-8")
    _save_stamps(spare, digests, touched)


class SpareFill:
    """The spare tree of `output` made like the live tree in a process of its own (`fill_spare`),
    while the build records what it did on the core its render workers have left; otherwise the
    next quick rebuild (the first edit) does it, and waits for it:
    - where there is no spare (the build made the output folder anew), by hard links to every live
      file: every folder and file of the site, and a folder is the costliest thing to make here (at
      10,000 articles, 14,600 folders took 0.33 s and their 15,100 files' links 0.14 s);
    - after a swap with an older site, by copying the files that differ into the spare's own (see
      `_copy_over`): after a template change, every page (0.6-1.4 s of the first edit's build after
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
            "import os; os.nice(10); from broadsheet.write import fill_spare, SpareLag; "
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
        data = _PlainUnpickler(stream).load()
        return cls(*data) if data else None


def fill_spare(output: Path, lag: SpareLag | None = None) -> int:
    """Make the spare tree of `output` like the live tree (see `SpareFill`), `lag` saying how they
    differ (the build's: the site just swapped out is the spare, if any): files the spare lacks are
    linked, those it has (`_mirror_all`) brought in step, and those gone removed. Without `lag`,
    only a missing spare is made, of every file the live manifest lists. The number of files
    placed. Only from a process with one thread (see `_start_forked`), and while a build holds the
    folder's lock.

    This process runs while the build is at its largest, and holds one list of paths at a time:
    the live manifest is read once the files are placed, and only its paths, not its digests: the
    spare's manifest is the live one's text, unless a file could not be placed (a parsed manifest
    and its JSON made again took this process to 162 MB at 100,000 articles; while it links, its two
    processes hold 45 MB, against 58 MB with the manifest's text and paths read first)."""
    spare = spare_dir(output)
    made = not spare.exists()
    if lag is None:
        if not made:
            return 0
        lag = SpareLag([], _live_manifest(output)[1], [])
    elif not made and not (spare / MANIFEST).is_file():
        return 0  # (one without a manifest is made again by the next build)
    if not lag.files:
        return 0
    if made:
        spare = _open_spare(output, {})
    else:
        (spare / MANIFEST).unlink()  # from here on the spare is "being updated"
    have = () if made else _EVERY_PATH
    failed = _mirror_all(output, spare, lag.changed, have) + _mirror_all(output, spare, lag.added, ())
    touched = [*lag.changed, *lag.added, *_drop(spare, lag.gone)]
    text, paths = _live_manifest(output)
    if paths:
        _seal_as_live(spare, text, paths, failed, touched)
    return len(lag.changed) + len(lag.added) - len(failed)


class _Everything:
    def __contains__(self, path: object) -> bool:
        return True


_EVERY_PATH: Container[str] = _Everything()  # the files a spare has, for paths it is known to have


def _live_manifest(output: Path) -> tuple[str, list[str]]:
    """The live manifest's text and the paths it lists ("" and [] when there is none)."""
    try:
        text = (output / MANIFEST).read_text("utf-8")
    except OSError:
        return "", []
    paths = _manifest_paths(text)
    if paths is None:  # not written as `_seal` writes it: read whole
        paths = list(_files_of(_parsed(text)))
    return text, paths


def _seal_as_live(spare: Path, text: str, paths: list[str], failed: list[str], touched: list[str]) -> None:
    """Seal the spare with the live manifest (`text`, listing `paths`), less the files that could not
    be placed (`failed`), and the times of the folders `touched`."""
    if failed:
        data = _parsed(text)
        _seal(spare, _without(_files_of(data), failed), {}, touched, _errors_of(data) or [])
    else:
        (spare / MANIFEST).write_text(text, "utf-8")
        _save_stamps(spare, paths, touched)


def _parsed(text: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


_FILES_KEY = '"files": {'


def _manifest_paths(text: str) -> list[str] | None:
    """The paths a manifest lists, in order, read from its text as `_seal` writes it (json.dumps with
    sorted keys, so "files" follows "errors", whose strings cannot hold the key unescaped); None for
    any other text."""
    if not text.endswith(f'"version": {_MANIFEST_VERSION}}}'):
        return None
    pos = text.find(_FILES_KEY)
    if pos < 0:
        return None
    pos += len(_FILES_KEY)
    paths: list[str] = []
    try:
        while text[pos] == '"':
            path, pos = scanstring(text, pos + 1)
            if text[pos : pos + 3] != ': "':
                return None
            _, pos = scanstring(text, pos + 3)  # the digest
            paths.append(path)
            if text[pos : pos + 2] != ", ":
                break
            pos += 2
        return paths if text[pos] == "}" and _within(paths) else None
    except (IndexError, ValueError):
        return None


def _bring_in_step(
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
    spare = _open_spare(output, have)
    failed = _mirror_all(output, spare, differ, have)
    _seal(spare, _without(live, failed), have, list(differ), live_errors or [])
    return set(differ), failed


def _mirror_all(output: Path, spare: Path, paths: list[str], have: Container[str]) -> list[str]:
    """`_mirror_into` for `paths`, half of them in a second process from `_TWO_PROCESSES_FROM` on."""
    source, target = str(output) + "/", str(spare) + "/"  # strings: this runs once per file
    if len(paths) < _TWO_PROCESSES_FROM:
        return _mirror_into(paths, have, source, target)
    # (the two halves share a few parent folders, which `_make_folder` may find made)
    half = len(paths) // 2
    other = _start_forked(lambda: _mirror_into(paths[:half], have, source, target))
    try:
        failed = _mirror_into(paths[half:], have, source, target)
    finally:
        failed = _forked_result(other) + failed  # (raises if that process failed: no manifest then)
    return failed


def _differing(live: dict[str, str], have: dict[str, str]) -> list[str]:
    """The live tree's files that the spare (`have`) lacks or holds other bytes for."""
    return [path for path, digest in live.items() if have.get(path) != digest]


def _without(files: dict[str, str], paths: Collection[str]) -> dict[str, str]:
    return {p: d for p, d in files.items() if p not in paths} if paths else files


# From this many files on, a second process places half the files: the system calls that make
# folders and links take most of the time, and they run on both cores (15,000 files of the
# benchmark's site took 0.27-0.28 s so, 0.44-0.48 s in one process).
_TWO_PROCESSES_FROM = 2048


def _mirror_into(paths: Sequence[str], have: Container[str], source: str, target: str) -> list[str]:
    """Each file of `paths` under `source` placed at the same path under `target` (the spare, whose
    files are `have`): copied into the spare's own file where it has one (`_copy_over`), else
    linked; those that could not be placed."""
    made: set[str] = set()
    failed: list[str] = []
    for path in paths:
        if path in have:
            placed = _copy_over(source + path, target + path) or _link_over(source + path, target + path)
        else:
            folder = path.rpartition("/")[0]
            if folder not in made:
                _make_folder(target + folder)
                made.add(folder)
            placed = _link_new(source + path, target + path)
        if not placed:
            failed.append(path)
    return failed


def _start_forked(task: Callable[[], object]) -> tuple[int, int]:
    """`task` run in a forked child, which only makes system calls and pickles plain data (so it
    needs no lock a thread of this process might hold), then is gone without any clean-up:
    (its pid, the pipe its result comes through). Only from a process with one thread."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(pickle.dumps(task()))
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def _forked_result(child: tuple[int, int]) -> Any:
    """What a `_start_forked` task returned, once its process has ended; an exception if it died first."""
    pid, read = child
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise ChildProcessError(f"a forked process of the build ended with status {status}")
    return pickle.loads(data)  # (EOFError when it ended before its answer)


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
    if same_as_live is not None and (_link_new(same_as_live, target) if is_new else _link_over(same_as_live, target)):
        return
    if data is None:
        raise MissingOutput(path)
    if is_new:
        _write_new(target, data)
    else:
        _write_over(target, data)


def _make_folder(path: str) -> None:
    """os.makedirs(path, exist_ok=True), but only one system call where the parent exists (an
    article's folder, whose day folder the page before made): makedirs looks at the parent first."""
    try:
        os.mkdir(path)
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def _write_new(target: Path, data: bytes) -> None:
    """A file the spare did not have: written directly (nothing can share it yet)."""
    try:
        with open(target, "xb") as handle:
            handle.write(data)
    except FileExistsError:  # a leftover the manifest did not know about
        _write_over(target, data)


def _write_over(target: Path, data: bytes) -> None:
    """Replace `target`'s bytes. A file the live tree shares (a hard link) is replaced by a new file
    (new inode); one only the spare has is rewritten where it is, which spares the file system a
    new inode and a freed one (on ext4 without a journal, freshly freed inodes make every later
    new file slower to place).

    The new file is made after the old name is removed, not renamed over it: nothing reads the
    spare while it is updated (it has no manifest then, and a crash leaves it to be made again), and
    ext4 writes a file's data out at once when it is renamed over another (its auto_da_alloc), which
    made each such file take 220 µs here against 40 µs (about a second of a template change after an
    edit, at 10,000 articles)."""
    if _rewrite_unshared(target, data):
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
    with open(target, "xb") as handle:
        handle.write(data)


def _rewrite_unshared(target: Path, data: bytes) -> bool:
    """Rewrite a regular file in place if no other name links to it; False otherwise."""
    if (opened := _open_regular(target, os.O_WRONLY, unshared=True)) is None:
        return False
    fd = opened[0]
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(data))
        return True
    finally:
        os.close(fd)


def _copy_over(source: str, target: str) -> bool:
    """`source`'s bytes and modification time written into `target` where it is, if that is a
    regular file no other name links to; False, with `target` as it was, otherwise (or when
    `source` is not a regular file that can be read).

    For a spare file the build before replaced in the live tree: rewriting it keeps its blocks,
    where removing it for a link frees them, which is the costly part on a file system that
    discards freed blocks (15,000 files of 12 kB written out: 1.5-1.7 s to unlink and link, 0.35 s
    to copy in place, here). It also keeps the spare's file its own, for the next build that
    rewrites the site to rewrite in place (see `_write_over`)."""
    if (opened := _open_regular(target, os.O_WRONLY, unshared=True)) is None:
        return False
    out, had = opened
    try:
        if (opened := _open_regular(source, os.O_RDONLY)) is None:
            return False
        src, st = opened
        try:
            if (size := _copy_bytes(src, out, st.st_size)) < had.st_size:
                os.ftruncate(out, size)  # (a call fewer for the files that grew or kept their size)
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(src)
    finally:
        os.close(out)
    return True


def _open_regular(path: str | Path, flags: int, *, unshared: bool = False) -> tuple[int, os.stat_result] | None:
    """`path` opened, never through a symlink nor waiting on a pipe, if it is a regular file (that
    no other name links to, if `unshared`): its descriptor and status; None otherwise."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode) and not (unshared and st.st_nlink != 1):
        return fd, st
    os.close(fd)
    return None


def _copy_bytes(src: int, out: int, size: int) -> int:
    """Up to `size` bytes from the start of `src` to the start of `out`, in the kernel where it
    can: the number copied."""
    done = 0
    with contextlib.suppress(AttributeError, OSError):  # no copy_file_range: read and write
        while done < size and (n := os.copy_file_range(src, out, size - done, done, done)):
            done += n
        return done
    while done < size and (chunk := os.pread(src, size - done, done)):
        done += os.pwrite(out, chunk, done)
    return done


def _link_new(existing: str | Path, target: str | Path) -> bool:
    """A link where the spare has no file: made in place (a rename fewer, as when a spare is made
    whole after a cold build)."""
    try:
        os.link(existing, target)
    except FileExistsError:  # a leftover the manifest did not know about
        return _link_over(existing, target)
    except OSError:
        return False
    return True


def _link_over(existing: str | Path, target: str | Path) -> bool:
    """A link in place of the spare's file: its name removed first, as in `_write_over`."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
    try:
        os.link(existing, target)
    except OSError:
        return False  # the caller writes the bytes instead
    return True


def _prune_empty_dirs(root: Path, removed: Sequence[str]) -> None:
    parents = sorted({str(Path(p).parent) for p in removed if "/" in p}, key=lambda p: -p.count("/"))
    for parent in parents:
        folder = root / parent
        while folder != root:
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (or gone): its parents are not empty either
            folder = folder.parent


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2). False where the system can't."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _swap_in(spare: Path, output: Path) -> None:
    """Make the spare live; the previous live tree becomes the spare."""
    if not output.exists():
        os.rename(spare, output)
        return
    if _exchange(spare, output):
        return
    # Fallback: two renames. A crash between them leaves the complete previous site under the
    # -swap- name, and recover() puts it back.
    swap = output.with_name(f".{output.name}-swap-{os.getpid()}")
    os.rename(output, swap)
    os.rename(spare, output)
    os.rename(swap, spare)


def recover(output: Path) -> None:
    """After a crash: put back a previous site caught mid-swap, and drop leftovers of older versions."""
    if not output.exists():
        swaps = sorted(output.parent.glob(f".{output.name}-swap-*"))
        if swaps:
            os.rename(swaps[-1], output)
    for pattern in (f".{output.name}-swap-*", f".{output.name}-new-*", f".{output.name}-old-*"):
        for leftover in output.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)

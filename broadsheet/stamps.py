"""The folder times noted beside the output trees (.site.folders.pickle): where files not ours may be."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

FEW_TOUCHED = 1000  # files written or removed, up to which only their folders' times are taken again


def _stamps_file(tree: Path) -> Path:
    """Beside the two trees, not in them: the notes must not be published or differ between builds.
    A pickle, not JSON: every build that writes reads and writes it, a folder per article, and at
    10,000 articles that took 16 ms as JSON and takes 5 ms so. Each tree's notes are a pickle of
    their own inside it, so that a build unpickles only the tree's it needs and writes the other
    back as it found it (at 100,000 articles each tree's is 146,000 folders). (Older versions of
    Broadsheet wrote `.folders.json`, which `save_stamps` removes.)"""
    name = tree.name.removeprefix(".").removesuffix(".spare")
    return tree.with_name(f".{name}.folders.pickle")


def save_stamps(tree: Path, files: Iterable[str], touched: Sequence[str] | None) -> None:
    """Note the modification time of every folder of the tree just written, under the tree's inode
    (the trees swap names, not inodes). Folders this build left alone keep the time noted when the
    tree was last written: if that still matches, nothing has been added there since. Those of
    every folder of `files` are taken again when `touched` (the files written or removed) is None
    or holds FEW_TOUCHED or more."""
    # After an edit, when a build holds the whole site, this held the most besides it: so each note
    # (a pickle) is held once and let go once read, and the notes are written straight to the file.
    # At 30,000 articles it then took 10.3 MB at its peak (by tracemalloc), against 13.5 MB.
    target = _stamps_file(tree)
    notes = _read_stamps(target)
    inode = str(tree.stat().st_ino)
    note = notes.pop(inode, None)  # this tree's, made again below
    others = list(notes.items())[-1:]  # the other tree's, as they were
    del notes
    base = str(tree) + "/"
    few = touched is not None and len(touched) < FEW_TOUCHED
    stamps = _tree_stamps(note) if few else {}  # (unpickled only when it is kept)
    del note
    if few and stamps:
        for folder in _folders_of(touched):
            try:
                stamps[folder] = os.stat(base + folder).st_mtime_ns
            except OSError:
                stamps.pop(folder, None)
    else:
        stamps = {folder: os.stat(base + folder).st_mtime_ns for folder in sorted(_folders_of(files))}
    mine = pickle.dumps(stamps, pickle.HIGHEST_PROTOCOL)
    del stamps  # (a folder a file at 100,000 articles: not held beside its pickle)
    staged = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with open(staged, "wb") as handle:  # (a pickle of both notes is not made first: they are written as they are)
        pickle.dump({**dict(others), inode: mine}, handle, pickle.HIGHEST_PROTOCOL)
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


def load_stamps(tree: Path) -> dict[str, int]:
    return _tree_stamps(_read_stamps(_stamps_file(tree)).get(str(tree.stat().st_ino)))


def _tree_stamps(note: object) -> dict[str, int]:
    """One tree's notes, from what the notes file holds for it: its own pickle ({} if none)."""
    if not isinstance(note, bytes):
        return {}  # none, or written by a version before the notes were kept apart: looked at afresh
    try:
        found = PlainUnpickler(io.BytesIO(note)).load()
    except Exception:  # noqa: BLE001 - unreadable in any way: every folder is looked at
        return {}
    return found if isinstance(found, dict) else {}


def _read_stamps(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:  # (read as it is unpickled: the file's bytes are not held too)
            data = PlainUnpickler(handle).load()
    except Exception:  # noqa: BLE001 - missing or unreadable in any way: every folder is looked at
        return {}
    return data if isinstance(data, dict) else {}


class PlainUnpickler(pickle.Unpickler):
    """Reads dicts, strings and numbers, nothing that names a class or function to call. The notes
    lie beside the output folder, which may be somewhere less guarded than the project (a shared
    web root): a pickle put there must not run code when a build reads it."""

    def find_class(self, module: str, name: str) -> NoReturn:
        raise pickle.UnpicklingError(f"{module}.{name}: only plain data is read here")

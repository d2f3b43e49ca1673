"""The locks beside the output folder: one build at a time, and none while the built site is read."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from broadsheet.errors import BroadsheetError


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

"""Hints to the kernel's page cache: files asked for ahead of their reads, so that what has left memory
comes in together, in the background, rather than one read at a time as each file is reached.

Files a build read or wrote a day before (the content, the cache, the spare tree's pages) may no longer
be in memory. Each read of such a file then waits on the disk (100 µs a file here, against a few µs),
as does a write that rewrites part of a page of it (`fileops.write_over`). Asked for ahead, the reads
are under way together while the build works on what it has. Only hints (`posix_fadvise`): where the
system has none, or a file cannot be opened, the reads happen when they are needed, as they would
have."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def read_ahead(paths: Iterable[str], *, unshared_only: bool = False) -> None:
    """Have the kernel start reading these files into memory, without waiting for it: regular files
    only (never a pipe, whose opening would wait; never through a symlink), and with `unshared_only`
    only those no other name links to."""
    for path in paths:
        _ask(path, 0, unshared_only)


def read_file_ahead(path: str | os.PathLike[str], part: int = 4 << 20) -> None:
    """`read_ahead` for one large file: asked for `part` bytes at a time, for the kernel reads at most
    its read-ahead window (8 MB here) for each request."""
    _ask(path, part, False)


def parts_ahead(items: Sequence[T], size: int) -> Iterator[tuple[Sequence[T], Sequence[T]]]:
    """`items` in parts of `size`, each with the items whose files to ask for before it is used: the
    part after it (with the first part, itself too), so that a part's files come in while the part
    before it is used."""
    for start in range(0, len(items), size):
        yield items[start : start + size], items[start + size if start else 0 : start + 2 * size]


def _ask(path: str | os.PathLike[str], part: int, unshared_only: bool) -> None:
    """Ask for the file whole (`part` 0) or `part` bytes at a time, if it is one to ask for."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and not (unshared_only and st.st_nlink != 1):
            for start in range(0, st.st_size, part) if part else (0,):
                advise(fd, start, part, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)

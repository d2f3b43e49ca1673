"""Hints to the kernel's page cache: files asked for ahead of their reads, so that what has left memory
comes in together, in the background, rather than one read at a time as each file is reached.

Files a build read or wrote a day before (the content, the cache, the spare tree's pages) may no longer
be in memory. Each read of such a file then waits on the disk (100 µs a file here, against a few µs),
as does a write that rewrites part of a page of it (`fileops.write_over`). Asked for ahead, the reads
are under way together while the build works on what it has. Only hints (`posix_fadvise`): where the
system has none, or a file cannot be opened, the reads happen when they are needed, as they would
have."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable


def read_ahead(paths: Iterable[str], *, unshared_only: bool = False) -> None:
    """Have the kernel start reading these files into memory, without waiting for it: regular files
    only (never a pipe, whose opening would wait; never through a symlink), and with `unshared_only`
    only those no other name links to."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and not (unshared_only and st.st_nlink != 1):
                advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def read_file_ahead(path: str | os.PathLike[str], part: int = 4 << 20) -> None:
    """`read_ahead` for one large (regular) file: asked for `part` bytes at a time, for the kernel
    reads at most its read-ahead window (8 MB here) for each request."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            for start in range(0, st.st_size if stat.S_ISREG(st.st_mode) else 0, part):
                advise(fd, start, part, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)

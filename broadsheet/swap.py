"""The atomic swap of the spare tree with the live one, and a site a crash caught mid-swap put back."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path

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


def swap_in(spare: Path, output: Path) -> None:
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

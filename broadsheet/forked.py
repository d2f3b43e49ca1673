"""A task run in a forked child process that makes only system calls, its result sent back through a pipe."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any


def start_forked(task: Callable[[], object]) -> tuple[int, int]:
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


def forked_result(child: tuple[int, int]) -> Any:
    """What a `start_forked` task returned, once its process has ended; an exception if it died first."""
    pid, read = child
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise ChildProcessError(f"a forked process of the build ended with status {status}")
    return pickle.loads(data)  # (EOFError when it ended before its answer)

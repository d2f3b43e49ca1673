"""A task run in a forked child process that makes only system calls, its result sent back through a pipe."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any


def start_forked(task: Callable[[], object]) -> tuple[int, int]:
    """`task` run in a forked child, which only makes system calls and pickles plain data (so it
    needs no lock a thread of this process might hold), then is gone without any clean-up:
    (its pid, the pipe its result, or the exception it raised, comes through). Only from a
    process with one thread."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            with os.fdopen(write, "wb") as pipe:
                try:
                    answer = (True, task())
                except Exception as exc:  # noqa: BLE001 - raised again where the result is asked for
                    answer = (False, exc)
                pipe.write(pickle.dumps(answer))
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def forked_result(child: tuple[int, int]) -> Any:
    """What a `start_forked` task returned, once its process has ended, or the exception it raised;
    an exception too if it died first."""
    pid, read = child
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise ChildProcessError(f"a forked process of the build ended with status {status}")
    done, value = pickle.loads(data)  # (EOFError when it ended before its answer)
    if not done:
        raise value
    return value

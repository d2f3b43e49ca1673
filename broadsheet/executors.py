"""Where the build's fan-out runs: inline, local worker processes, or a Dask cluster.

Everything goes through `concurrent.futures.Executor`, so the build code does not care which.
Tasks are plain top-level functions over plain data, picklable for any of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from broadsheet.errors import BroadsheetError

T = TypeVar("T")
R = TypeVar("R")


class InlineExecutor(Executor):
    """Runs each task at once in this process: for small builds and for tests."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, like any executor
            future.set_exception(exc)
        return future


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system, where the C library can (glibc's
    malloc_trim). A worker that has built something large and let it go keeps the freed memory
    otherwise, scattered among what it still holds, until it exits."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS; Windows has no such handle)
        return
    trim(0)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def fork_pool(
    jobs: int, initializer: Callable[..., None] | None = None, initargs: tuple = (), *, fork_one: bool = False
) -> Executor:
    """Local worker processes. Forked, so `initargs` reach the workers without pickling. One job runs
    in this process, unless `fork_one` (for a caller that does work of its own meanwhile)."""
    import multiprocessing  # here, not at the top: a small rebuild runs in this process and never needs it
    from concurrent.futures import ProcessPoolExecutor

    if jobs < (1 if fork_one else 2) or "fork" not in multiprocessing.get_all_start_methods():
        if initializer:
            initializer(*initargs)
        return InlineExecutor()
    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer, initargs=initargs)


@contextlib.contextmanager
def open_executor(spec: str | None, jobs: int) -> Iterator[Executor]:
    """`None`/"process": local processes; "inline": this process; "dask://host:port": a Dask cluster."""
    if spec in (None, "", "process"):
        executor = fork_pool(jobs)
    elif spec == "inline":
        executor = InlineExecutor()
    elif spec.startswith("dask://"):
        try:
            from distributed import Client
        except ImportError:
            raise BroadsheetError(
                "--executor dask:// needs the optional extra: pip install 'broadsheet[dask]'"
            ) from None
        client = Client("tcp://" + spec.removeprefix("dask://"), timeout=10)
        try:
            with client.get_executor() as executor:
                yield executor
        finally:
            client.close()
        return
    else:
        raise BroadsheetError(f"unknown executor {spec!r} (use process, inline or dask://HOST:PORT)")
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

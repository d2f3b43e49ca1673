"""Where the build's fan-out runs: inline, local worker processes, or a Dask cluster.

Everything goes through `concurrent.futures.Executor`, so the build code does not care which.
Tasks are plain top-level functions over plain data, picklable for any of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import pickle
import signal
import struct
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, InvalidStateError
from typing import Any, BinaryIO, TypeVar

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


# A frame on a worker's pipes: a task's number and the length of the pickle that follows.
_FRAME = struct.Struct("<QQ")
# Tasks sent to a worker and not yet answered: the one it runs and the next, so it never waits for
# one. Those not yet sent stay here, where cancelling them still works.
_SENT_AHEAD = 2


class ForkedWorkers(Executor):
    """`workers` processes forked when this is made, each of which runs `initializer(*initargs)`
    and then the tasks submitted later, one at a time, pickled through a pipe.

    For work that a process should do before it holds much: a ProcessPoolExecutor forks its
    workers on its first task, and needs multiprocessing's machinery imported first (35 ms), which
    a build with nothing to do would pay to fork them early. These cost one fork each, and, never
    used, are ended at once. The threads that send each worker its tasks and take its answers start
    with the first task: until then this process has one thread, for the forks that need that
    (forked.start_forked)."""

    def __init__(self, workers: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> None:
        self._lock = threading.Condition()
        self._queue: deque[tuple[int, Future, bytes]] = deque()  # submitted, not yet sent
        self._workers: list[_Worker] = []
        self._numbers = itertools.count()
        self._threads: list[threading.Thread] = []
        self._broken: str | None = None
        self._closed = False
        for _ in range(workers):
            task_read, task_write = os.pipe()
            answer_read, answer_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; coverage does not follow it
                code = 1
                try:
                    os.close(task_write)
                    os.close(answer_read)
                    for other in self._workers:
                        os.close(other.tasks)
                        os.close(other.answers)
                    _serve(task_read, answer_write, initializer, initargs)
                    code = 0
                finally:
                    os._exit(code)
            os.close(task_read)
            os.close(answer_write)
            self._workers.append(_Worker(pid, task_write, answer_read))

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        task = pickle.dumps((fn, args, kwargs), pickle.HIGHEST_PROTOCOL)
        future: Future[R] = Future()
        with self._lock:
            if self._broken is not None:
                raise BrokenExecutor(self._broken)
            if self._closed:
                raise RuntimeError("cannot submit a task to workers that were shut down")
            self._queue.append((next(self._numbers), future, task))
            if not self._threads:
                for worker in self._workers:
                    self._threads += (
                        threading.Thread(target=self._send, args=(worker,), daemon=True),
                        threading.Thread(target=self._take, args=(worker,), daemon=True),
                    )
                for thread in self._threads:
                    thread.start()
            self._lock.notify_all()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if cancel_futures:
                for _, future, _ in self._queue:
                    future.cancel()
                self._queue.clear()
            self._lock.notify_all()
        if not self._threads:
            # Never given a task: nothing of theirs to wait for, not even the end of their initializer.
            for worker in self._workers:
                os.close(worker.tasks)
                os.close(worker.answers)
                os.kill(worker.pid, signal.SIGKILL)
                os.waitpid(worker.pid, 0)
            return
        if wait:  # each worker is waited for by the thread that takes its answers
            for thread in self._threads:
                thread.join()

    def _send(self, worker: _Worker) -> None:
        """Sends `worker` the tasks submitted, no more than `_SENT_AHEAD` unanswered at a time; once
        shut down with none left, closes its pipe, which ends it when it has answered them."""
        with open(worker.tasks, "wb") as pipe:
            while True:
                with self._lock:
                    self._lock.wait_for(
                        lambda: (
                            self._broken is not None
                            or (self._queue and len(worker.running) < _SENT_AHEAD)
                            or (self._closed and not self._queue)
                        )
                    )
                    if self._broken is not None or not self._queue:
                        return
                    number, future, task = self._queue.popleft()
                    if not future.set_running_or_notify_cancel():
                        continue  # cancelled while it waited here
                    worker.running[number] = future
                try:
                    pipe.write(_FRAME.pack(number, len(task)))
                    pipe.write(task)
                    pipe.flush()
                except OSError:  # the worker is gone: _take says so
                    return

    def _take(self, worker: _Worker) -> None:
        """Sets each answer from `worker` on its task's future; once it has ended, fails those it
        left unanswered (and every task after them: the build cannot go on without it)."""
        with open(worker.answers, "rb") as pipe:
            while (head := _read_exactly(pipe, _FRAME.size)) is not None:
                number, size = _FRAME.unpack(head)
                data = _read_exactly(pipe, size)
                if data is None:
                    break
                with self._lock:
                    future = worker.running.pop(number)
                    self._lock.notify_all()
                try:
                    done, value = pickle.loads(data)
                except Exception as exc:  # noqa: BLE001 - told to whoever waits for the answer
                    done, value = False, BroadsheetError(f"a worker's answer could not be read: {exc}")
                if done:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        _, status = os.waitpid(worker.pid, 0)
        with self._lock:
            lost = [*worker.running.values()]
            if lost or self._queue or not self._closed:
                code = os.waitstatus_to_exitcode(status)
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                self._broken = self._broken or f"a worker process ended unexpectedly ({how})"
                lost += (future for _, future, _ in self._queue)
                worker.running.clear()
                self._queue.clear()
            self._lock.notify_all()
        for future in lost:
            with contextlib.suppress(InvalidStateError):  # cancelled while it waited to be sent
                future.set_exception(BrokenExecutor(self._broken))


class _Worker:
    __slots__ = ("answers", "pid", "running", "tasks")

    def __init__(self, pid: int, tasks: int, answers: int) -> None:
        self.pid, self.tasks, self.answers = pid, tasks, answers
        self.running: dict[int, Future] = {}  # sent, not yet answered


def _serve(tasks: int, answers: int, initializer: Callable[..., None] | None, initargs: tuple) -> None:
    """A forked worker: runs each task that comes through `tasks`, in order, and sends back its
    value or its exception (with the traceback as a note), until the pipe is closed."""
    failed: BaseException | None = None
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException as exc:  # noqa: BLE001 - every task is answered with it
            exc.add_note("".join(traceback.format_exception(exc)).rstrip())
            failed = exc
    with open(tasks, "rb") as inbox, open(answers, "wb") as outbox:
        while (head := _read_exactly(inbox, _FRAME.size)) is not None:
            number, size = _FRAME.unpack(head)
            data = _read_exactly(inbox, size)
            if data is None:
                break
            answer: tuple[bool, Any] = (False, failed)
            try:
                if failed is None:
                    fn, args, kwargs = pickle.loads(data)
                    answer = (True, fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - sent back, raised where the answer is asked for
                exc.add_note("".join(traceback.format_exception(exc)).rstrip())
                answer = (False, exc)
            try:
                data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled
                data = pickle.dumps((False, BroadsheetError(f"a worker's answer could not be sent back: {exc}")))
            outbox.write(_FRAME.pack(number, len(data)))
            outbox.write(data)
            outbox.flush()


def _read_exactly(pipe: BinaryIO, size: int) -> bytes | None:
    """`size` bytes, or None at the end of the pipe (a buffered read gives all it is asked for, or
    what came before the end)."""
    data = pipe.read(size)
    return data if len(data) == size else None


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


_LOCAL_PROCESSES = (None, "", "process")


def runs_here(spec: str | None) -> bool:
    """Whether `open_executor(spec)` runs tasks on this machine, which can read its files."""
    return spec in _LOCAL_PROCESSES or spec == "inline"


@contextlib.contextmanager
def open_executor(spec: str | None, jobs: int) -> Iterator[Executor]:
    """`None`/"process": local processes; "inline": this process; "dask://host:port": a Dask cluster."""
    if spec in _LOCAL_PROCESSES:
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

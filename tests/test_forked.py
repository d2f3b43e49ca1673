"""Tasks run in forked children (a one-off task; workers forked up front): their answers, or their
errors, come back to the process that asked."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import BrokenExecutor, wait
from pathlib import Path

import pytest
from buildkit import child_processes

from broadsheet.errors import BroadsheetError
from broadsheet.executors import ForkedWorkers
from broadsheet.forked import forked_result, start_forked


def test_a_forked_task_answers_from_its_own_process() -> None:
    parent = os.getpid()
    pid, answer = forked_result(start_forked(lambda: (os.getpid(), {"shards": [1, 2]})))
    assert pid != parent and answer == {"shards": [1, 2]}


def test_an_error_in_a_forked_task_is_raised_where_its_result_is_asked_for() -> None:
    def lost() -> None:
        raise BroadsheetError("build cache lost a rendered body (abc)", path="2024/05/story.md")

    with pytest.raises(BroadsheetError, match="lost a rendered body") as raised:
        forked_result(start_forked(lost))
    assert raised.value.path == "2024/05/story.md"


def test_a_forked_task_that_dies_before_it_answers_is_an_error() -> None:
    with pytest.raises(ChildProcessError, match="status"):
        forked_result(start_forked(lambda: os._exit(3)))


# --- ForkedWorkers: worker processes forked up front, given tasks later ---------------------------

_seen_by_workers: list[str] = []


def _remember(word: str) -> None:
    _seen_by_workers.append(word)


def _seen(_: object = None) -> tuple[int, list[str]]:
    return os.getpid(), list(_seen_by_workers)


def _fail(message: str) -> None:
    raise BroadsheetError(message, path="templates/article.html", line=7)


def _note_after(delay: float, path: str, word: str) -> None:
    time.sleep(delay)
    with open(path, "a") as log:
        log.write(word + "\n")


def test_forked_workers_run_tasks_in_processes_forked_when_they_were_made() -> None:
    """The workers are forked when made, after their initializer, so a task sees what the
    initializer did and nothing this process did afterwards."""
    before = child_processes()
    with ForkedWorkers(2, _remember, ("from the initializer",)) as workers:
        forked = child_processes() - before
        _seen_by_workers.append("after the fork")
        try:
            answers = [f.result(timeout=30) for f in [workers.submit(_seen, i) for i in range(8)]]
        finally:
            _seen_by_workers.clear()
    assert len(forked) == 2 and {pid for pid, _ in answers} <= forked
    assert all(seen == ["from the initializer"] for _, seen in answers)
    assert child_processes() == before


def test_an_error_in_a_forked_worker_is_raised_where_its_answer_is_asked_for() -> None:
    with ForkedWorkers(1) as workers:
        with pytest.raises(BroadsheetError, match="no such attribute") as raised:
            workers.submit(_fail, "no such attribute").result(timeout=30)
        assert workers.submit(_seen).result(timeout=30)[0] != os.getpid()  # and the worker goes on
    assert (raised.value.path, raised.value.line) == ("templates/article.html", 7)
    assert "Traceback" in raised.value.__notes__[0] and "_fail" in raised.value.__notes__[0]


def test_a_forked_worker_that_dies_fails_its_task_and_the_tasks_after_it() -> None:
    before = child_processes()
    workers = ForkedWorkers(1)
    # The worker names itself: any other child of this process (a test server's) is left alone.
    worker = workers.submit(os.getpid).result(timeout=30)
    assert worker in child_processes() - before
    with pytest.raises(BrokenExecutor, match="ended unexpectedly .killed by signal 9"):
        workers.submit(os.kill, worker, signal.SIGKILL).result(timeout=30)
    with pytest.raises(BrokenExecutor):
        workers.submit(_seen)
    workers.shutdown()
    assert child_processes() == before


def test_forked_workers_never_given_a_task_are_ended_at_once_and_start_no_thread() -> None:
    before, threads = child_processes(), threading.active_count()
    workers = ForkedWorkers(1, time.sleep, (30,))  # still in its initializer
    assert len(child_processes() - before) == 1 and threading.active_count() == threads
    started = time.perf_counter()
    workers.shutdown()
    assert time.perf_counter() - started < 5 and child_processes() == before


def test_a_task_not_yet_sent_to_a_worker_can_be_cancelled_and_never_runs(tmp_path: Path) -> None:
    """Two tasks at a time are sent to a worker (it never waits for the next); the others wait
    here, where cancelling one means it never runs, as with a process pool's queued tasks."""
    log = tmp_path / "log"
    with ForkedWorkers(1) as workers:
        sent = [workers.submit(_note_after, 0.5, str(log), word) for word in ("first", "second")]
        waiting = [workers.submit(_note_after, 0, str(log), word) for word in ("third", "fourth")]
        deadline = time.monotonic() + 30
        while not all(task.running() for task in sent) and time.monotonic() < deadline:
            time.sleep(0.01)  # sent by a thread of their own
        assert not sent[0].cancel() and not sent[1].cancel()
        assert waiting[1].cancel()
        wait([*sent, waiting[0]], timeout=30)
    assert log.read_text().split() == ["first", "second", "third"]


def test_a_worker_whose_initializer_failed_answers_every_task_with_that_error() -> None:
    with ForkedWorkers(1, _fail, ("templates folder not found",)) as workers:
        for _ in range(2):
            with pytest.raises(BroadsheetError, match="templates folder not found") as raised:
                workers.submit(_seen).result(timeout=30)
            assert len(raised.value.__notes__) == 1  # the initializer's traceback, noted once

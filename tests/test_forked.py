"""A task run in a forked child: its answer, or its error, comes back to the process that asked."""

from __future__ import annotations

import os

import pytest

from broadsheet.errors import BroadsheetError
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

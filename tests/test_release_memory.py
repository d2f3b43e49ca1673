"""executors.release_free_memory: a worker gives freed heap memory back instead of keeping it."""

from __future__ import annotations

import ctypes
import multiprocessing
import platform

import pytest

from broadsheet.executors import release_free_memory

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's"
)


def _resident_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def _freed_then_released(queue: multiprocessing.Queue) -> None:
    ctypes.CDLL(None).mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: every block from the heap, not mmap
    blocks = [bytearray(4096) for _ in range(40_000)]  # 160 MB, each block a malloc of its own
    kept = blocks[::64]  # the heap's top stays in use: only a trim of the holes below gives it back
    del blocks
    before = _resident_kb()
    release_free_memory()
    queue.put((before, _resident_kb(), len(kept)))


def test_freed_heap_memory_goes_back_to_the_system() -> None:
    # In a process of its own, as in a render worker: the test process's heap is not disturbed.
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_freed_then_released, args=(queue,))
    child.start()
    before, after, _ = queue.get(timeout=60)
    child.join()
    assert before > 150_000  # the freed blocks were still resident
    assert after < before - 100_000

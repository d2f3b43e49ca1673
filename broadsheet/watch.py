"""Which source files the preview server watches, with bursts of changes grouped into one.

watchfiles does the watching (inotify, debounced in Rust). It takes one `recursive` flag per
watcher, so two run side by side: one over the content and templates folders, one over the
folder holding site.toml, non-recursively. The file itself can't be watched: editors save by
renaming a new file over it, which ends a watch on the old one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from watchfiles import DefaultFilter, watch

# After the first change, wait this long for quiet before building: a save in most editors,
# a `git checkout` or an import of many files is a burst of events that should be one build.
QUIET_SECONDS = 0.15
# watchfiles' own grouping: yield after `step` ms without events, at the latest after `debounce` ms.
_STEP_MS = 50
_DEBOUNCE_MS = 800


@dataclass(frozen=True)
class WatchSpec:
    folders: tuple[Path, ...]  # watched recursively
    files: tuple[Path, ...]  # single files, watched through their folder
    ignore: tuple[Path, ...] = ()  # e.g. the output folder, should it sit inside a watched one


class _SourceFilter(DefaultFilter):
    """watchfiles' defaults (editor swap files, .git, __pycache__) plus our own path rules."""

    def __init__(self, spec: WatchSpec) -> None:
        super().__init__()
        self._files = {str(p) for p in spec.files}
        self._folders = tuple(str(p) for p in spec.folders)
        self._ignore = tuple(str(p) for p in spec.ignore)

    def __call__(self, change: object, path: str) -> bool:
        if any(path == i or path.startswith(i + "/") for i in self._ignore):
            return False
        if path in self._files:
            return True
        inside = any(path.startswith(f + "/") for f in self._folders)
        return inside and super().__call__(change, path)  # type: ignore[arg-type]


def _pump(paths: list[Path], recursive: bool, keep: _SourceFilter, stop: threading.Event, out: queue.Queue) -> None:
    for changes in watch(
        *paths,
        watch_filter=keep,
        recursive=recursive,
        stop_event=stop,
        debounce=_DEBOUNCE_MS,
        step=_STEP_MS,
        raise_interrupt=False,
    ):
        out.put({Path(path) for _, path in changes})


def watch_sources(spec: WatchSpec, stop: threading.Event, quiet: float = QUIET_SECONDS) -> Iterator[set[Path]]:
    """Yield the set of changed paths after each burst of changes, until `stop` is set.

    Runs in the caller's thread (so Ctrl-C reaches it); the watchers run in daemon threads.
    """
    out: queue.Queue[set[Path]] = queue.Queue()
    keep = _SourceFilter(spec)
    groups: list[tuple[list[Path], bool]] = []
    folders = [f for f in spec.folders if f.is_dir()]
    if folders:
        groups.append((folders, True))
    parents = sorted({f.parent for f in spec.files if f.parent.is_dir()} - set(folders))
    if parents:
        groups.append((parents, False))
    threads = [
        threading.Thread(target=_pump, args=(paths, rec, keep, stop, out), name="broadsheet-watch", daemon=True)
        for paths, rec in groups
    ]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        try:
            changed = out.get(timeout=0.25)
        except queue.Empty:
            continue
        while True:  # let the rest of the burst arrive
            try:
                changed |= out.get(timeout=quiet)
            except queue.Empty:
                break
        yield changed

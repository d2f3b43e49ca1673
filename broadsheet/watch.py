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


# How often the watchers wake with nothing to report: the first wake says they are watching.
_WAKE_MS = 200


class SourceWatcher:
    """Watches in daemon threads from `start()` on; `changes()` yields each burst, in the caller's
    thread (so Ctrl-C reaches it), until `stop` is set."""

    def __init__(self, spec: WatchSpec, stop: threading.Event, quiet: float = QUIET_SECONDS) -> None:
        self.spec = spec
        self.stop = stop
        self.quiet = quiet
        self._out: queue.Queue[set[Path]] = queue.Queue()

    def start(self, timeout: float = 10.0) -> None:
        """Start watching; returns once every watcher is in place, so no later change is missed."""
        keep = _SourceFilter(self.spec)
        groups: list[tuple[list[Path], bool]] = []
        folders = [f for f in self.spec.folders if f.is_dir()]
        if folders:
            groups.append((folders, True))
        parents = sorted({f.parent for f in self.spec.files if f.parent.is_dir()} - set(folders))
        if parents:
            groups.append((parents, False))
        ready = [threading.Event() for _ in groups]
        for (paths, recursive), flag in zip(groups, ready, strict=True):
            args = (paths, recursive, keep, flag)
            threading.Thread(target=self._pump, args=args, name="broadsheet-watch", daemon=True).start()
        for flag in ready:
            flag.wait(timeout)

    def _pump(self, paths: list[Path], recursive: bool, keep: _SourceFilter, ready: threading.Event) -> None:
        for changes in watch(
            *paths,
            watch_filter=keep,
            recursive=recursive,
            stop_event=self.stop,
            debounce=_DEBOUNCE_MS,
            step=_STEP_MS,
            rust_timeout=_WAKE_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            ready.set()
            if changes:
                self._out.put({Path(path) for _, path in changes})

    def changes(self) -> Iterator[set[Path]]:
        while not self.stop.is_set():
            try:
                changed = self._out.get(timeout=0.25)
            except queue.Empty:
                continue
            while True:  # let the rest of the burst arrive
                try:
                    changed |= self._out.get(timeout=self.quiet)
                except queue.Empty:
                    break
            yield changed

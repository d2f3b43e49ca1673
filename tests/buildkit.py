"""Throwaway test sites: `SiteDirs` builds one through the real CLI (subprocess) or in-process.

A module of its own (not conftest.py) so tests can import it by a name no other test folder uses.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broadsheet import write
from broadsheet.builder import BuildOptions, BuildResult, build
from broadsheet.config import SiteConfig, load_config
from broadsheet.manifest import read_manifest
from broadsheet.spare import spare_dir

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"


@dataclass(frozen=True)
class SiteDirs:
    """A test site: `root` holds content/, an optional site.toml, and the output folder."""

    root: Path
    content: Path
    output: Path
    config: Path | None

    def write(self, rel: str, text: str) -> Path:
        """Add or replace a file under content/."""
        path = self.content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def cli(self, *args: str, script: str | None = None) -> subprocess.CompletedProcess[str]:
        """`python -m broadsheet build` for this site in a subprocess (or `python <script>` with the
        same options, for build.py). The site's own folder is the working directory."""
        command = [sys.executable, script] if script else [sys.executable, "-m", "broadsheet", "build"]
        command += ["--content", str(self.content), "--output", str(self.output), "--templates", str(TEMPLATES)]
        if self.config is not None:
            command += ["--config", str(self.config)]
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        return subprocess.run(
            [*command, *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    def load_config(self) -> SiteConfig:
        return load_config(self.config) if self.config else SiteConfig(root=self.root)

    def build(self, **options: object) -> BuildResult:
        """Build in-process (fast; raises BuildFailed on input errors). Options: BuildOptions fields."""
        settings: dict[str, object] = {"cache": False, "jobs": 1, **options}
        return build(
            self.load_config(),
            BuildOptions(content_dir=self.content, output_dir=self.output, templates_dir=TEMPLATES, **settings),
        )


def spare_in_step(output: Path) -> bool:
    """The spare output tree lists the live tree's files, each with the live file's bytes and
    modification time (what `spare_fill.settle_spare` leaves)."""
    live = read_manifest(output)
    spare = spare_dir(output)
    if not live or read_manifest(spare) != live:
        return False
    return all(
        (spare / path).read_bytes() == (output / path).read_bytes()
        and (spare / path).stat().st_mtime_ns == (output / path).stat().st_mtime_ns
        for path in live
    )


def child_processes() -> set[int]:
    """This process's children, running or not yet waited for (Linux's /proc): whatever forked them,
    multiprocessing or not."""
    children: set[int] = set()
    for thread in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{thread}/children") as listed:
            children.update(int(pid) for pid in listed.read().split())
    return children


def placements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the writer's `_Placer` is given from now on (files the build process places itself)."""
    placed: list[str] = []
    place = write._Placer.place

    def recording(self: write._Placer, path: str, *rest: Any) -> None:
        placed.append(path)
        place(self, path, *rest)

    monkeypatch.setattr(write._Placer, "place", recording)
    return placed


def wrapped_python(folder: Path, first: str) -> Path:
    """An executable in `folder` that runs the shell line `first` (`sleep 1`; `exit 1` to fail)
    before this Python: for `sys.executable`, where the build starts a process of its own."""
    python = folder / "python"
    python.write_text(f'#!/bin/sh\n{first}\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    return python


def pages_in_memory(path: Path) -> list[bool] | None:
    """Whether each page of the file is in the page cache (mincore(2) of a mapping of it, which reads
    nothing in: a read that may not wait, RWF_NOWAIT, starts reading what it misses); None where
    this system cannot tell."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            # Private and writable only so that ctypes can take its address; nothing is written.
            mapped = mmap.mmap(handle.fileno(), size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except (AttributeError, OSError, ValueError):
        return None
    try:
        pages = -(-size // mmap.PAGESIZE)
        found = (ctypes.c_ubyte * pages)()
        start = ctypes.c_char.from_buffer(mapped)
        try:
            failed = libc.mincore(ctypes.c_void_p(ctypes.addressof(start)), ctypes.c_size_t(size), found)
        finally:
            del start  # (the mapping cannot close while ctypes holds it)
        return None if failed else [bool(byte & 1) for byte in found]
    finally:
        mapped.close()


def out_of_memory(*paths: Path) -> None:
    """Drop the files' pages from the page cache, as a day's other work would; skips the test where
    this file system keeps them (tmpfs) or cannot say whether it does."""
    if not hasattr(os, "posix_fadvise"):
        pytest.skip("this system cannot be told to drop a file from memory")
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # (dirty pages are not dropped)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        found = pages_in_memory(path)
        if found is None or any(found):
            pytest.skip("this file system keeps files in memory, or cannot say which of their pages it holds")


def read_in_soon(path: Path, seconds: float = 10.0) -> bool:
    """Whether every page of the file is in the page cache within `seconds`, read in by someone else."""
    deadline = time.monotonic() + seconds
    while not all(pages_in_memory(path) or [False]):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True

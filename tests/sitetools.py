"""Shared test helpers: the sample site built or copied into a temporary folder, and
`broadsheet serve` as a real subprocess (start, read its address, stop it with Ctrl-C)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from broadsheet.builder import BuildOptions, build
from broadsheet.config import load_config

ROOT = Path(__file__).resolve().parents[1]
_SERVING = re.compile(r"^serving (http://\S+) ")


def sample_project(dest: Path, site_toml: str | None = None) -> Path:
    """A copy of the sample site (content, templates) in `dest`, so tests may edit it freely."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "content", dest / "content")
    shutil.copytree(ROOT / "templates", dest / "templates")
    if site_toml is not None:
        (dest / "site.toml").write_text(site_toml, encoding="utf-8")
    return dest


def build_sample_site(dest: Path, base_url: str = "http://127.0.0.1/") -> Path:
    """Build the repository's sample site into `dest`/site; returns that folder.

    The config's root is moved to `dest` so build caches and locks stay out of the repository.
    """
    config = replace(load_config(root=ROOT), root=dest)
    output = dest / "site"
    build(
        config,
        BuildOptions(
            content_dir=ROOT / "content", output_dir=output, templates_dir=ROOT / "templates", base_url=base_url
        ),
    )
    return output


class ServeProcess:
    """Runs `broadsheet serve --port 0 ARGS` in `project`; `url` is the address it printed."""

    def __init__(
        self,
        project: Path,
        *args: str,
        env: dict[str, str] | None = None,
        start_timeout: float = 60.0,
        python: str | Path = sys.executable,
    ) -> None:
        self.project = project
        self.python = python
        self.args = args
        self.env = env or {}
        self.start_timeout = start_timeout
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServeProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen(
            [str(self.python), "-m", "broadsheet", "serve", "--port", "0", *self.args],
            cwd=self.project,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr, False), daemon=True).start()
        line = self.wait_for(_SERVING.pattern, self.start_timeout)
        self.url = _SERVING.match(line).group(1)  # type: ignore[union-attr]
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    def _read(self, stream, sink: list[str], to_queue: bool) -> None:  # noqa: ANN001 - a text pipe
        for line in stream:
            sink.append(line.rstrip("\n"))
            if to_queue:
                self._lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        """The next stdout line matching `pattern` (a regex), waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.proc and self.proc.poll() is not None and self._lines.empty()):
                raise AssertionError(f"serve never printed {pattern!r}\nstdout: {self.stdout}\nstderr: {self.stderr}")
            try:
                line = self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            if re.search(pattern, line):
                return line

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Send `sig` (Ctrl-C by default) and wait; kill only if it does not stop in time."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"serve did not stop within {timeout}s of signal {sig}") from None
        return self.proc.returncode


_PAGE_KINDS = [
    ("front", re.compile(r"^$")),
    ("front page 2", re.compile(r"^page/2/$")),
    ("article", re.compile(r"^\d{4}/\d{2}/\d{2}/[^/]+/$")),
    ("day", re.compile(r"^\d{4}/\d{2}/\d{2}/$")),
    ("month", re.compile(r"^\d{4}/\d{2}/$")),
    ("year", re.compile(r"^\d{4}/$")),
    ("archive", re.compile(r"^archive/$")),
    ("tag index", re.compile(r"^tags/$")),
    ("tag", re.compile(r"^tags/[^/]+/$")),
    ("source index", re.compile(r"^sources/$")),
    ("source", re.compile(r"^sources/[^/]+/$")),
    ("author index", re.compile(r"^authors/$")),
    ("author", re.compile(r"^authors/[^/]+/$")),
]


def page_urls(site: Path) -> dict[str, str]:
    """One site-relative URL per kind of page in a built site (the first of each, in sorted order),
    plus `article with image` and `404`. Kinds the site lacks are left out."""
    dirs = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    rels = ["" if d == "." else d + "/" for d in dirs]
    found: dict[str, str] = {}
    for kind, pattern in _PAGE_KINDS:
        match = next((rel for rel in rels if pattern.match(rel)), None)
        if match is not None:
            found[kind] = match
    articles = [rel for rel in rels if _PAGE_KINDS[2][1].match(rel)]
    with_image = [rel for rel in articles if "<figure" in (site / rel / "index.html").read_text("utf-8")]
    if with_image:
        found["article with image"] = with_image[0]
    if (site / "404.html").is_file():
        found["404"] = "404.html"
    return found

"""Promise 3: builds are atomic, serialised by a lock, and only ever replace their own folder.

Real `broadsheet build` processes are SIGKILLed at seeded random moments (and, on alternate runs,
just after they start writing) while switching a site between two versions; after every kill the
live site/ must be exactly one complete version, byte for byte against its manifest and a clean
reference build, and servable over HTTP. The builds after a kill must recover on their own.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from broadsheet.manifest import MANIFEST, file_digest, read_manifest

from .helpers import TEMPLATES, broadsheet, make_project, write_article

ARTICLES = 400  # about a second per build on an idle 2-core machine
WORDS = "harbour council budget rail ferry museum school river bridge market weather election tram".split()


def _write_content(folder: Path, version: str, seed: int) -> None:
    """ARTICLES small articles; version b retitles all, drops every 7th and adds a few new ones."""
    rng = random.Random(seed)
    for i in range(ARTICLES + (20 if version == "b" else 0)):
        if version == "b" and i % 7 == 0:
            continue
        words = [rng.choice(WORDS) for _ in range(120)]
        body = "\n\n".join(" ".join(words[j : j + 40]) for j in range(0, 120, 40))
        path = folder / f"{i % 12:02d}" / f"story-{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"---\ntitle: Story {i} ({version}) {words[0]}\ndate: 2024-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
            f"tags: [{words[1]}, {words[2]}]\nauthors: [Reporter {i % 9}]\nsource: Desk {i % 5}\n---\n{body}\n",
            encoding="utf-8",
        )


class Project:
    def __init__(self, root: Path) -> None:
        self.root = make_project(root, base_url="http://example.org/")
        self.templates = root / "templates"
        # A snapshot: the reference builds and the killed builds must use the very same templates.
        shutil.copytree(TEMPLATES, self.templates)
        for version, seed in (("a", 1), ("b", 2)):
            _write_content(root / f"content_{version}", version, seed)
        self.site = root / "site"

    def command(self, version: str, output: Path) -> list[str]:
        return [
            sys.executable, "-m", "broadsheet", "build", "--quiet", "--content", str(self.root / f"content_{version}"),
            "--output", str(output), "--templates", str(self.templates),
        ]  # fmt: skip

    def build(self, version: str, output: Path) -> float:
        started = time.perf_counter()
        result = subprocess.run(
            self.command(version, output), cwd=self.root, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return time.perf_counter() - started

    def start(self, version: str, output: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(version, output),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the kill takes its workers too
            env={**os.environ, "CI": "1"},
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("atomic"))
    project.refs = {}  # type: ignore[attr-defined]
    project.seconds = {}  # type: ignore[attr-defined]
    for version in ("a", "b"):
        ref = project.root / f"ref_{version}"
        project.seconds[version] = project.build(version, ref)  # type: ignore[attr-defined]
        project.refs[version] = read_manifest(ref)  # type: ignore[attr-defined]
        assert len(project.refs[version]) > ARTICLES  # type: ignore[attr-defined]
    assert project.refs["a"] != project.refs["b"]  # type: ignore[attr-defined]
    return project


def _files(folder: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, n), folder).replace(os.sep, "/")
        for d, _, names in os.walk(folder)
        for n in names
    }


def verify(project: Project, folder: Path) -> str:
    """`folder` is one complete version, byte for byte: returns which ("a" or "b")."""
    manifest = read_manifest(folder)
    assert manifest, f"{folder}: no readable manifest"
    on_disk = _files(folder) - {MANIFEST}
    assert on_disk == set(manifest), (
        f"extra {sorted(on_disk - set(manifest))[:5]}, missing {sorted(set(manifest) - on_disk)[:5]}"
    )
    corrupt = [rel for rel, digest in manifest.items() if file_digest((folder / rel).read_bytes()) != digest]
    assert not corrupt, f"files differing from the manifest: {corrupt[:5]}"
    versions = [v for v, ref in project.refs.items() if ref == manifest]  # type: ignore[attr-defined]
    assert versions, "the site is complete but matches neither version"
    return versions[0]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def assert_servable(folder: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        manifest = read_manifest(folder)
        article = next(p for p in sorted(manifest) if p.startswith("2024/") and p.count("/") == 4)
        for rel in ("", "feed.xml", article.removesuffix("index.html")):
            with urllib.request.urlopen(base + rel, timeout=10) as response:
                assert response.status == 200
                file = rel + "index.html" if rel == "" or rel.endswith("/") else rel
                assert response.read() == (folder / file).read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def _kill_group(process: subprocess.Popen[str]) -> bool:
    """SIGKILL the build and its workers; True if it was still running."""
    running = process.poll() is None
    with contextlib.suppress(ProcessLookupError):  # it had finished, workers and all
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    return running


def _spare_state(project: Project) -> tuple[int, int, bool] | None:
    spare = project.site.with_name(f".{project.site.name}.spare")
    try:
        st = spare.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, (spare / MANIFEST).exists())


def _wait_until_writing(project: Project, process: subprocess.Popen[str], limit: float) -> None:
    """Until the build starts on the output side: the spare tree beside site/ is created, replaced,
    or loses its manifest (write_site does one of these first)."""
    before = _spare_state(project)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if _spare_state(project) != before:
            return
        time.sleep(0.002)


def test_sigkill_at_random_moments_leaves_a_whole_site(project: Project) -> None:
    rng = random.Random(20240501)
    if not project.site.exists():
        project.build("a", project.site)
    state = verify(project, project.site)
    slowest = max(project.seconds.values())  # type: ignore[attr-defined]
    interrupted = 0
    log = []
    for run in range(6):
        target = "b" if state == "a" else "a"
        process = project.start(target, project.site)
        if run % 2:
            _wait_until_writing(project, process, limit=slowest * 3)
            time.sleep(rng.uniform(0, 0.25))
        else:
            time.sleep(rng.uniform(0.05, slowest))
        alive = _kill_group(process)
        interrupted += alive
        state = verify(project, project.site)  # old or new, never a mix
        log.append(f"run {run}: {'killed mid-build' if alive else 'already done'}, site is version {state}")
        assert_servable(project.site)
    assert interrupted >= 3, "the kills mostly came too late to interrupt anything:\n" + "\n".join(log)
    # The next build recovers by itself: no manual cleanup, the right version, no leftovers.
    target = "b" if state == "a" else "a"
    project.build(target, project.site)
    assert verify(project, project.site) == target
    leftovers = [p.name for p in project.root.iterdir() if p.name.startswith(f".{project.site.name}-")]
    assert leftovers == []


def _lock_holder(lock: Path) -> int | None:
    """PID holding a flock on `lock`, read from /proc/locks (without touching the lock ourselves)."""
    try:
        inode = lock.stat().st_ino
    except FileNotFoundError:
        return None
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and parts[-3].endswith(f":{inode}"):
            return int(parts[-4])
    return None


def test_a_second_build_is_refused_while_one_runs(project: Project) -> None:
    output = project.root / "locked-site"
    project.build("a", output)
    first = project.start("b", output)
    try:
        lock = output.with_name(f".{output.name}.lock")
        deadline = time.monotonic() + 60
        while _lock_holder(lock) != first.pid:
            assert first.poll() is None and time.monotonic() < deadline, "the build never took the lock"
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGSTOP)  # hold it there, lock taken, mid-build
        second = subprocess.run(
            project.command("a", output), cwd=project.root, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode == 1
        assert "another build" in second.stderr and "Traceback" not in second.stderr
        assert verify(project, output) == "a"  # the refused build touched nothing
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert verify(project, output) == "b"


# --- output folders that must never be replaced --------------------------------------------------------
def _refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "refusing" in result.stderr or "did not write" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {rel: (folder / rel).read_bytes() for rel in _files(folder)}


@pytest.mark.parametrize("where", ["root", "home", "project", "parent of content", "content", "foreign"])
def test_refuses_output_folders_that_are_not_build_outputs(tmp_path: Path, where: str) -> None:
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "diary.txt").write_text("mine", "utf-8")
    project = make_project(tmp_path / "work" / "project")
    write_article(project / "content", "2024/a.md", {"title": "A", "date": "2024-01-02"})
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8 not ours")
    output = {
        "root": Path("/"),
        "home": home,
        "project": project,
        "parent of content": tmp_path / "work",
        "content": project / "content",
        "foreign": foreign,
    }[where]
    before = _snapshot(tmp_path)
    args = ["build", "--templates", str(TEMPLATES), "--output", str(output)]
    _refused(broadsheet(*args, cwd=project, env={"HOME": str(home)}))
    assert _snapshot(tmp_path) == before


def test_refuses_a_folder_holding_content_elsewhere(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    content = tmp_path / "data" / "content"
    write_article(content, "2024/a.md", {"title": "A", "date": "2024-01-02"})
    args = ["build", "--templates", str(TEMPLATES), "--content", str(content), "--output", str(tmp_path / "data")]
    _refused(broadsheet(*args, cwd=project))
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["content"]


def test_files_added_to_a_built_site_are_never_deleted(tmp_path: Path) -> None:
    """A CNAME or a .git folder someone put into site/ must not vanish in the next swap."""
    project = make_project(tmp_path / "project")
    write_article(project / "content", "2024/a.md", {"title": "A", "date": "2024-01-02"})
    site = project / "site"
    args = ["build", "--templates", str(TEMPLATES), "--output", str(site)]
    assert broadsheet(*args, cwd=project).returncode == 0
    (site / "CNAME").write_text("news.example.org\n", "utf-8")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]\n", "utf-8")
    write_article(project / "content", "2024/b.md", {"title": "B", "date": "2024-01-03"})
    for _ in range(2):  # blue/green: a second build would swap the first one's spare back in
        result = broadsheet(*args, cwd=project)
        _refused(result)
        assert "CNAME" in result.stderr and ".git/config" in result.stderr
        assert (site / "CNAME").read_text("utf-8") == "news.example.org\n"
        assert (site / ".git" / "config").exists()
    # Moved out of the way, the build goes ahead.
    (site / "CNAME").unlink()
    shutil.rmtree(site / ".git")
    assert broadsheet(*args, cwd=project).returncode == 0


class _Planted:
    """Unpickled, it makes a folder: a stand-in for any call a planted pickle could make."""

    def __init__(self, where: Path) -> None:
        self.where = str(where)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.where,))


def test_notes_planted_beside_the_output_folder_run_no_code(tmp_path: Path) -> None:
    """The folder notes lie beside the output folder, which may sit somewhere shared (a web root). A
    pickle put there in their place is read as no notes (every folder is looked at), not run."""
    project = make_project(tmp_path / "project")
    write_article(project / "content", "2024/a.md", {"title": "A", "date": "2024-01-02"})
    site = tmp_path / "www" / "site"
    args = ["build", "--templates", str(TEMPLATES), "--output", str(site)]
    assert broadsheet(*args, cwd=project).returncode == 0
    notes = site.with_name(".site.folders.pickle")
    assert notes.is_file()
    ran = tmp_path / "ran"
    notes.write_bytes(pickle.dumps({"0": _Planted(ran)}))
    write_article(project / "content", "2024/b.md", {"title": "B", "date": "2024-01-03"})
    result = broadsheet(*args, cwd=project)
    assert result.returncode == 0, result.stderr
    assert not ran.exists()
    assert b"posix" not in notes.read_bytes()  # written anew, with plain data
    assert (site / "2024" / "01" / "03" / "b" / "index.html").is_file()


def test_an_empty_folder_is_fine(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    write_article(project / "content", "2024/a.md", {"title": "A", "date": "2024-01-02"})
    (tmp_path / "empty").mkdir()
    args = ["build", "--templates", str(TEMPLATES), "--output", str(tmp_path / "empty")]
    assert broadsheet(*args, cwd=project).returncode == 0
    assert (tmp_path / "empty" / "index.html").exists()

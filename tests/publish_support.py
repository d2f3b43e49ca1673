"""Helpers for the publish and hosting tests: a private copy of the sample project, built with the
real builder, and small readers for folders and git repositories."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from broadsheet.builder import BuildOptions, BuildResult, build
from broadsheet.config import load_config
from broadsheet.manifest import MANIFEST

ROOT = Path(__file__).resolve().parents[1]

# git must not read the developer's own configuration, and needs an identity for commits.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
}


def make_project(dest: Path, *, base_url: str = "https://example.org/") -> Path:
    """content/, templates/ and a site.toml copied into `dest`, so a test may change them freely."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "content", dest / "content")
    shutil.copytree(ROOT / "templates", dest / "templates")
    (dest / "site.toml").write_text(f'title = "Test Sheet"\nbase_url = "{base_url}"\n', encoding="utf-8")
    return dest


def build_project(project: Path, output: Path | None = None, **options: object) -> BuildResult:
    """A real build of `project` (caches and locks stay inside the project folder)."""
    return build(load_config(project / "site.toml"), BuildOptions(output_dir=output, **options))  # type: ignore[arg-type]


def snapshot(folder: Path, *, skip: tuple[str, ...] = (".git",)) -> dict[str, bytes]:
    """Every file under `folder` (posix relative path -> bytes)."""
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel.split("/")[0] not in skip:
            files[rel] = path.read_bytes()
    return files


def site_files(site: Path) -> dict[str, bytes]:
    """What a publish sends: the built files without the build's own manifest."""
    files = snapshot(site)
    files.pop(MANIFEST)
    return files


def changed_between(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def article_files(project: Path) -> list[Path]:
    return sorted((project / "content").rglob("*.md"))

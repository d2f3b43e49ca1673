"""Helpers for the security tests: content files, projects, and real builds through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"


def frontmatter_text(meta: dict[str, Any], body: str) -> str:
    """A content file as Broadsheet reads it. safe_dump quotes and escapes whatever the values hold."""
    dumped = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10**9, default_flow_style=False)
    return f"---\n{dumped}---\n{body}\n"


def write_article(content: Path, rel: str, meta: dict[str, Any], body: str = "Text.") -> Path:
    path = content / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(frontmatter_text(meta, body), encoding="utf-8")
    return path


def make_project(root: Path, *, base_url: str = "https://example.org/news/", extra: str = "") -> Path:
    """A site folder with site.toml (plus `extra` TOML lines) and an empty content/; returns root."""
    (root / "content").mkdir(parents=True, exist_ok=True)
    config = f'title = "Security test"\nbase_url = "{base_url}"\n{extra}'
    (root / "site.toml").write_text(config, encoding="utf-8")
    return root


def broadsheet(
    *args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m broadsheet ...`) in a subprocess, capturing its output."""
    full_env = {**os.environ, "CI": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "broadsheet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


def build(
    project: Path, *extra: str, output: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    args = ["build", "--templates", str(TEMPLATES), "--quiet"]
    if output is not None:
        args += ["--output", str(output)]
    return broadsheet(*args, *extra, cwd=project, timeout=timeout)

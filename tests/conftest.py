"""Shared fixtures: small throwaway sites written by a test, and sites built once per session.

Every site lives under pytest's tmp folders, with its config root there too, so build caches and
locks never land in the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from broadsheet.builder import BuildOptions, BuildResult, build
from broadsheet.config import SiteConfig, load_config

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


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., SiteDirs]:
    """make_site(articles, config=None, name="site") -> SiteDirs.

    `articles` maps paths under content/ to file text; `config` is the text of site.toml (none if None)."""
    made: set[str] = set()

    def make(articles: dict[str, str], config: str | None = None, *, name: str = "site") -> SiteDirs:
        assert name not in made, f"make_site: {name!r} was already made in this test"
        made.add(name)
        root = tmp_path / name
        root.mkdir()
        config_path = None
        if config is not None:
            config_path = root / "site.toml"
            config_path.write_text(config, encoding="utf-8")
        site = SiteDirs(root=root, content=root / "content", output=root / "site", config=config_path)
        site.content.mkdir()
        for rel, text in articles.items():
            site.write(rel, text)
        return site

    return make


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's sample site (content/), built once under the sub-path https://example.org/news/."""
    work = tmp_path_factory.mktemp("sample")
    config = replace(load_config(root=ROOT), root=work)
    output = work / "site"
    build(
        config,
        BuildOptions(
            content_dir=ROOT / "content",
            output_dir=output,
            templates_dir=TEMPLATES,
            base_url="https://example.org/news/",
            cache=False,
        ),
    )
    return output


@pytest.fixture(scope="session")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden fixture site (tests/fixtures/golden/site) built once; see tests/regen_golden.py."""
    from regen_golden import build_golden

    return build_golden(tmp_path_factory.mktemp("golden"))

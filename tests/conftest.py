"""Shared fixtures: small throwaway sites written by a test, and sites built once per session.

Every site lives under pytest's tmp folders, with its config root there too, so build caches and
locks never land in the repository.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from buildkit import ROOT, TEMPLATES, SiteDirs
from hypothesis import settings

from broadsheet.builder import BuildOptions, build
from broadsheet.config import load_config

# Property tests check answers, not speed: on a shared 2-core CI machine one example now and then
# takes longer than hypothesis's default 200 ms deadline, which would fail a correct parser.
settings.register_profile("broadsheet", deadline=None)
settings.load_profile("broadsheet")


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

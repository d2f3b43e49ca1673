"""benchmarks/compare.py's site set-up, offline and without Hugo or Pelican installed: the Pelican copy of
the corpus says what the original says, and the Hugo and Pelican settings match Broadsheet's defaults."""

from __future__ import annotations

import runpy
import tomllib
from datetime import datetime
from pathlib import Path

import yaml

from benchmarks import compare
from benchmarks.bench import make_corpus
from broadsheet.config import SiteConfig


def _original(path: Path) -> tuple[dict, str]:
    _, front, body = path.read_text("utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def _pelican(path: Path) -> tuple[dict[str, str], str]:
    """Pelican's Markdown metadata: "Key: value" lines up to the first blank line, then the body."""
    head, body = path.read_text("utf-8").split("\n\n", 1)
    meta = {}
    for line in head.splitlines():
        key, value = line.split(": ", 1)
        meta[key] = value
    return meta, body


def test_pelican_copy_keeps_title_date_authors_tags_source_and_body(tmp_path: Path) -> None:
    content = tmp_path / "content"
    make_corpus(content, 3, seed=7)
    assert compare.make_pelican_site(tmp_path / "pelican", content) == 3
    originals = sorted(content.rglob("*.md"))
    assert len(originals) == 3
    for original in originals:
        want, want_body = _original(original)
        got, got_body = _pelican(tmp_path / "pelican" / "content" / original.relative_to(content))
        assert got["Title"] == want["title"]
        assert datetime.fromisoformat(got["Date"]) == want["date"]
        assert got["Authors"].split(", ") == want["authors"]
        assert got["Tags"].split(", ") == want["tags"]
        assert got["Category"] == want["source"]
        assert got_body == want_body


def test_pelican_subset_is_the_first_stories(tmp_path: Path) -> None:
    content = tmp_path / "content"
    make_corpus(content, 5)
    assert compare.make_pelican_site(tmp_path / "pelican", content, limit=2) == 2
    names = sorted(p.name for p in (tmp_path / "pelican" / "content").rglob("*.md"))
    assert names == ["story-000000.md", "story-000001.md"]


def test_pelican_settings_are_cold_and_match_broadsheet_defaults(tmp_path: Path) -> None:
    compare.make_pelican_site(tmp_path / "pelican", tmp_path / "empty")
    settings = runpy.run_path(str(tmp_path / "pelican" / "pelicanconf.py"))
    defaults = SiteConfig()
    assert settings["LOAD_CONTENT_CACHE"] is False and settings["CACHE_CONTENT"] is False
    assert settings["DEFAULT_PAGINATION"] == defaults.page_size
    assert settings["FEED_MAX_ITEMS"] == defaults.feed_size
    for folder in settings["THEME_TEMPLATES_OVERRIDES"]:
        assert (tmp_path / "pelican" / folder / "article.html").is_file()


def test_hugo_config_is_toml_and_mounts_the_corpus(tmp_path: Path) -> None:
    content = tmp_path / 'odd "name" \\ dir' / "content"
    compare.make_hugo_site(tmp_path / "hugo", content)
    config = tomllib.loads((tmp_path / "hugo" / "hugo.toml").read_text("utf-8"))
    defaults = SiteConfig()
    assert config["module"]["mounts"] == [{"source": content.resolve().as_posix(), "target": "content/posts"}]
    assert config["pagination"]["pagerSize"] == defaults.page_size
    assert config["services"]["rss"]["limit"] == defaults.feed_size
    assert set(config["taxonomies"].values()) == {"tags", "authors", "source"}
    layouts = tmp_path / "hugo" / "layouts"
    for name in ("baseof.html", "home.html", "page.html", "term.html", "taxonomy.html", "rss.xml", "404.html"):
        assert (layouts / name).is_file(), name

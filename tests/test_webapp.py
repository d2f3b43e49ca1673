"""The web app files at the site root: manifest written from the config, templates/root/ copied as is."""

from __future__ import annotations

import json
from pathlib import Path

from broadsheet.config import SiteConfig
from broadsheet.webapp import MANIFEST, webapp_outputs

REPO = Path(__file__).resolve().parents[1]


def _outputs(templates: Path, config: SiteConfig) -> dict[str, bytes]:
    return {o.path: o.data if o.data is not None else o.source.read_bytes() for o in webapp_outputs(config, templates)}


def test_manifest_comes_from_the_config_and_lists_only_icons_that_exist(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "sw.js").write_text("// worker\n")
    (tmp_path / "root" / "icon-192.png").write_bytes(b"\x89PNG fake")
    config = SiteConfig(title="The Very Long Daily Clip", description="Stories we kept.", language="de")
    files = _outputs(tmp_path, config)
    assert set(files) == {"sw.js", "icon-192.png", MANIFEST}
    manifest = json.loads(files[MANIFEST])
    assert manifest["name"] == "The Very Long Daily Clip"
    assert len(manifest["short_name"]) <= 12
    assert manifest["lang"] == "de" and manifest["description"] == "Stories we kept."
    # Relative URLs resolve against the manifest, so one file serves any base path.
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"
    assert [i["src"] for i in manifest["icons"]] == ["icon-192.png"]


def test_a_theme_may_bring_its_own_manifest(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / MANIFEST).write_text('{"name": "mine"}')
    files = _outputs(tmp_path, SiteConfig())
    assert json.loads(files[MANIFEST]) == {"name": "mine"}


def test_default_theme_ships_worker_and_every_manifest_icon() -> None:
    files = _outputs(REPO / "templates", SiteConfig())
    assert "sw.js" in files
    manifest = json.loads(files[MANIFEST])
    sizes = {i["sizes"] for i in manifest["icons"]}
    assert {"192x192", "512x512", "any"} <= sizes
    for icon in manifest["icons"]:
        data = files[icon["src"]]
        assert data.startswith(b"\x89PNG") if icon["type"] == "image/png" else b"<svg" in data


def test_no_theme_root_still_gives_a_manifest(tmp_path: Path) -> None:
    files = _outputs(tmp_path, SiteConfig())
    assert set(files) == {MANIFEST} and json.loads(files[MANIFEST])["icons"] == []

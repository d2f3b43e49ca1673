"""What makes the site an installable web app that opens offline: the manifest, icons, service worker.

These files live at the site root, under plain names: a service worker controls only pages under the
folder it is served from, and installed apps keep referring to the manifest and icon URLs they saw,
so none of them can take a content-hashed name under static/. They come from templates/root/, copied
as they are; the manifest is written here from site.toml (name, language, colours).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from broadsheet.config import SiteConfig
from broadsheet.output import Output

MANIFEST = "manifest.webmanifest"
# Colours of the default theme (templates/static/style.css: --paper, --accent).
BACKGROUND = "#fdfcf8"
THEME = "#9b1c1c"
_ICONS = (
    ("icon.svg", "any", "image/svg+xml", "any"),
    ("icon-192.png", "192x192", "image/png", "any"),
    ("icon-512.png", "512x512", "image/png", "any"),
    ("icon-maskable-512.png", "512x512", "image/png", "maskable"),
)


def manifest(config: SiteConfig, available: set[str]) -> bytes:
    """The web app manifest. URLs are relative to it, so it works under any base path."""
    data = {
        "name": config.title,
        "short_name": config.title if len(config.title) <= 12 else config.title[:12].rstrip(),
        "description": config.description,
        "lang": config.language,
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "background_color": BACKGROUND,
        "theme_color": THEME,
        "icons": [
            {"src": name, "sizes": sizes, "type": kind, "purpose": purpose}
            for name, sizes, kind, purpose in _ICONS
            if name in available
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def webapp_outputs(config: SiteConfig, templates_dir: Path) -> Iterator[Output]:
    """templates/root/* at the site root, plus the manifest (unless the theme ships its own)."""
    root = templates_dir / "root"
    names: set[str] = set()
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
            rel = path.relative_to(root).as_posix()
            names.add(rel)
            yield Output(rel, source=path)
    if MANIFEST not in names:
        yield Output(MANIFEST, data=manifest(config, names))

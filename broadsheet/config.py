"""Site configuration: `site.toml` read into a frozen `SiteConfig`.

Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadsheet.errors import BroadsheetError

CONFIG_NAME = "site.toml"


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Broadsheet"
    description: str = "News, collected and kept."
    base_url: str = "http://localhost:8000/"
    language: str = "en"
    timezone: str = "UTC"
    page_size: int = 20
    feed_size: int = 20
    related_count: int = 5
    content_dir: str = "content"
    output_dir: str = "site"
    templates_dir: str = "templates"
    # Extra alias -> canonical tag slug pairs, merged into the importer's built-in table.
    tag_aliases: dict[str, str] = field(default_factory=dict)
    # Feed subscriptions, read by `broadsheet fetch`; kept as plain tables here.
    feeds: tuple[dict[str, Any], ...] = ()
    # The folder the config file lives in; relative dirs above resolve against it.
    root: Path = Path(".")

    @property
    def base_path(self) -> str:
        """The URL path the site lives under, always with leading and trailing slash."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    @property
    def site_url(self) -> str:
        """The base URL with a trailing slash."""
        return self.base_url if self.base_url.endswith("/") else self.base_url + "/"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def path(self, name: str) -> Path:
        """Resolve one of the *_dir settings against the config's folder."""
        return (self.root / getattr(self, name)).resolve()


_TYPES: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "description": str,
    "base_url": str,
    "language": str,
    "timezone": str,
    "page_size": int,
    "feed_size": int,
    "related_count": int,
    "content_dir": str,
    "output_dir": str,
    "templates_dir": str,
    "tag_aliases": dict,
    "feeds": list,
}


def parse_config(data: dict[str, Any], *, source: str, root: Path) -> SiteConfig:
    """Check and convert a parsed TOML table into a SiteConfig."""
    known = {f.name for f in fields(SiteConfig)} - {"root"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise BroadsheetError(f"unknown setting {key!r} (known: {', '.join(sorted(known))})", path=source)
        expected = _TYPES[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise BroadsheetError(
                f"setting {key!r} must be {_type_name(expected)}, not {type(value).__name__}", path=source
            )
        values[key] = value
    if "feeds" in values:
        values["feeds"] = tuple(values["feeds"])
    config = replace(SiteConfig(root=root), **values)
    _validate(config, source)
    return config


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", dict: "a table", list: "an array"}
    return names.get(t, str(t))  # type: ignore[arg-type]


def _validate(config: SiteConfig, source: str) -> None:
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BroadsheetError(f"base_url must be an absolute http(s) URL, got {config.base_url!r}", path=source)
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BroadsheetError(f"unknown timezone {config.timezone!r}", path=source) from None
    for key in ("page_size", "feed_size", "related_count"):
        if getattr(config, key) < 1 and key != "related_count":
            raise BroadsheetError(f"{key} must be at least 1", path=source)
        if getattr(config, key) < 0:
            raise BroadsheetError(f"{key} must not be negative", path=source)


def load_config(path: Path | None = None, *, root: Path | None = None) -> SiteConfig:
    """Load `path`, or `site.toml` in `root` (default: current folder) if present, else defaults."""
    if path is None:
        root = (root or Path.cwd()).resolve()
        candidate = root / CONFIG_NAME
        if not candidate.exists():
            return SiteConfig(root=root)
        path = candidate
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BroadsheetError("config file not found", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise BroadsheetError(f"config file is not UTF-8 ({exc.reason})", path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)  # Python 3.14+; before that only the message has it
        if line is None and (found := re.search(r"\(at line (\d+),", str(exc))):
            line = int(found.group(1))
        raise BroadsheetError(f"invalid TOML: {exc}", path=str(path), line=line) from None
    return parse_config(data, source=str(path), root=path.parent)

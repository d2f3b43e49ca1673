"""Content file text -> typed `Article`. Pure: text in, Article out; errors name file and line."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from broadsheet.errors import BroadsheetError
from broadsheet.model import NO_EXTRA, Article, Image
from broadsheet.urls import slugify_once

# python-frontmatter's YAML handler, loading with a (C)SafeLoader: no Python objects from content.
_YAML = YAMLHandler()
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader that leaves timestamps as text, so a bad date gets our message and its line."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


_STR_FIELDS = (
    "source", "distributor", "copyright", "dateline", "language", "summary",
    "title_prefix", "editor_note", "correction", "original_url",
)  # fmt: skip
_KNOWN = {"title", "date", "authors", "tags", "image", "slug", "draft", *_STR_FIELDS}
_IMAGE_KEYS = ("src", "alt", "caption", "credit")


def split(text: str, path: str) -> tuple[dict[str, Any], str]:
    """Split a content file into (metadata, body). The YAML starts on line 2, after the '---'."""
    if not _YAML.detect(text):
        raise BroadsheetError("no frontmatter: the file must start with a '---' line", path=path, line=1)
    try:
        fm, body = _YAML.split(text)
    except ValueError:
        raise BroadsheetError("frontmatter is not closed by a '---' line", path=path, line=1) from None
    try:
        data = _YAML.load(fm, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # `fm` starts with the newline that ends the opening '---' (file line 1): fm's line 0 is line 1.
        offset = 1 if fm.startswith(("\n", "\r")) else 2
        line = mark.line + offset if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark and mark is not exc.context_mark:
            # An unclosed [ or { is only noticed lines later; say where the construct began.
            problem += f" ({exc.context} that starts on line {exc.context_mark.line + offset})"
        if "python/" in str(exc):
            problem = "YAML tags that build Python objects are not allowed (safe loading only)"
        raise BroadsheetError(f"invalid YAML in frontmatter: {problem}", path=path, line=line) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        problem = str(exc)
        if "integer string conversion" in problem:  # Python's guard against quadratic int parsing
            problem = "a number has more than 4300 digits; put it in quotes to keep it as text"
        raise BroadsheetError(f"invalid YAML in frontmatter: {problem}", path=path) from None
    except (IndexError, KeyError, AttributeError):
        # PyYAML's own constructors crash on some explicitly tagged values (`!!int` with no digits,
        # `!!bool ''`, `!!timestamp x`); found by fuzz/fuzz_frontmatter.py. Point at the first tag.
        offset = 1 if fm.startswith(("\n", "\r")) else 2
        tagged = [i for i, text_line in enumerate(fm.splitlines()) if "!!" in text_line]
        raise BroadsheetError(
            "invalid YAML in frontmatter: a value does not fit its `!!` type tag",
            path=path,
            line=tagged[0] + offset if tagged else None,
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BroadsheetError("frontmatter must be a mapping of keys to values", path=path, line=2)
    return data, body.lstrip("\r\n")


def parse_article(text: str, path: str, tz: ZoneInfo) -> Article:
    """Parse one content file's text. `path` is relative to the content folder (posix)."""
    meta, body = split(text, path)
    lines = _key_lines(text)

    def fail(key: str, message: str) -> BroadsheetError:
        return BroadsheetError(message, path=path, line=lines.get(key))

    title = meta.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        raise fail("title", "missing title")
    if not isinstance(title, str | int | float):
        raise fail("title", f"title must be text, not {_kind(title)}")
    if "date" not in meta or meta["date"] in (None, ""):
        raise fail("date", "missing date")
    when, has_time = _parse_date(meta["date"], tz, fail)

    slug_source = meta.get("slug")
    if slug_source is not None and not isinstance(slug_source, str | int):
        raise fail("slug", f"slug must be text, not {_kind(slug_source)}")
    slug = slugify_once(str(slug_source) if slug_source is not None else PurePosixPath(path).stem, fallback="article")

    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        raise fail("draft", f"draft must be true or false, not {_kind(draft)}")

    values: dict[str, Any] = {}
    for key in _STR_FIELDS:
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float | date):
            raise fail(key, f"{key} must be text, not {_kind(value)}")
        values[key] = str(value).strip() or None

    return Article(
        path=path,
        title=str(title).strip(),
        date=when,
        has_time=has_time,
        slug=slug,
        body=body,
        digest=hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest(),
        authors=_str_list(meta, "authors", fail),
        tags=_str_list(meta, "tags", fail),
        image=_image(meta.get("image"), fail),
        draft=draft,
        extra={k: v for k, v in meta.items() if k not in _KNOWN} or NO_EXTRA,
        **values,
    )


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(type(value), type(value).__name__)


def _key_lines(text: str) -> dict[str, int]:
    """Line number of each top-level key in the frontmatter, for error messages."""
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if line.rstrip() == "---":
            break
        m = re.match(r"([A-Za-z_][\w-]*)\s*:", line)
        if m:
            found.setdefault(m.group(1), number)
    return found


def _parse_date(value: object, tz: ZoneInfo, fail: Any) -> tuple[datetime, bool]:
    if isinstance(value, datetime):
        moment, has_time = value, True
    elif isinstance(value, date):
        moment, has_time = datetime.combine(value, time()), False
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                moment, has_time = datetime.combine(date.fromisoformat(text), time()), False
            else:
                moment, has_time = datetime.fromisoformat(text.replace("Z", "+00:00")), True
        except ValueError:
            raise fail("date", f"unparseable date {value!r} (use YYYY-MM-DD or ISO 8601)") from None
    else:
        raise fail("date", f"date must be a date or datetime, not {_kind(value)}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # naive means the site's zone, never the machine's
    try:
        return moment.astimezone(tz), has_time
    except OverflowError:  # 0001-01-01T00:00+14:00 is in year 0 in UTC; Python has no year 0
        raise fail("date", f"date {value!s} is out of range once converted to the site's timezone") from None


def _str_list(meta: Mapping[str, Any], key: str, fail: Any) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise fail(key, f"{key} must be a list of text, not {_kind(value)}")
    items: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise fail(key, f"{key} must be a list of text; found {_kind(item)}")
        text = str(item).strip()
        if text and text not in items:
            items.append(text)
    return tuple(items)


def _image(value: object, fail: Any) -> Image | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Image(src=value)
    if not isinstance(value, dict):
        raise fail("image", f"image must be a mapping (src, alt, caption, credit), not {_kind(value)}")
    unknown = set(value) - set(_IMAGE_KEYS)
    if unknown:
        raise fail("image", f"unknown image key(s): {', '.join(sorted(map(str, unknown)))}")
    fields: dict[str, str | None] = {}
    for key in _IMAGE_KEYS:
        item = value.get(key)
        if item is not None and not isinstance(item, str | int | float):
            raise fail("image", f"image {key} must be text, not {_kind(item)}")
        fields[key] = str(item).strip() or None if item is not None else None
    return Image(**fields)

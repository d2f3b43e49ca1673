"""Page fingerprints: a hash of everything a page can show, so unchanged pages are not re-rendered.

A page's key covers the global inputs (Broadsheet's code, the config, the theme's copied files) and
the page's own context, walked recursively. An article contributes its content digest and path (the
digest covers every frontmatter field and the body), a tag/source/author or a period contributes its
name and all its articles. Anything a template can reach from the context is therefore in the key.
The templates are not: each page records the template files it loaded, and an edit to one
re-renders the pages that loaded it (`changed_templates`). With the key and those templates
unchanged, so are the page's bytes.

Each page also has dependencies: the articles its context names directly, plus those its templates
read while it rendered (render.TrackingEnvironment), and those template files. While the site's
structure (which articles exist, their order, URLs and memberships: `structure_key`) and the global
inputs stay the same, a page can only change through an article it depends on: a group reached
through the context adds only its structure (its URL, its count) unless the template reads its
articles. So a build after an edit re-renders the pages depending on the edited articles without
fingerprinting the others: a month page that lists the edited headline, but not the next day's page
that links to the month.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from broadsheet.cache import code_fingerprint
from broadsheet.config import SiteConfig
from broadsheet.model import Article, Period, Site, Term

# A page's dependency on a template file: the file's name (as the template loader knows it) after this
# prefix, beside the paths of the articles it reads, which are relative and never start with it.
TEMPLATE_DEP = "/"
# Theme files that are copied, not rendered (templates/static/ under content-hashed names, which every
# page links; templates/root/): a change there is a global input.
_COPIED = ("static", "root")


def template_digests(templates_dir: Path) -> dict[str, str]:
    """Each file of the theme by its name under `templates_dir` -> a digest of its bytes."""
    return {
        path.relative_to(templates_dir).as_posix(): hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        for path in sorted(p for p in templates_dir.rglob("*") if p.is_file())
    }


def is_rendered_template(name: str) -> bool:
    """Whether a theme file (by `template_digests` name) is a template pages are rendered with,
    which is then a dependency of the pages that load it, not of every page."""
    return name.split("/", 1)[0] not in _COPIED


def global_fingerprint(config: SiteConfig, theme: Mapping[str, str], extra: Mapping[str, Any]) -> str:
    """Inputs every page shares: a change here re-renders everything (but re-parses nothing). Of the
    theme (`template_digests`), only the copied files: each page depends on the templates it loaded."""
    digest = hashlib.blake2b(digest_size=16)
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "root"}
    digest.update(repr(sorted(settings.items())).encode())
    digest.update(repr(sorted(extra.items())).encode())
    digest.update(code_fingerprint().encode())
    copied = {name: d for name, d in theme.items() if not is_rendered_template(name)}
    digest.update(repr(sorted(copied.items())).encode())
    return digest.hexdigest()


def changed_templates(before: Mapping[str, str] | None, now: Mapping[str, str]) -> set[str] | None:
    """The rendered templates whose bytes differ between two `template_digests`; None when a file
    was added or removed, or `before` is unknown: a page may depend on a template's absence
    (`{% include ... ignore missing %}`), which no page records."""
    if before is None or before.keys() != now.keys():
        return None
    return {name for name, d in now.items() if before[name] != d and is_rendered_template(name)}


class Fingerprinter:
    """Hashes page contexts; groups (terms, periods) are hashed once per build and reused."""

    def __init__(self, global_key: str) -> None:
        self.global_key = global_key.encode()
        self._groups: dict[int, bytes] = {}
        self._members: dict[int, bytes] = {}

    def key_and_deps(self, url: str, template: str, context: Mapping[str, Any]) -> tuple[str, set[str]]:
        """The page's key, and the paths of the articles its context names (not through a group)."""
        parts: list[bytes] = [f"{url}\0{template}\0".encode()]
        deps: set[str] = set()
        self._walk(parts, context, deps)
        key = hashlib.blake2b(b"".join(parts), key=self.global_key[:64], digest_size=16).hexdigest()
        return key, deps

    def group(self, value: Term | Period) -> bytes:
        found = self._groups.get(id(value))
        if found is None:
            head = (value.kind, value.slug, value.name) if isinstance(value, Term) else value.key
            parts = [repr(head).encode()]
            parts.extend(self._article(a) for a in value.articles)
            found = hashlib.blake2b(b"".join(parts), digest_size=16).digest()
            self._groups[id(value)] = found
        return found

    def members(self, value: Term | Period) -> bytes:
        """A hash of which articles a group holds, in order (not of what they say)."""
        found = self._members.get(id(value))
        if found is None:
            joined = "\0".join(a.path for a in value.articles)
            found = self._members[id(value)] = hashlib.blake2b(joined.encode(), digest_size=16).digest()
        return found

    @staticmethod
    def _article(article: Article) -> bytes:
        # Made each time, not remembered: that would hold 150 bytes for every article in every
        # process, to save a fifth of a microsecond on each of a dozen pages that name it.
        return f"A{article.digest}{article.path}\0".encode()

    def _walk(self, parts: list[bytes], value: Any, deps: set[str]) -> None:
        kind = type(value)
        if kind is Article:
            parts.append(self._article(value))
            deps.add(value.path)
        elif kind in _SCALARS:
            parts.append(b"V" + repr(value).encode() + b"\0")
        elif kind is Term or kind is Period:
            parts.append(b"G" + self.group(value))
        elif kind is list or kind is tuple:
            parts.append(b"[")
            for item in value:
                self._walk(parts, item, deps)
            parts.append(b"]")
        elif isinstance(value, Mapping):
            parts.append(b"{")
            for k in sorted(value):
                parts.append(repr(k).encode())
                self._walk(parts, value[k], deps)
            parts.append(b"}")
        elif dataclasses.is_dataclass(value):
            parts.append(kind.__name__.encode())
            for name in _field_names(kind):
                self._walk(parts, getattr(value, name), deps)
        else:
            raise TypeError(f"cannot fingerprint {kind.__name__} in a page context")


_SCALARS = {type(None), str, int, float, bool, date, datetime}
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def structure_key(site: Site) -> str:
    """What decides which pages exist and which articles each one lists, in which order: every
    article's path, URL, date and memberships. Everything else about an article (title, body,
    summary, image, ...) reaches pages only through the article itself, so an edit that keeps this
    key can only change the pages that depend on the edited article."""
    digest = hashlib.blake2b(digest_size=16)
    for a in site.articles:
        digest.update(repr(structure_of(a)).encode())
    digest.update(repr(site.assets).encode())
    return digest.hexdigest()


def structure_of(article: Article) -> tuple:
    """An article's part in the structure: its path, URL, date and memberships."""
    return (article.path, article.url, article.date.isoformat(), article.tags, article.source, article.authors)

"""Page fingerprints: a hash of everything a page can show, so unchanged pages are not re-rendered.

A page's key covers the global inputs (Broadsheet's code, every template file, the config) and the
page's own context, walked recursively. An article contributes its content digest and path (the
digest covers every frontmatter field and the body), a tag/source/author or a period contributes its
name and all its articles. Anything a template can reach from the context is therefore in the key:
if the key is unchanged, so are the page's bytes.
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
from broadsheet.model import Article, Period, Term


def templates_fingerprint(templates_dir: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in templates_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(templates_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def global_fingerprint(config: SiteConfig, templates_dir: Path, extra: Mapping[str, Any]) -> str:
    """Inputs every page shares: a change here re-renders everything (but re-parses nothing)."""
    digest = hashlib.blake2b(digest_size=16)
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "root"}
    digest.update(repr(sorted(settings.items())).encode())
    digest.update(repr(sorted(extra.items())).encode())
    digest.update(code_fingerprint().encode())
    digest.update(templates_fingerprint(templates_dir).encode())
    return digest.hexdigest()


class Fingerprinter:
    """Hashes page contexts; groups (terms, periods) are hashed once per build and reused."""

    def __init__(self, global_key: str) -> None:
        self.global_key = global_key.encode()
        self._memo: dict[int, bytes] = {}

    def key(self, url: str, template: str, context: Mapping[str, Any]) -> str:
        digest = hashlib.blake2b(self.global_key, digest_size=16)
        digest.update(f"{url}\0{template}\0".encode())
        self._feed(digest, context)
        return digest.hexdigest()

    def _group(self, value: Term | Period) -> bytes:
        found = self._memo.get(id(value))
        if found is None:
            digest = hashlib.blake2b(digest_size=16)
            head = (value.kind, value.slug, value.name) if isinstance(value, Term) else value.key
            digest.update(repr(head).encode())
            for article in value.articles:
                digest.update(article.digest.encode() + article.path.encode())
            found = digest.digest()
            self._memo[id(value)] = found
        return found

    def _feed(self, digest: Any, value: Any) -> None:
        if isinstance(value, Article):
            digest.update(b"A" + value.digest.encode() + value.path.encode())
        elif isinstance(value, Term | Period):
            digest.update(b"G" + self._group(value))
        elif value is None or isinstance(value, str | int | float | bool | date | datetime):
            digest.update(b"V" + repr(value).encode() + b"\0")
        elif isinstance(value, Mapping):
            digest.update(b"{")
            for k in sorted(value):
                digest.update(repr(k).encode())
                self._feed(digest, value[k])
            digest.update(b"}")
        elif isinstance(value, list | tuple):
            digest.update(b"[")
            for item in value:
                self._feed(digest, item)
            digest.update(b"]")
        elif dataclasses.is_dataclass(value):
            digest.update(type(value).__name__.encode())
            for f in dataclasses.fields(value):
                self._feed(digest, getattr(value, f.name))
        else:
            raise TypeError(f"cannot fingerprint {type(value).__name__} in a page context")

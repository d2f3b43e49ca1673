"""Stamps of a build's inputs: hashes of stat signatures and settings that say, without reading a
file, whether anything a site is made of changed since the last build."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

from broadsheet.cache import code_fingerprint
from broadsheet.config import SiteConfig
from broadsheet.load import ScannedFiles, SourceFile
from broadsheet.manifest import manifest_signature


def input_stamp(markdown: ScannedFiles, settings: str) -> str:
    """A hash of every Markdown file's stat signature and the other inputs (`settings_stamp`)."""
    digest = hashlib.blake2b(digest_size=16)
    for rel, size, mtime_ns in markdown.signatures():
        digest.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    digest.update(settings.encode())
    return digest.hexdigest()


def with_output(inputs: str, output_dir: Path) -> str:
    """The inputs' stamp and the output manifest as it is now: while both stay the same, so does the site."""
    return f"{inputs}:{manifest_signature(output_dir)}"


def settings_stamp(
    assets: Iterable[SourceFile], templates_dir: Path, config: SiteConfig, flags: tuple[bool, ...]
) -> str:
    """A hash of every input but the Markdown files: assets and templates (stat signatures), the
    settings, the build's `flags` (those options that change its output) and Broadsheet's code."""
    digest = hashlib.blake2b(digest_size=16)
    for f in assets:
        digest.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode())
    digest.update(b"templates\n")
    for path in sorted(templates_dir.rglob("*")):
        st = path.stat()
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    settings = {f.name: getattr(config, f.name) for f in fields(config)}
    digest.update(repr(sorted(settings.items())).encode())
    digest.update(repr(flags).encode())
    digest.update(code_fingerprint().encode())
    return digest.hexdigest()

"""The built site a publish sends: read from the build's manifest, refused when the build had errors.

Publishing never builds (it reads `site/` only), so it must not send a half-built site: the build
records its errors in `.broadsheet-manifest.json`, and the files it lists are exactly what is sent.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from broadsheet.errors import BroadsheetError
from broadsheet.manifest import MANIFEST


@dataclass(frozen=True)
class BuiltSite:
    root: Path
    files: tuple[str, ...]  # posix paths relative to root, sorted; the build's manifest is not among them


def load_built_site(output: Path) -> BuiltSite:
    """The files of the site built in `output`; a BroadsheetError saying why when it can't be published."""
    output = output.resolve()
    where = str(output)
    if not output.is_dir():
        raise BroadsheetError("no built site here: run `broadsheet build` first", path=where)
    manifest = output / MANIFEST
    if not manifest.is_file():
        raise BroadsheetError(
            f"this folder was not built by Broadsheet (no {MANIFEST}): run `broadsheet build` first", path=where
        )
    try:
        data = json.loads(manifest.read_text("utf-8"))
        files = data["files"]
        errors = data.get("errors")
        if not isinstance(files, dict) or not (errors is None or isinstance(errors, list)):
            raise ValueError("unexpected layout")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BroadsheetError(f"the build manifest is unreadable ({exc}): build again", path=str(manifest)) from None
    if errors is None:
        raise BroadsheetError(
            "this site was built by an older Broadsheet that did not record build errors: build again", path=where
        )
    if errors:
        first = "\n  ".join(str(e) for e in errors[:5])
        more = f"\n  … and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise BroadsheetError(
            f"the last build had {len(errors)} error(s), so this site is not what your content says; "
            f"fix them and build again before publishing:\n  {first}{more}",
            path=where,
        )
    checked = tuple(sorted(_checked(output, str(rel)) for rel in files))
    if not checked:
        raise BroadsheetError("the built site is empty: nothing to publish", path=where)
    return BuiltSite(output, checked)


def _checked(root: Path, rel: str) -> str:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel or "\n" in rel or "\0" in rel or rel == MANIFEST:
        raise BroadsheetError(f"the build manifest lists an unsafe path {rel!r}: build again", path=str(root))
    try:
        mode = (root / rel).lstat().st_mode
    except FileNotFoundError:
        message = f"{rel} is missing: the site changed since it was built; build again"
        raise BroadsheetError(message, path=str(root)) from None
    if not stat.S_ISREG(mode):
        raise BroadsheetError(f"{rel} is not a regular file: build again", path=str(root))
    return rel

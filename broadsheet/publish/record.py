"""The record a publish leaves in its target: which files it put there, with their digests.

Only files listed here are ever removed from a target, so whatever else lives there (a web
server's own files, another site) is never touched.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from broadsheet.errors import BroadsheetError

RECORD = ".broadsheet-publish.json"
_VERSION = 1


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def site_digests(root: Path, files: tuple[str, ...]) -> dict[str, str]:
    return {rel: digest((root / rel).read_bytes()) for rel in files}


def dump_record(files: dict[str, str]) -> bytes:
    """Stable bytes: the same files give the same record."""
    data = {"version": _VERSION, "generator": "broadsheet", "files": dict(sorted(files.items()))}
    return (json.dumps(data, indent=0, sort_keys=True) + "\n").encode("utf-8")


def parse_record(data: bytes, *, where: str) -> dict[str, str]:
    """The files an earlier publish wrote. An unreadable record is an error, not an empty one:
    guessing would either leave stale pages up or delete files that are not ours."""
    try:
        parsed = json.loads(data.decode("utf-8"))
        if parsed.get("version") != _VERSION or not isinstance(parsed.get("files"), dict):
            raise ValueError("unknown layout")
        files = {str(k): str(v) for k, v in parsed["files"].items()}
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise BroadsheetError(
            f"cannot read the record of earlier publishes ({exc}); move it aside to publish without removing "
            "anything an earlier publish left",
            path=where,
        ) from None
    for rel in files:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or rel in ("", ".") or "\0" in rel or rel == RECORD:
            raise BroadsheetError(f"the publish record lists an unsafe path {rel!r}", path=where)
    return files

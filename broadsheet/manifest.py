"""The manifest that marks an output tree as ours: the files Broadsheet wrote there, and the build's errors."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from json.decoder import scanstring
from pathlib import Path
from sys import intern

MANIFEST = ".broadsheet-manifest.json"
MANIFEST_VERSION = 1


def read_manifest_data(output: Path) -> dict:
    try:
        data = json.loads((output / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def files_of(data: dict) -> dict[str, str]:
    files = data.get("files")
    if data.get("version") == MANIFEST_VERSION and isinstance(files, dict) and _within(files):
        # One copy of each path and digest, however many maps hold it: both trees' manifests and the
        # cache's page records (cache.BuildCache.pages) name every file of the site.
        return {intern(str(k)): intern(str(v)) for k, v in files.items()}
    return {}


def _within(paths: Collection[str]) -> bool:
    """Every path is one the build writes: relative, inside the tree. Files are linked, replaced and
    removed by the paths a manifest lists, and one someone altered (the output folder may lie
    somewhere less guarded than the project) must not lead any of that outside: such a manifest is
    not ours. (A manifest's paths are JSON keys: strings.)

    No part of a path may be empty (an absolute path, "a//b", "a/"), "." or "..". The paths are
    joined by "/" between two more, NUL (which no file name holds, and the file system would cut a
    name at) taken as "/" too, so that each part of each path lies between two slashes: three
    substring searches, 20 ms for a manifest of 134,000 files where a regular expression took 120."""
    if not paths:
        return True
    joined = "/" + "/".join(paths).replace("\0", "/") + "/"
    return "//" not in joined and "/./" not in joined and "/../" not in joined


def errors_of(data: dict) -> list[str] | None:
    errors = data.get("errors")
    return [str(e) for e in errors] if isinstance(errors, list) else None


def read_manifest(output: Path) -> dict[str, str]:
    """path -> digest of every file the build that wrote this folder put there ({} if not ours)."""
    return files_of(read_manifest_data(output))


def record_failed_build(output: Path, errors: Sequence[str]) -> None:
    """Note in the manifest that the latest build failed, so `publish` refuses the older pages still
    here until a build succeeds. Only the manifest is replaced (atomically); every page stays."""
    manifest = output / MANIFEST
    try:
        data = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        return  # no site here (or not ours): nothing could be published from it anyway
    if not isinstance(data, dict):
        return
    data["errors"] = [str(e) for e in errors] or ["the build failed"]
    staged = manifest.with_name(f"{MANIFEST}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(data, sort_keys=True), "utf-8")
    os.replace(staged, manifest)


def manifest_signature(output_dir: Path) -> str:
    """Which manifest the output folder has (its stat signature): the one a build left there, or not."""
    try:
        st = (output_dir / MANIFEST).stat()
    except FileNotFoundError:
        return "no output"
    return f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"


def file_digest(data: bytes) -> str:
    """The digest a manifest records for a file with these bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_manifest(folder: Path, files: Mapping[str, str], errors: Sequence[str]) -> None:
    """Write the manifest of a tree of these files, made by a build with these errors."""
    with open(folder / MANIFEST, "w", encoding="utf-8") as handle:
        handle.writelines(manifest_text(files, errors))


_PART = 1024  # files a part of a manifest's text lists


def manifest_text(files: Mapping[str, str], errors: Sequence[str], part: int = _PART) -> Iterator[str]:
    """The manifest's text in parts, which joined are what json.dumps gives for it with sorted keys:
    on one line, as `live_manifest` reads it. Made whole, at the end of every build that writes, the
    text (16 MB at 100,000 articles), its UTF-8 copy and the sorted list of every (path, digest) pair
    that json.dumps makes took 21 MB at 134,000 files (by tracemalloc), in parts 1.6 MB, and took
    longer (141-191 ms against 92-119 ms)."""
    yield json.dumps({"errors": list(errors)})[:-1] + ', "files": {'
    paths = sorted(files)
    for start in range(0, len(paths), part):
        listed = json.dumps({path: files[path] for path in paths[start : start + part]})
        yield (", " if start else "") + listed[1:-1]
    yield f'}}, "version": {MANIFEST_VERSION}}}'


def without(files: dict[str, str], paths: Collection[str]) -> dict[str, str]:
    """A manifest's files less `paths` (those that could not be placed); `files` itself if none."""
    return {p: d for p, d in files.items() if p not in paths} if paths else files


def live_manifest(output: Path) -> tuple[str, list[str]]:
    """The live manifest's text and the paths it lists ("" and [] when there is none)."""
    try:
        text = (output / MANIFEST).read_text("utf-8")
    except OSError:
        return "", []
    paths = _manifest_paths(text)
    if paths is None:  # not written as `write_manifest` writes it: read whole
        paths = list(files_of(parsed(text)))
    return text, paths


def parsed(text: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


_FILES_KEY = '"files": {'


def _manifest_paths(text: str) -> list[str] | None:
    """The paths a manifest lists, in order, read from its text as `write_manifest` writes it (json.dumps with
    sorted keys, so "files" follows "errors", whose strings cannot hold the key unescaped); None for
    any other text."""
    if not text.endswith(f'"version": {MANIFEST_VERSION}}}'):
        return None
    pos = text.find(_FILES_KEY)
    if pos < 0:
        return None
    pos += len(_FILES_KEY)
    paths: list[str] = []
    try:
        while text[pos] == '"':
            path, pos = scanstring(text, pos + 1)
            if text[pos : pos + 3] != ': "':
                return None
            _, pos = scanstring(text, pos + 3)  # the digest
            paths.append(path)
            if text[pos : pos + 2] != ", ":
                break
            pos += 2
        return paths if text[pos] == "}" and _within(paths) else None
    except (IndexError, ValueError):
        return None

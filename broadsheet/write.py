"""The only module that touches the output folder.

A build is written into a fresh staging folder beside the output and then swapped in with one
atomic rename, so a reader (or a killed build) sees either the old site or the new one, never a
mix. Files whose bytes did not change are hard-linked from the old tree rather than rewritten,
keeping their modification times, so deploys and servers see only what changed. A manifest of
what Broadsheet wrote marks the folder as ours; a folder without one is never replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.render import Output

MANIFEST = ".broadsheet-manifest.json"
_MANIFEST_VERSION = 1


@dataclass(frozen=True)
class WriteStats:
    files: int
    written: int
    unchanged: int
    removed: int
    swapped: bool
    digests: dict[str, str] = field(default_factory=dict, repr=False)  # path -> digest of every file


class MissingOutput(Exception):
    """An output the build meant to keep is no longer in the output folder (someone changed it)."""


def check_output_dir(output: Path, *, project_root: Path, content_dir: Path) -> Path:
    """Refuse output folders whose replacement would destroy something that is not ours."""
    output = output.resolve()
    forbidden = {Path("/"), Path.home().resolve(), project_root.resolve()}
    if output in forbidden or output == output.anchor:
        raise BroadsheetError("refusing to build into this folder: it is not a build output folder", path=str(output))
    content = content_dir.resolve()
    if content.is_relative_to(output):
        raise BroadsheetError(
            f"refusing to build here: the output folder contains the content folder {content}", path=str(output)
        )
    if output.exists() and not output.is_dir():
        raise BroadsheetError("output path exists and is not a folder", path=str(output))
    if output.is_dir() and any(output.iterdir()) and not (output / MANIFEST).is_file():
        raise BroadsheetError(
            "output folder is not empty and was not made by Broadsheet (no manifest); "
            "refusing to replace it — choose another --output or empty it yourself",
            path=str(output),
        )
    return output


@contextlib.contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """One build per output folder at a time (advisory lock beside the folder)."""
    lock_path = output.parent / f".{output.name}.lock"
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BroadsheetError("another build of this site is running (lock held)", path=str(lock_path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_manifest(output: Path) -> dict[str, str]:
    try:
        data = json.loads((output / MANIFEST).read_text("utf-8"))
        if data.get("version") == _MANIFEST_VERSION and isinstance(data.get("files"), dict):
            return {str(k): str(v) for k, v in data["files"].items()}
    except (OSError, ValueError, AttributeError):
        pass
    return {}


def read_build_errors(output: Path) -> list[str] | None:
    """The errors the manifest records for the build that wrote (or last failed to replace) this
    folder: [] for a clean build, None when unknown (no manifest, or one from before this was kept)."""
    try:
        errors = json.loads((output / MANIFEST).read_text("utf-8")).get("errors")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(e) for e in errors] if isinstance(errors, list) else None


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
    staged.write_text(json.dumps(data, sort_keys=True, indent=0), "utf-8")
    os.replace(staged, manifest)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_site(outputs: Iterable[Output], output: Path, *, errors: Sequence[str] = ()) -> WriteStats:
    """Stream every output into a staging tree and swap it in; leave `output` alone if nothing changed.

    Outputs are written as they arrive, so a large site is never held in memory. An output with
    `keep` set must match the file already in `output` (per the manifest); it is hard-linked into
    the new tree, and MissingOutput is raised if that file has disappeared. `errors` (from a
    --keep-going build) are recorded in the manifest: `publish` refuses such a site."""
    old = read_manifest(output) if output.is_dir() else {}
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-new-", dir=output.parent))
    try:
        digests: dict[str, str] = {}
        written = unchanged = 0
        made_dirs: set[Path] = set()
        for item in outputs:
            if item.path in digests:
                raise BroadsheetError(f"two outputs want the same file {item.path!r}", path=item.path)
            data = item.data
            if item.keep is not None:
                digest = item.keep
            else:
                if data is None:
                    data = item.source.read_bytes()  # type: ignore[union-attr]
                digest = _digest(data)
            digests[item.path] = digest
            target = staging / item.path
            if target.parent not in made_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(target.parent)
            if old.get(item.path) == digest and _link(output / item.path, target):
                unchanged += 1
                continue
            if data is None:
                raise MissingOutput(item.path)
            target.write_bytes(data)
            written += 1
        removed = len(set(old) - set(digests))
        if output.is_dir() and written == 0 and removed == 0 and read_build_errors(output) == list(errors):
            shutil.rmtree(staging)
            return WriteStats(len(digests), 0, unchanged, 0, swapped=False, digests=digests)
        (staging / MANIFEST).write_text(
            json.dumps(
                {"version": _MANIFEST_VERSION, "files": digests, "errors": list(errors)}, sort_keys=True, indent=0
            ),
            "utf-8",
        )
        _swap_in(staging, output)
        return WriteStats(len(digests), written, unchanged, removed, swapped=True, digests=digests)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _link(existing: Path, target: Path) -> bool:
    try:
        os.link(existing, target)
        return True
    except OSError:
        return False


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2). False where the system can't."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _swap_in(staging: Path, output: Path) -> None:
    if not output.exists():
        os.rename(staging, output)
        return
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    retired = output.with_name(f".{output.name}-old-{tag}")
    if _exchange(staging, output):
        os.rename(staging, retired)  # staging now holds the previous site
    else:
        # Fallback: two renames. A crash between them leaves the complete previous site under
        # the -swap- name, and recover() puts it back.
        swap = output.with_name(f".{output.name}-swap-{tag}")
        os.rename(output, swap)
        os.rename(staging, output)
        os.rename(swap, retired)
    _remove_later(retired)


def _remove_later(tree: Path) -> None:
    """Delete a retired tree in a detached process: the build is done once the new site is live.
    If that process dies, the next build's recover() removes the leftover."""
    try:
        subprocess.Popen(
            [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(tree)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(tree, ignore_errors=True)


def recover(output: Path) -> None:
    """After a crash: put back a previous site caught mid-swap, drop unfinished staging trees, and
    delete retired trees (in the background; a slow deletion must not slow the next build)."""
    if not output.exists():
        swaps = sorted(output.parent.glob(f".{output.name}-swap-*"))
        if swaps:
            os.rename(swaps[-1], output)
    for leftover in output.parent.glob(f".{output.name}-new-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in output.parent.glob(f".{output.name}-swap-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in output.parent.glob(f".{output.name}-old-*"):
        _remove_later(leftover)

"""`publish --to DIR`: mirror the site into a folder, such as a web server's root, safely.

New and changed files are written first (each atomically: a reader sees the old file or the new
one), pages last, then files that an earlier publish put there and the site no longer has are
removed. Files that no publish of ours wrote are never removed; the record of what we wrote
(`.broadsheet-publish.json`) lives in the target.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.publish.record import RECORD, digest, dump_record, parse_record
from broadsheet.publish.result import PublishResult, pages_last
from broadsheet.publish.site import BuiltSite


def publish_dir(site: BuiltSite, target: Path) -> PublishResult:
    target = Path(os.path.abspath(target))
    _check_target(site.root, target)
    target.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        record_path = target / RECORD
        old = parse_record(record_path.read_bytes(), where=str(record_path)) if record_path.exists() else {}
        new: dict[str, str] = {}
        changed: list[str] = []
        for rel in site.files:
            data = (site.root / rel).read_bytes()
            new[rel] = digest(data)
            if not _same_file(target / rel, data):
                changed.append(rel)
        stale = sorted(set(old) - set(new))
        _check_conflicts(target, changed, old, new)
        # Record the new files before writing them, so a publish killed halfway still knows they are ours.
        _write_atomic(target / RECORD, dump_record({**old, **new}))
        removed: list[str] = []
        for rel in stale:  # an old file standing where the new site needs a folder goes first
            if any(p.startswith(rel + "/") for p in changed) and _is_ours(target / rel, old[rel]):
                (target / rel).unlink()
                removed.append(rel)
        changed = pages_last(changed)
        for rel in changed:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(dest, (site.root / rel).read_bytes())
        kept = _remove_stale(target, [rel for rel in stale if rel not in removed], old, removed)
        # Files edited at the target since we wrote them are theirs now: kept, and dropped from the record.
        _write_atomic(target / RECORD, dump_record(new))
    return PublishResult(str(target), tuple(changed), tuple(removed), tuple(kept))


def _check_target(site_root: Path, target: Path) -> None:
    real = target.resolve()
    if real == site_root or real.is_relative_to(site_root) or site_root.is_relative_to(real):
        raise BroadsheetError("the publish folder must be outside the built site and not contain it", path=str(target))
    if real.exists() and not real.is_dir():
        raise BroadsheetError("publish target exists and is not a folder", path=str(target))


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """One publish into a folder at a time (an advisory lock on the folder itself, no lock file)."""
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BroadsheetError("another publish into this folder is running", path=str(target)) from None
        yield
    finally:
        os.close(fd)


def _same_file(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _is_ours(path: Path, recorded: str) -> bool:
    """Still exactly what we wrote there (someone's later edit makes the file theirs)."""
    try:
        return path.is_file() and not path.is_symlink() and digest(path.read_bytes()) == recorded
    except OSError:
        return False


def _check_conflicts(target: Path, changed: list[str], old: dict[str, str], new: dict[str, str]) -> None:
    """Before writing anything: every file must be able to go where it belongs without removing
    something that is not ours (a folder where a file goes, or a foreign file where a folder goes)."""
    for rel in changed:
        dest = target / rel
        if dest.is_dir() and not dest.is_symlink():
            raise BroadsheetError(f"cannot publish {rel}: a folder of that name is in the way", path=str(dest))
        parent = Path(rel).parent
        while parent != Path("."):
            blocker = target / parent
            if blocker.exists() and not blocker.is_dir():
                key = parent.as_posix()
                if not (key in old and key not in new and _is_ours(blocker, old[key])):
                    raise BroadsheetError(
                        f"cannot publish {rel}: a file that is not from an earlier publish is in the way",
                        path=str(blocker),
                    )
            parent = parent.parent


def _write_atomic(dest: Path, data: bytes) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.publishing")
    # O_EXCL + mode 0o666: the process umask decides permissions, as for any file a user creates.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _remove_stale(target: Path, stale: list[str], old: dict[str, str], removed: list[str]) -> list[str]:
    kept: list[str] = []
    for rel in stale:
        path = target / rel
        if not path.exists() and not path.is_symlink():
            continue  # already gone (or moved aside for a folder above)
        if _is_ours(path, old[rel]):
            path.unlink()
            removed.append(rel)
            _prune_empty(target, path.parent)
        else:
            kept.append(rel)
    return kept


def _prune_empty(target: Path, folder: Path) -> None:
    """Remove folders left empty by our removals, up to (never including) the target."""
    while folder != target and folder.is_relative_to(target):
        try:
            folder.rmdir()  # fails (and stops) if anything is still in it
        except OSError:
            return
        folder = folder.parent

"""`publish --to rsync://host/module/path` or `[user@]host:path`: upload with the system rsync.

rsync compares checksums (`--checksum`), so only files whose bytes changed travel, whatever their
times. Pages go last. Instead of a blanket `--delete`, which would also delete the host's own files,
removal is limited to what an earlier publish uploaded: the record `.broadsheet-publish.json` is
fetched first, and after the upload the stale files it lists are deleted by name
(`--delete-missing-args`). `rsync:/abs/path` publishes into a local folder the same way.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.publish.record import RECORD, dump_record, parse_record, site_digests
from broadsheet.publish.result import PAGE_SUFFIXES, PublishResult
from broadsheet.publish.site import BuiltSite

# [user@]host:path, as rsync reads it: a colon before any slash. (`./a:b` is a local folder.)
_REMOTE_SHELL = re.compile(r"^(?:[^@/:\s]+@)?[^@/:\s]+:")
# Common options: compare by content, keep the build's modification times (unchanged files keep
# theirs), leave the attributes of folders on the way alone; file lists are NUL-separated.
_BASE = ("--checksum", "--times", "--from0", "--no-implied-dirs")


def is_rsync_target(to: str) -> bool:
    return to.startswith("rsync:") or bool(_REMOTE_SHELL.match(to))


def destination(to: str) -> str:
    """The destination as rsync takes it, always naming a folder (trailing slash)."""
    if to.startswith("rsync:") and not to.startswith("rsync://"):
        local = to.removeprefix("rsync:")
        if not local.startswith("/"):
            raise BroadsheetError(f"rsync:PATH needs an absolute path, got {to!r}")
        to = local
    return to if to.endswith("/") else to + "/"


def upload_commands(rsync: str, site_root: Path, dest: str, lists: Sequence[Path]) -> list[list[str]]:
    """One rsync run per file list (assets first, then pages), each sending only the listed files."""
    return [[rsync, "--recursive", *_BASE, f"--files-from={lst}", f"{site_root}/", dest] for lst in lists]


def delete_command(rsync: str, empty_dir: Path, dest: str, stale_list: Path) -> list[str]:
    """Delete exactly the listed files at dest: each is missing from the empty source folder."""
    return [rsync, "--recursive", *_BASE, "--delete-missing-args", f"--files-from={stale_list}", f"{empty_dir}/", dest]


def publish_rsync(site: BuiltSite, to: str, *, rsync: str = "rsync") -> PublishResult:
    program = shutil.which(rsync)
    if program is None:
        raise BroadsheetError(f"{rsync} is not installed: install rsync (e.g. `apt install rsync`) to publish to {to}")
    dest = destination(to)
    new = site_digests(site.root, site.files)
    with tempfile.TemporaryDirectory(prefix="broadsheet-rsync-") as tmp_name:
        tmp = Path(tmp_name)
        old = _fetch_record(program, dest, tmp)
        assets = [rel for rel in site.files if not rel.endswith(PAGE_SUFFIXES)]
        pages = [rel for rel in site.files if rel.endswith(PAGE_SUFFIXES)]
        lists = [_file_list(tmp / "assets.list", assets), _file_list(tmp / "pages.list", pages)]
        sent: list[str] = []
        for command in upload_commands(program, site.root, dest, [lst for lst in lists if lst.stat().st_size]):
            sent += _run(command + ["--out-format=%n"], to)
        stale = sorted(set(old) - set(new))
        if stale:
            for rel in stale:  # the folders must exist in the source, only the files may be missing
                (tmp / "empty" / rel).parent.mkdir(parents=True, exist_ok=True)
            _run(delete_command(program, tmp / "empty", dest, _file_list(tmp / "stale.list", stale)), to)
        record = tmp / "record"
        record.mkdir()
        (record / RECORD).write_bytes(dump_record(new))
        _run([program, "--checksum", f"{record}/{RECORD}", dest], to)
    sent_files = tuple(sorted(path for path in sent if path in new))
    return PublishResult(to, sent_files, tuple(stale))


def _file_list(path: Path, names: Sequence[str]) -> Path:
    path.write_bytes(b"".join(name.encode("utf-8") + b"\0" for name in names))
    return path


def _fetch_record(rsync: str, dest: str, tmp: Path) -> dict[str, str]:
    """The target's record of earlier publishes; none when the target or the record doesn't exist yet."""
    local = tmp / "old-record"
    result = subprocess.run(
        [rsync, "--ignore-missing-args", dest + RECORD, str(local)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        if "No such file or directory" in result.stderr and "change_dir" in result.stderr:
            return {}  # the destination folder itself doesn't exist yet: a first publish
        raise BroadsheetError(f"rsync could not read {dest}{RECORD}: {result.stderr.strip()}", path=dest)
    return parse_record(local.read_bytes(), where=dest + RECORD) if local.exists() else {}


def _run(command: list[str], to: str) -> list[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BroadsheetError(f"rsync failed (exit {result.returncode}): {result.stderr.strip()}", path=to)
    return [line for line in result.stdout.splitlines() if line and not line.endswith("/")]

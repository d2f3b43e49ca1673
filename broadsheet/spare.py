"""The spare tree beside the output folder: where it is, the two trees' manifests, opening it and sealing it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Collection, Sequence
from pathlib import Path

from broadsheet.fileops import prune_empty_dirs
from broadsheet.manifest import MANIFEST, errors_of, files_of, read_manifest, read_manifest_data, write_manifest
from broadsheet.stamps import save_stamps


def spare_dir(output: Path) -> Path:
    return output.with_name(f".{output.name}.spare")


def manifests(output: Path) -> tuple[dict[str, str], list[str] | None, dict[str, str]]:
    """The files and errors the live tree's manifest records, and the files the spare's records ({}
    when it has none). Only those, not the parsed JSON: a second copy of every path and digest of the
    site, held for the whole build."""
    data = read_manifest_data(output)
    return files_of(data), errors_of(data), read_manifest(spare_dir(output))


def open_spare(output: Path, have: dict[str, str]) -> Path:
    """The spare tree of `output`, marked as being updated (its manifest gone); `have`: the files its
    manifest listed. One without a manifest is in an unknown state (a crash mid-update, or not
    ours): it is started again, empty."""
    spare = spare_dir(output)
    if spare.is_dir() and not have:
        shutil.rmtree(spare)
    spare.mkdir(exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (spare / MANIFEST).unlink()  # from here on the spare is "being updated"
    return spare


def drop(spare: Path, paths: Collection[str]) -> list[str]:
    """Remove `paths` from the spare, and folders left empty: the paths, in the order removed."""
    stale = sorted(paths, reverse=True)
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            (spare / path).unlink()
    prune_empty_dirs(spare, stale)
    return stale


def seal(
    spare: Path, digests: dict[str, str], have: dict[str, str], touched: list[str] | None, errors: Sequence[str]
) -> None:
    """Drop what the spare has (`have`) and `digests` does not, and seal the spare with its manifest
    (`digests`, `errors`) and the times of the folders `touched` (of every folder when None)."""
    dropped = drop(spare, have.keys() - digests.keys())  # a set of one map's keys, not of both
    if touched is not None:
        touched += dropped
    write_manifest(spare, digests, errors)
    save_stamps(spare, digests, touched)

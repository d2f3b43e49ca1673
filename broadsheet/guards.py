"""Refuses an output folder, or a swap, that would destroy files Broadsheet did not write."""

from __future__ import annotations

import os
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.manifest import MANIFEST, read_manifest
from broadsheet.stamps import load_stamps


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
    if output.is_relative_to(content):
        # Every build would publish the previous site again as content assets, one level deeper.
        raise BroadsheetError(
            f"refusing to build here: the output folder is inside the content folder {content}", path=str(output)
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


def refuse_foreign_files(output: Path, ours: dict[str, str] | None = None) -> None:
    """A swap replaces the whole output folder: refuse it while someone else's files are in there.
    (Checked only when a swap is about to happen. `ours`: the folder's manifest, already read.)"""
    if output.is_dir():
        refuse(output, foreign_files(output, read_manifest(output) if ours is None else ours))


def refuse(output: Path, foreign: list[str]) -> None:
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BroadsheetError(
            f"output folder holds files Broadsheet did not write ({shown}); a build replaces the whole "
            "folder, so move them out first (files in content/ are published with the site)",
            path=str(output),
        )


def foreign_files(output: Path, ours: dict[str, str]) -> list[str]:
    """Files (and links) in our output folder that its manifest does not list: someone else's.

    Adding or removing an entry changes a folder's modification time, and the build that wrote the
    tree noted every folder's (see save_stamps), so only folders whose time moved are listed, plus
    the top one, where the manifest itself changes. Without those notes, everything is listed."""
    stamps = load_stamps(output)
    base = str(output) + "/"
    changed = [""]
    for folder, mtime in stamps.items():
        try:
            if os.stat(base + folder).st_mtime_ns != mtime:
                changed.append(folder)
        except OSError:
            pass  # gone: nothing of anyone's in there, and its parent's time moved
    found = []
    for start in changed:
        pending = [start]
        while pending:
            folder = pending.pop()
            prefix = folder + "/" if folder else ""
            try:
                with os.scandir(base + folder) as listing:
                    entries = list(listing)
            except OSError:
                continue
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if rel not in stamps:  # a folder the build did not leave: look at everything in it
                        pending.append(rel)
                elif rel not in ours and not rel.startswith(MANIFEST):  # MANIFEST.<pid>.tmp: ours, mid-update
                    found.append(rel)
    return sorted(found)

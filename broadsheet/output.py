"""One file of the built site, as the build hands it to the writer (write.py).

Apart from the renderer, so that the writer, and a process that only fills the spare output tree
(spare_fill.SpareFill), need not import Jinja and the rest of rendering to name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class Placed(NamedTuple):
    """A file already put into the spare output tree where it was rendered (write.SpareTree.place)."""

    digest: str
    touched: bool  # a file was written or linked there (False: the spare had these bytes already)


@dataclass(frozen=True)
class Output:
    """One file of the built site: bytes to write, a source file to copy, `keep`: the digest of
    the bytes already in the output folder, which are still right (the page's inputs are unchanged),
    or `placed`: already in the spare tree the build is writing."""

    path: str  # relative to the output folder, posix
    data: bytes | None = None
    source: Path | None = None
    keep: str | None = None
    immutable: bool = False  # named by its content hash: hosts may cache it for a year (see hosting.py)
    placed: Placed | None = None

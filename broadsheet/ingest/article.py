"""The importer's intermediate record: what a raw article says, before it becomes a content file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["paragraph", "heading", "list", "quote"]


@dataclass(frozen=True)
class Block:
    """One body block. `items` is used by lists only; `ordered` marks numbered lists."""

    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()
    ordered: bool = False


@dataclass(frozen=True)
class Caption:
    caption: str | None
    credit: str | None


@dataclass(frozen=True)
class RawArticle:
    title: str | None
    date: dt.date | None
    blocks: tuple[Block, ...] = ()
    title_prefix: str | None = None
    time: dt.time | None = None
    # The zone label as printed ("EDT", "GMT+2"); `utc_offset` is what it means on that date.
    timezone: str | None = None
    utc_offset: dt.timedelta | None = None
    authors: tuple[str, ...] = ()
    source: str | None = None
    distributor: str | None = None
    copyright: str | None = None
    dateline: str | None = None
    language: str | None = None
    image: Caption | None = None
    editor_note: str | None = None
    correction: str | None = None
    summary: str | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def paragraphs(self) -> tuple[Block, ...]:
        """Body blocks a reader counts as paragraphs (everything but subheadings)."""
        return tuple(b for b in self.blocks if b.kind != "heading")

    @property
    def subheadings(self) -> tuple[str, ...]:
        return tuple(b.text for b in self.blocks if b.kind == "heading")

    def missing(self) -> list[str]:
        """Required fields the text did not yield, in words a user understands."""
        problems = []
        if not self.title:
            problems.append("no recognisable headline")
        if self.date is None:
            problems.append("no publication date")
        if not self.blocks:
            problems.append("no article body")
        return problems


def block_text(block: Block) -> str:
    """A block as plain text (list items joined by newlines)."""
    return "\n".join(block.items) if block.kind == "list" else block.text

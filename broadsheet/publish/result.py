"""What a publish did, for the command's summary line and for tests."""

from __future__ import annotations

from dataclasses import dataclass

PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".html.br", ".htm.gz", ".htm.br")


@dataclass(frozen=True)
class PublishResult:
    target: str
    sent: tuple[str, ...] = ()  # files new or changed at the target
    removed: tuple[str, ...] = ()  # files an earlier publish put there that the site no longer has
    kept: tuple[str, ...] = ()  # files an earlier publish put there, changed since, so left alone
    commit: str | None = None  # git: the branch's commit after publishing

    @property
    def summary(self) -> str:
        if not self.sent and not self.removed:
            where = f"{self.target} is already up to date"
            return where + (f" (commit {self.commit[:12]})" if self.commit else "") + ": nothing to publish"
        text = f"published to {self.target}: {len(self.sent)} file(s) new or changed, {len(self.removed)} removed"
        if self.commit:
            text += f" (commit {self.commit[:12]})"
        if self.kept:
            text += f"; {len(self.kept)} stale file(s) edited at the target were left in place"
        return text


def pages_last(paths: list[str] | tuple[str, ...]) -> list[str]:
    """Assets, feeds and everything else first, then HTML: a page never arrives before what it links to."""
    return sorted(paths, key=lambda p: (p.endswith(PAGE_SUFFIXES), p))

"""Near-duplicate bodies: the same wire story as printed by several outlets.

A bottom-k MinHash sketch over word 5-shingles: one hash per shingle, keep the k smallest. Two
sketches estimate the Jaccard similarity of the shingle sets they came from, so an outlet's extra
byline, a trimmed last paragraph or a changed headline still match, while two stories on the same
subject (sharing names and phrases, not sentences) do not. Small enough to need no library, and
cheap: one hash per shingle, so indexing a content folder of thousands of files takes moments.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

SHINGLE = 5
SKETCH = 128
THRESHOLD = 0.6  # estimated Jaccard at or above which two bodies are one story
MIN_SHINGLES = 12  # bodies shorter than this are compared only for exact text identity

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Markdown link targets and image URLs differ between outlets; the words around them do not.
_LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")


@dataclass(frozen=True)
class Sketch:
    hashes: tuple[int, ...]  # sorted, at most SKETCH
    shingles: int  # how many distinct shingles the body had
    exact: str  # digest of the normalised words, for short bodies
    words: int = 0

    def similarity(self, other: Sketch) -> float:
        """Estimated Jaccard similarity of the two bodies' shingle sets (bottom-k estimator)."""
        if self.shingles < MIN_SHINGLES or other.shingles < MIN_SHINGLES:
            return 1.0 if self.exact == other.exact and self.words else 0.0
        mine, theirs = set(self.hashes), set(other.hashes)
        k = min(SKETCH, len(mine | theirs))
        union_bottom = sorted(mine | theirs)[:k]
        both = sum(1 for h in union_bottom if h in mine and h in theirs)
        return both / k if k else 0.0


def words(markdown: str) -> list[str]:
    return _WORD.findall(_LINK_TARGET.sub(" ", markdown).lower())


def sketch(markdown: str) -> Sketch:
    tokens = words(markdown)
    shingles = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(0, len(tokens) - SHINGLE + 1))}
    hashes = sorted(_hash(s) for s in shingles)[:SKETCH]
    exact = hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=16).hexdigest()
    return Sketch(tuple(hashes), len(shingles), exact, len(tokens))


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")


@dataclass
class DuplicateIndex:
    """Sketches of the bodies already kept, looked up by key (a content file's path)."""

    threshold: float = THRESHOLD

    def __post_init__(self) -> None:
        self._sketches: dict[str, Sketch] = {}
        self._buckets: dict[int, set[str]] = {}

    def add(self, key: str, body: str | Sketch) -> None:
        found = body if isinstance(body, Sketch) else sketch(body)
        self.remove(key)
        self._sketches[key] = found
        for h in found.hashes[:32]:  # the smallest hashes are shared by any two near-copies
            self._buckets.setdefault(h, set()).add(key)
        self._buckets.setdefault(-1 - int(found.exact[:15], 16), set()).add(key)

    def remove(self, key: str) -> None:
        old = self._sketches.pop(key, None)
        if old is None:
            return
        for h in (*old.hashes[:32], -1 - int(old.exact[:15], 16)):
            self._buckets.get(h, set()).discard(key)

    def match(self, body: str | Sketch, *, exclude: Iterable[str] = ()) -> tuple[str, float] | None:
        """The most similar kept body at or above the threshold, as (key, similarity)."""
        probe = body if isinstance(body, Sketch) else sketch(body)
        skip = set(exclude)
        candidates: set[str] = set()
        for h in (*probe.hashes[:32], -1 - int(probe.exact[:15], 16)):
            candidates |= self._buckets.get(h, set())
        best: tuple[str, float] | None = None
        for key in sorted(candidates - skip):
            score = probe.similarity(self._sketches[key])
            if score >= self.threshold and (best is None or score > best[1]):
                best = (key, score)
        return best

    def __len__(self) -> int:
        return len(self._sketches)

"""The site's full-text search index: static JSON shards that a small script queries in the browser.

Why our own and not Pagefind: Pagefind re-reads every built page on every build (55 s and 2.7 GB
for 10,000 articles here) and its output differs between two builds of the same site. This index
is made from terms the parse stage already extracted (and cached) per article, is byte-identical
for identical content, and costs about 0.4 s at 10,000 articles of the benchmark corpus (75
distinct terms each), about 2 s at 10,000 of real wire-story length (380 each).

Layout under /search/:
- `meta.json`: document count, chunk size, shard names, and the tag/source/author filter values;
- `docs-<n>.json`: documents n*CHUNK .. as [url, title, date label, ISO date, source, tags, authors, summary];
- `t-<hex>.json`: for the terms whose first two characters are <hex> (UTF-8, hex-encoded), each term
  -> ascending document numbers. Documents are numbered oldest first, so new articles append and
  the shards of an archive mostly stay the same from build to build.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import pickle
import re
import tempfile
import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import IO, AnyStr, TypeVar

from broadsheet.model import Article, Site
from broadsheet.pages import day_label

SEARCH_DIR = "search"
CHUNK = 500
MAX_TERM = 32
SPILL_AT = 1 << 21  # postings held at a time while the index is made (8 MB of numbers)
_WORD = re.compile(r"\w+")
# Document numbers: unsigned and at least 4 bytes. C promises `unsigned int` only 2, though it is 4
# wherever CPython runs in practice.
_NUMBERS = "I" if array("I").itemsize >= 4 else "L"
# Each ASCII byte that is not a word character (in _WORD's sense) -> a space.
_ASCII_GAPS = bytes(c if _WORD.fullmatch(chr(c)) else 32 for c in range(128)) + bytes(range(128, 256))


@lru_cache(maxsize=1)
def _marks() -> dict[int, None]:
    """Translation table deleting combining marks (Unicode category M, as \\p{M} in search.js)."""
    return {cp: None for cp in range(0x300, 0x20000) if unicodedata.category(chr(cp)).startswith("M")}


def normalise(text: str) -> list[str]:
    """Search terms of `text`: lower-cased, accents removed, split on anything not a letter or digit.
    The browser script applies the same rules to the query (`search.js`)."""
    return [w[:MAX_TERM] for w in _WORD.findall(_fold(text)) if len(w) > 1 or w.isdigit()]


def _fold(text: str) -> str:
    return text.lower() if text.isascii() else unicodedata.normalize("NFKD", text).translate(_marks()).lower()


def article_terms(article: Article, body_text: str) -> str:
    """Every distinct term of an article's title, body, tags, authors and source, space-separated
    (one string per article keeps the cache and memory small)."""
    parts = [article.title, body_text, " ".join(article.tags), " ".join(article.authors), article.source or ""]
    # normalise()'s terms, each once (an article says "the" fifty times), in first-seen order.
    text = " ".join(parts)
    folded = text if text.isascii() else _fold(text)  # (lowered below)
    if folded.isascii():
        # ASCII text (most of it) as bytes: lowered, translated and split by bytes methods, which
        # make bytes objects, cheaper than strings: 75 µs an article against 120 µs as str, and
        # twice that with the regular expression.
        words = folded.encode("ascii").lower().translate(_ASCII_GAPS).split()
        return b" ".join(_distinct_terms(words)).decode("ascii")
    return " ".join(_distinct_terms(_WORD.findall(folded)))


def _distinct_terms(words: Iterable[AnyStr]) -> dict[AnyStr, None]:
    """The words that are terms (normalise()'s rule), cut to MAX_TERM, each once, in first-seen
    order: each distinct word is filtered and cut once, however often it occurs."""
    return dict.fromkeys(w[:MAX_TERM] for w in dict.fromkeys(words) if len(w) > 1 or w.isdigit())


def search_fingerprint(site: Site, base_path: str) -> str:
    """Everything the index is made of: each article's content digest and path, and the base path."""
    digest = hashlib.blake2b(base_path.encode(), digest_size=16)
    for article in site.articles:
        digest.update(f"{article.digest}{article.path}\0".encode())
    return digest.hexdigest()


def shard_name(term: str) -> str:
    return term[:2].encode("utf-8").hex()


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def documents(site: Site) -> list[Article]:
    """Articles in document-number order: oldest first, so new articles get the next numbers."""
    return sorted(site.articles, key=lambda a: (a.date, a.slug, a.path))


def _doc_rows(docs: Sequence[Article], chunk: int, summary_of: Callable[[Article], str], base_path: str) -> bytes:
    rows = [
        [
            base_path + a.url,
            a.title,
            day_label(a.day),
            a.date.isoformat() if a.has_time else a.day.isoformat(),
            a.source or "",
            list(a.tags),
            list(a.authors),
            summary_of(a),
        ]
        for a in docs[chunk * CHUNK : (chunk + 1) * CHUNK]
    ]
    return _dump(rows)


def _dump_postings(terms: Mapping[str, array[int]]) -> bytes:
    """`_dump` of term -> document numbers, written out without making the lists: a list of a
    shard's numbers would hold a new int object (28 bytes) for each of them."""
    parts = []
    for term in sorted(terms):
        parts.append(f"{json.dumps(term, ensure_ascii=False)}:[{','.join(map(str, terms[term]))}]")
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def _meta(site: Site, docs: int, shards: Iterable[str]) -> bytes:
    return _dump(
        {
            "version": 1,
            "docs": docs,
            "chunk": CHUNK,
            "shards": sorted(shards),
            "tags": sorted({t.name for t in site.tags}),
            "sources": sorted({t.name for t in site.sources}),
            "authors": sorted({t.name for t in site.authors}),
        }
    )


_Shard = TypeVar("_Shard")  # what stands for a term shard's bytes where it was made (search_stage: its Placed)


def search_files(
    site: Site,
    terms_of: Callable[[Article], str],
    summary_of: Callable[[Article], str],
    *,
    base_path: str,
    shards: Iterable[tuple[str, _Shard]] | None = None,
) -> Iterator[tuple[str, bytes | _Shard]]:
    """(path, bytes) of every index file, in a stable order. `terms_of(article)`: its terms (as
    article_terms gives them), and `summary_of(article)`, each asked for once per article, when
    needed: neither is held for the whole site. `shards`: the term shards made elsewhere, as
    (path, whatever stands for their bytes there), instead of from `terms_of`: `term_shards` of the
    terms of `documents(site)`, in that order."""
    docs = documents(site)
    made = term_shards(terms_of(article) for article in docs) if shards is None else shards
    for chunk in range(-(-len(docs) // CHUNK)):
        yield f"{SEARCH_DIR}/docs-{chunk}.json", _doc_rows(docs, chunk, summary_of, base_path)
    names = []
    for path, data in made:
        names.append(path.removeprefix(f"{SEARCH_DIR}/t-").removesuffix(".json"))
        yield path, data
    yield f"{SEARCH_DIR}/meta.json", _meta(site, len(docs), names)


def term_shards(
    terms: Iterable[str], *, spill_dir: Path | None = None, spill_at: int = SPILL_AT
) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each term shard, by name, from each document's terms in document order.
    The postings are held `spill_at` at a time, then put into a temporary file (in `spill_dir`,
    default: the system's) and read back one shard at a time: an archive's index costs a bounded
    amount of memory, however large it grows."""
    # The one part that grows with the archive (an entry per distinct term of every article): each
    # term's document numbers as 4-byte integers, not a list's 8-byte pointers, written out without
    # ever becoming lists (_dump_postings). At 100,000 articles of the benchmark corpus (75 distinct
    # terms each, 7.5 million postings) held whole they cost 70 MB; wire stories have five times as
    # many terms.
    runs: list[dict[str, tuple[int, int]]] = []  # each spill: shard name -> where it is in the file
    spill: IO[bytes] | None = None  # made at the first spill
    with contextlib.ExitStack() as stack:
        postings: dict[str, array[int]] = {}
        held = 0
        for number, text in enumerate(terms):
            for term in text.split():
                numbers = postings.get(term)
                if numbers is None:
                    numbers = postings[term] = array(_NUMBERS)
                numbers.append(number)
                held += 1
            if held >= spill_at:
                spill = spill or stack.enter_context(tempfile.TemporaryFile(dir=spill_dir))
                runs.append(_spill(postings, spill))
                postings, held = {}, 0
        if spill is None:  # (most sites: it all fits)
            shards = _by_shard(postings)
            made = ((name, shards.pop(name)) for name in sorted(shards))  # written shards are let go
        else:
            if postings:
                runs.append(_spill(postings, spill))
            names = sorted({name for run in runs for name in run})
            made = ((name, _merged(spill, [run[name] for run in runs if name in run])) for name in names)
        del postings
        for name, shard in made:
            yield f"{SEARCH_DIR}/t-{name}.json", _dump_postings(shard)


def _by_shard(postings: Mapping[str, array[int]]) -> dict[str, dict[str, array[int]]]:
    shards: dict[str, dict[str, array[int]]] = defaultdict(dict)
    for term, numbers in postings.items():  # each distinct term once, not once per article
        shards[shard_name(term)][term] = numbers
    return shards


def _spill(postings: Mapping[str, array[int]], spill: IO[bytes]) -> dict[str, tuple[int, int]]:
    """Put the postings into the spill file, each shard's as one pickle: where each went."""
    where = {}
    for name, terms in _by_shard(postings).items():
        # Arrays pickle as their bytes: a copy of the numbers, not an object for each.
        data = pickle.dumps(terms, protocol=pickle.HIGHEST_PROTOCOL)
        where[name] = (spill.tell(), len(data))
        spill.write(data)
    return where


def _merged(spill: IO[bytes], parts: Sequence[tuple[int, int]]) -> dict[str, array[int]]:
    """A shard's postings from its parts in the spill file, which hold ascending document numbers
    in turn: each term's parts one after the other stay ascending."""
    merged: dict[str, array[int]] = {}
    for offset, length in parts:
        spill.seek(offset)
        # Safe to unpickle: this process wrote the file, which no other can open (TemporaryFile).
        for term, numbers in pickle.loads(spill.read(length)).items():  # noqa: S301
            held = merged.get(term)
            if held is None:
                merged[term] = numbers
            else:
                held.extend(numbers)
    return merged


def patch_search_files(
    site: Site,
    terms_of: Callable[[Article], str],
    summary_of: Callable[[Article], str],
    old_terms: Mapping[str, str],
    *,
    current: Callable[[str], bytes | None],
    files: Sequence[str],
    base_path: str,
) -> dict[str, bytes | None] | None:
    """The index files that change when only the articles in `old_terms` (path -> their terms in
    the index as it is) changed what they say, the site's structure staying the same: path -> new
    bytes, or None for a shard that is no longer needed. `terms_of(article)` gives an article's
    terms now, `current(path)` a file's bytes as they are; `files` lists them all. None when the
    index can't be updated in place."""
    docs = documents(site)
    number = {a.path: n for n, a in enumerate(docs)}
    have = set(files)
    out: dict[str, bytes | None] = {}
    shards: dict[str, dict[str, list[int]]] = {}
    for path, old in old_terms.items():
        if path not in number:
            return None
        n = number[path]
        chunk_file = f"{SEARCH_DIR}/docs-{n // CHUNK}.json"
        if chunk_file not in out:
            out[chunk_file] = _doc_rows(docs, n // CHUNK, summary_of, base_path)
        before, after = set(old.split()), set(terms_of(docs[n]).split())
        for term in sorted(before ^ after):
            name = shard_name(term)
            if name not in shards:
                shard_file = f"{SEARCH_DIR}/t-{name}.json"
                data = current(shard_file) if shard_file in have else b"{}"
                if data is None:
                    return None
                shards[name] = json.loads(data)
            numbers = shards[name].setdefault(term, [])
            at = bisect.bisect_left(numbers, n)
            present = at < len(numbers) and numbers[at] == n
            if term in after and not present:
                numbers.insert(at, n)
            elif term in before and present:
                del numbers[at]
                if not numbers:
                    del shards[name][term]
            else:
                return None  # the index does not hold what we think it does
    prefix = f"{SEARCH_DIR}/t-"
    names = {f.removeprefix(prefix).removesuffix(".json") for f in files if f.startswith(prefix)}
    for name, terms in shards.items():
        out[f"{SEARCH_DIR}/t-{name}.json"] = _dump(terms) if terms else None
        (names.add if terms else names.discard)(name)
    out[f"{SEARCH_DIR}/meta.json"] = _meta(site, len(docs), names)
    return out

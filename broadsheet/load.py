"""content/ -> Site: find the files, decode and parse each on its own (`parse_stage` runs that, cached
and in parallel), then index them all."""

from __future__ import annotations

import os
import stat
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, overload
from zoneinfo import ZoneInfo

from broadsheet.errors import BroadsheetError
from broadsheet.model import Article, Period, Site, Term
from broadsheet.urls import slugify

MAX_FILE_BYTES = 10 * 1024 * 1024


class SourceFile(NamedTuple):
    """A content file found by `scan` (`ScannedFiles` makes them when asked). A tuple, not a frozen
    dataclass: a tuple takes less than half the time to make (0.26 against 0.58 us)."""

    rel: str  # posix path relative to the content folder
    # The folder to read it from, as scan found it: one string that every file in the folder shares
    # (a build holds every file's entry; its own path took 93 bytes more a file). scan gives
    # strings: one Path per file costs more than the stat.
    folder: str | Path
    size: int = 0
    mtime_ns: int = 0

    @property
    def path(self) -> str:
        """Where to read it."""
        return os.path.join(self.folder, self.rel.rpartition("/")[2])


class ScannedFiles(Sequence[SourceFile]):
    """The files `scan` found, in path order: a sequence of SourceFile, made when asked for from
    columns (paths, folders, sizes, modification times). A build holds the scan from its start to
    its end, and a list of tuples took 144 bytes a file beside its path (the tuple, its two ints)
    where the columns take 32: at 100,000 articles, 11 MB less all through the build."""

    __slots__ = ("folders", "mtimes", "rels", "sizes")

    def __init__(self, files: Iterable[SourceFile] = ()) -> None:
        self.rels: list[str] = []
        self.folders: list[str | Path] = []
        self.sizes = array("q")
        self.mtimes = array("q")
        for file in files:
            self.add(*file)

    def add(self, rel: str, folder: str | Path, size: int, mtime_ns: int) -> None:
        self.rels.append(rel)
        self.folders.append(folder)
        self.sizes.append(size)
        self.mtimes.append(mtime_ns)

    def __len__(self) -> int:
        return len(self.rels)

    @overload
    def __getitem__(self, index: int) -> SourceFile: ...
    @overload
    def __getitem__(self, index: slice) -> ScannedFiles: ...
    def __getitem__(self, index: int | slice) -> SourceFile | ScannedFiles:
        if isinstance(index, slice):
            return ScannedFiles(self[i] for i in range(*index.indices(len(self))))
        return SourceFile(self.rels[index], self.folders[index], self.sizes[index], self.mtimes[index])

    def __iter__(self) -> Iterator[SourceFile]:
        return map(SourceFile, self.rels, self.folders, self.sizes, self.mtimes)

    def signatures(self) -> Iterator[tuple[str, int, int]]:
        """(path, size, modification time) of each file, without a SourceFile made for it."""
        return zip(self.rels, self.sizes, self.mtimes, strict=True)

    def sorted(self) -> ScannedFiles:
        order = sorted(range(len(self)), key=self.rels.__getitem__)
        ordered = ScannedFiles()
        ordered.rels = [self.rels[i] for i in order]
        ordered.folders = [self.folders[i] for i in order]
        ordered.sizes = array("q", (self.sizes[i] for i in order))
        ordered.mtimes = array("q", (self.mtimes[i] for i in order))
        return ordered


def scan(content_dir: Path) -> tuple[ScannedFiles, ScannedFiles]:
    """(Markdown files, other files) under content_dir, sorted, with their stat signatures.

    Hidden entries are skipped, and so is any symlink that leads outside content_dir: a link must
    not publish files from elsewhere on the machine."""
    root = content_dir.resolve()
    markdown = ScannedFiles()
    assets = ScannedFiles()
    pending = [(str(root), "")]
    # Folders already walked, by identity: a symlink to a parent folder (or two of them) would
    # otherwise be followed again and again, listing every file thousands of times.
    seen = {_identity(root.stat())}
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_symlink() and not _inside(root, Path(entry.path)):
                continue
            rel = prefix + name
            try:
                st = entry.stat()
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if _identity(st) not in seen:
                    seen.add(_identity(st))
                    subfolders.append((entry.path, rel + "/"))
                continue
            is_markdown = name.endswith(".md")
            if not is_markdown and not stat.S_ISREG(st.st_mode):
                continue  # a FIFO or device would block or never end; read_source reports .md ones
            (markdown if is_markdown else assets).add(rel, folder, st.st_size, st.st_mtime_ns)
        pending.extend(reversed(subfolders))
    return markdown.sorted(), assets.sorted()


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def decode_article(rel: str, data: bytes, tz: ZoneInfo) -> Article:
    """Decode and parse one content file's bytes; every problem becomes a BroadsheetError naming it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BroadsheetError(f"not valid UTF-8 (byte {data[exc.start]:#04x})", path=rel, line=line) from None
    if not text.strip():
        raise BroadsheetError("empty file", path=rel)
    if "\0" in text:
        raise BroadsheetError(
            "file contains NUL bytes; is it really a text file?",
            path=rel,
            line=text[: text.index("\0")].count("\n") + 1,
        )
    from broadsheet.frontmatter import parse_article  # with YAML: only needed when a file changed

    return parse_article(text.replace("\r\n", "\n"), rel, tz)


def read_source(source: SourceFile) -> bytes:
    """A content file's bytes; oversized files are refused before anything is read.

    The size is checked on the open file (no window for a swap), at most the limit is ever read
    (a file growing meanwhile can't slip through), and O_NONBLOCK keeps a FIFO from hanging."""
    try:
        fd = os.open(source.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BroadsheetError(f"cannot read: {exc.strerror}", path=source.rel) from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BroadsheetError("not a regular file (a pipe, device or socket?)", path=source.rel)
        if st.st_size > MAX_FILE_BYTES:
            raise BroadsheetError(
                f"file is {st.st_size / 1e6:.1f} MB; articles over {MAX_FILE_BYTES / 1e6:.0f} MB are refused",
                path=source.rel,
            )
        # Asking for the size it has (plus one byte, to see it grow) and not for the limit: a read
        # of the limit allocates a buffer that large (an mmap and munmap) for every file.
        data = handle.read(st.st_size + 1)
        if len(data) > st.st_size:  # it grew meanwhile: up to one byte past the limit
            data += handle.read(MAX_FILE_BYTES + 1 - len(data))
    if len(data) > MAX_FILE_BYTES:
        raise BroadsheetError(f"file grew past {MAX_FILE_BYTES / 1e6:.0f} MB while being read", path=source.rel)
    return data


def sort_key(article: Article) -> tuple:
    return (article.date, article.slug, article.path)


def build_site(
    articles: Iterable[Article], *, drafts: bool = False, assets: Iterable[str] = ()
) -> tuple[Site, list[BroadsheetError]]:
    """Index parsed articles. Two articles claiming one URL are both reported and both left out."""
    chosen = [a for a in articles if drafts or not a.draft]
    by_url: dict[str, list[Article]] = defaultdict(list)
    for article in chosen:
        by_url[article.url].append(article)
    errors: list[BroadsheetError] = []
    published: list[Article] = []
    for url, claims in by_url.items():
        if len(claims) == 1:
            published.append(claims[0])
            continue
        names = ", ".join(sorted(a.path for a in claims))
        for article in sorted(claims, key=lambda a: a.path):
            errors.append(
                BroadsheetError(
                    f"URL /{url} is claimed by more than one article ({names}); give one of them a different `slug:`",
                    path=article.path,
                )
            )
    published.sort(key=sort_key, reverse=True)
    ordered = tuple(published)
    site = Site(
        articles=ordered,
        tags=_terms("tags", ordered, lambda a: a.tags),
        sources=_terms("sources", ordered, lambda a: (a.source,) if a.source else ()),
        authors=_terms("authors", ordered, lambda a: a.authors),
        years=_periods(ordered, lambda a: (a.date.year, None, None)),
        months=_periods(ordered, lambda a: (a.date.year, a.date.month, None)),
        days=_periods(ordered, lambda a: (a.date.year, a.date.month, a.date.day)),
        assets=tuple(sorted(assets)),
    )
    return site, errors


def _terms(kind: str, articles: tuple[Article, ...], names_of: Callable[[Article], Iterable[str]]) -> tuple[Term, ...]:
    """Group by slug; the display name is the most used spelling (ties: alphabetical)."""
    members: dict[str, list[Article]] = defaultdict(list)
    spellings: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    slug_of: dict[str, str] = {}  # a few hundred names, each used by many articles
    fallback = kind.rstrip("s")
    for article in articles:
        seen: set[str] = set()
        for name in names_of(article):
            slug = slug_of.get(name)
            if slug is None:
                slug = slug_of[name] = slugify(name, fallback=fallback)
            spellings[slug][name] += 1
            if slug not in seen:
                seen.add(slug)
                members[slug].append(article)
    terms = [
        Term(kind, slug, min(spellings[slug].items(), key=lambda kv: (-kv[1], kv[0]))[0], tuple(found))
        for slug, found in members.items()
    ]
    return tuple(sorted(terms, key=lambda t: t.slug))


def _periods(articles: tuple[Article, ...], key_of: Callable[[Article], tuple]) -> tuple[Period, ...]:
    """Periods newest first, each with its articles newest first."""
    groups: dict[tuple, list[Article]] = defaultdict(list)
    for article in articles:
        groups[key_of(article)].append(article)
    return tuple(
        Period(y, m, d, tuple(found))
        for (y, m, d), found in sorted(
            groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0), reverse=True
        )
    )


def replace_articles(site: Site, new: Mapping[str, Article]) -> Site:
    """The site with some articles (by path) swapped for new versions that keep their place: the
    same path, URL, date and memberships (deps.structure_of). Every list that held the old version
    holds the new one; lists without any of them are shared, not copied."""
    old = {id(a) for a in site.articles if a.path in new}

    def swap(articles: tuple[Article, ...]) -> tuple[Article, ...]:
        return tuple(new.get(a.path, a) for a in articles)

    def groups(items: tuple, /) -> tuple:
        return tuple(g if old.isdisjoint(map(id, g.articles)) else replace(g, articles=swap(g.articles)) for g in items)

    return replace(
        site,
        articles=swap(site.articles),
        tags=groups(site.tags),
        sources=groups(site.sources),
        authors=groups(site.authors),
        years=groups(site.years),
        months=groups(site.months),
        days=groups(site.days),
    )

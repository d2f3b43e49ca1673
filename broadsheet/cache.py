"""The persistent build cache: one SQLite file under `.broadsheet-cache/`, safe to delete.

What it remembers, each keyed so a stale entry can never be used:
- per content file: its stat signature (size, mtime) -> the parsed Article, so an untouched file is
  not even read; the Article carries its content digest;
- per content digest: the body HTML, so a template change never re-parses Markdown; the body's
  search terms, which only the search index reads; and the small facts pages show of it (its word
  count and summary), read when a page asks for them: none of these is kept in memory for the site;
- per output page: the fingerprint of everything the page shows -> the digest of the bytes written,
  so a page whose inputs did not change is not rendered again; and the articles the page depends on
  (named by its context or read by its templates), indexed by article, so after an edit that keeps
  the site's structure only the pages that depend on the edited articles are looked at at all;
- per article of the last successful build: its digest and search terms, to tell which articles
  changed since then and to update the search index in place.
The file records a schema version and a fingerprint of Broadsheet's own code; a cache written by
another version, or one that is corrupt, is discarded and rebuilt from scratch.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sqlite3
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from sys import intern
from typing import Any

from broadsheet.errors import BroadsheetError
from broadsheet.load import SourceFile
from broadsheet.model import Article, Facts, share_strings
from broadsheet.page_cache import read_file_ahead

SCHEMA = 8
CACHE_DIR = ".broadsheet-cache"
_OUTPUT_MODULES = (
    "assets", "builder", "cache", "config", "deps", "edit_build", "feeds", "fileops", "forked", "frontmatter",
    "guards", "hosting", "input_stamps", "load", "locks", "manifest", "markdown", "model", "output", "page_records",
    "pages", "parse_stage", "render", "render_stage", "search_index", "search_stage", "spare", "spare_fill",
    "stale_pages", "stamps", "swap", "urls", "webapp", "write",
)  # fmt: skip


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the modules that decide a build's output: upgrading Broadsheet or editing its build
    code invalidates every cached result (the CLI, importers, server and publishers cannot)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"schema {SCHEMA}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package / f"{name}.py" for name in _OUTPUT_MODULES):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class BuildCache:
    """A thin typed wrapper over the SQLite file. Use as a context manager; commits on success."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            row = db.execute("SELECT value FROM meta WHERE key='code'").fetchone() if _has_meta(db) else None
            if row and row[0] == code_fingerprint():
                return db
            db.close()
        except sqlite3.DatabaseError:
            pass  # corrupt or not a database: start again
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(self.path) + suffix).unlink()
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, article BLOB);
            CREATE TABLE markdown (digest TEXT PRIMARY KEY, words INTEGER, summary TEXT, terms TEXT, rendered TEXT);
            CREATE TABLE pages (path TEXT PRIMARY KEY, key TEXT, digest TEXT, deps TEXT);
            CREATE TABLE readers (article TEXT PRIMARY KEY, pages TEXT);
            CREATE TABLE built (path TEXT PRIMARY KEY, digest TEXT, terms TEXT);
            CREATE TABLE related (path TEXT PRIMARY KEY, key BLOB, found TEXT);
            """
        )
        db.execute("INSERT INTO meta VALUES ('code', ?)", (code_fingerprint(),))
        return db

    def read_ahead(self) -> None:
        """Have the kernel start reading the whole file into memory (page_cache), for a build about to
        read most of it: every article's row, then every body, scattered across the file. Read ahead,
        it comes in large sequential reads while the build goes on (93 MB at 10,000 articles, in about
        half a second here), not a page at a time as SQLite asks for each."""
        read_file_ahead(self.path)

    def __enter__(self) -> BuildCache:
        self.db.execute("BEGIN")
        return self

    def checkpoint(self) -> None:
        """Commit what is stored so far (content-addressed results are valid whatever happens next)."""
        self.db.execute("COMMIT")
        self.db.execute("BEGIN")

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        if kind is None:
            # The write-ahead log emptied into the database and cut to nothing. Left to itself it was
            # never restarted (a build's own reader connections are still open when this one closes,
            # so closing did not empty it): after a full build it held thousands of pages, and every
            # later commit, however small, ran SQLite's automatic checkpoint over them again, 26 ms
            # of a 0.3 s rebuild after one edit at 10,000 articles. Emptying it takes 1-2 ms after a
            # small rebuild, and 0.25 s after a full one of 100,000 articles (whose records go in one
            # transaction, so the log holds them all: 734 MB), which later builds paid before.
            # Without waiting: a reader in the middle of a read would hold it up for the connection's
            # whole timeout, and the log can as well be emptied by a later build.
            self.db.execute("PRAGMA busy_timeout=0")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    # --- small named values (the last build's input stamp, its counts) -------------------------------
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (f"v:{key}",)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key=?", (f"v:{key}",))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"v:{key}", value))

    def blob(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (f"b:{key}",)).fetchone()
        return pickle.loads(row[0]) if row else None

    def set_blob(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"b:{key}", pickle.dumps(value, 5)))

    # --- parsed files ---------------------------------------------------------------------------
    def unchanged_articles(
        self, files: Mapping[str, SourceFile], tuples: dict[tuple[str, ...], tuple[str, ...]] | None = None
    ) -> Iterator[tuple[SourceFile, Article]]:
        """The stored article (without its body) of each of `files` (by path) whose size and
        modification time are those it was stored with, a row at a time. (Read into one dict first,
        every row's leftovers, freed among the articles kept, stayed with the process: a template
        change's build at 100,000 articles started its render at about 295 MB, not 249-253 MB.)
        `tuples`: the tuples of names to share (model.share_strings), with articles read elsewhere."""
        shared = {} if tuples is None else tuples
        for path, size, mtime, blob in self.db.execute("SELECT path, size, mtime, article FROM files"):
            source = files.get(path)
            if source is not None and source.size == size and source.mtime_ns == mtime:
                yield source, share_strings(pickle.loads(blob), shared)

    def store_articles(self, entries: Iterable[tuple[str, int, int, Article]]) -> None:
        """(path, size, mtime_ns, article without its body) of files parsed."""
        self.db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
            ((p, s, m, pickle.dumps(a, pickle.HIGHEST_PROTOCOL)) for p, s, m, a in entries),
        )

    def forget_articles_except(self, keep: set[str]) -> None:
        self._delete_except("files", "path", keep)

    # --- rendered Markdown (search terms and body HTML by content digest) ----------------------------
    def store_rendered(self, items: Iterable[tuple[str, str, str, Facts]]) -> None:
        """(digest, body HTML, search terms, facts) of articles parsed."""
        # Small first: the facts stay in the row's first page whatever its size, and reading them or
        # the terms does not walk the HTML's overflow pages.
        self.db.executemany(
            "INSERT OR REPLACE INTO markdown VALUES (?, ?, ?, ?, ?)", ((d, *f, t, h) for d, h, t, f in items)
        )

    def prune_rendered(self, live: set[str]) -> None:
        self._delete_except("markdown", "digest", live)

    # --- output pages ---------------------------------------------------------------------------
    def pages(self) -> dict[str, tuple[str, str]]:
        """path -> (fingerprint, digest) of every page recorded (paths and digests interned, as the
        output manifests' are: the same file's are one object in all of them)."""
        rows = self.db.execute("SELECT path, key, digest FROM pages")
        return {intern(path): (key, intern(digest)) for path, key, digest in rows}

    def has_pages(self) -> bool:
        return self.db.execute("SELECT 1 FROM pages LIMIT 1").fetchone() is not None

    def page_paths(self) -> list[str]:
        """The paths of every page recorded."""
        return [path for (path,) in self.db.execute("SELECT path FROM pages")]

    def pages_reading(self, articles: Iterable[str]) -> set[str]:
        """The pages of the last build that depend on any of these articles."""
        found: set[str] = set()
        for pages in self._column("readers", "article", "pages", list(articles)).values():
            found.update(_lines(pages))
        return found

    def store_pages(self, pages: Iterable[tuple[str, str, str, str]], gone: Iterable[str] = ()) -> None:
        """Records of pages rendered, as (path, key, digest, deps: article paths one per line), and
        the paths of pages the site no longer has. Other pages keep their records."""
        rows, gone = list(pages), list(gone)
        old = self._column("pages", "path", "deps", [r[0] for r in rows] + gone)
        # article -> pages that now read it (True) or no longer do (False)
        delta: dict[str, dict[str, bool]] = {}
        for path in gone:
            for article in _lines(old.get(path)):
                delta.setdefault(article, {})[path] = False
        for path, _, _, deps in rows:
            before = old.get(path)
            if before != deps:
                was, now = set(_lines(before)), set(_lines(deps))
                for article in was - now:
                    delta.setdefault(article, {})[path] = False
                for article in now - was:
                    delta.setdefault(article, {})[path] = True
        current = self._column("readers", "article", "pages", list(delta))
        updated = []
        for article, changes in delta.items():
            readers = set(_lines(current.get(article)))
            readers.update(page for page, reads in changes.items() if reads)
            readers.difference_update(page for page, reads in changes.items() if not reads)
            updated.append((article, "\n".join(sorted(readers))))
        self.db.executemany("INSERT OR REPLACE INTO readers VALUES (?, ?)", updated)
        self.db.executemany("DELETE FROM pages WHERE path=?", ((p,) for p in gone))
        self.db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)", rows)

    @contextlib.contextmanager
    def undone_if_failed(self) -> Iterator[None]:
        """What is stored inside is undone if it ends in an exception, the rest of the build's work
        kept: a render stopped half way leaves the page records as they were, not half replaced."""
        self.db.execute("SAVEPOINT attempt")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO attempt")
            raise
        finally:
            self.db.execute("RELEASE attempt")

    # --- related stories (render_stage.CachedRelated) ----------------------------------------------
    def put_related(self, answers: Mapping[str, tuple[bytes, tuple[str, ...]]]) -> None:
        """Related stories found: article path -> (key of what they were found from, their paths)."""
        rows = ((path, key, "\n".join(found)) for path, (key, found) in answers.items())
        self.db.executemany("INSERT OR REPLACE INTO related VALUES (?, ?, ?)", rows)

    def forget_related_except(self, keep: Container[str]) -> None:
        self._delete_except("related", "path", keep)

    def put_pages(self, pages: Iterable[tuple[str, str, str, str]]) -> None:
        """Records of pages rendered, as `store_pages` takes them, stored as they come: the pages
        that read each article are left for `readers_again` to find."""
        self.db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)", pages)

    def readers_again(self, gone: Iterable[str] = (), own: Callable[[str], str] = intern) -> None:
        """Drop the records of pages the site no longer has, then find again the pages that read each
        article, from every page's record: after `put_pages`, for a build that rendered most pages.

        Each page's path, and each article's, is held as the object `own` gives for it: the build's
        own copy (its paths are interned), not one made for each row read: found so, they took 10 MB
        rather than 15 MB at 30,000 articles, after the swap, where a large build peaked."""
        self.db.executemany("DELETE FROM pages WHERE path=?", ((p,) for p in gone))
        readers: dict[str, list[str]] = {}
        for row_path, deps in self.db.execute("SELECT path, deps FROM pages"):
            path = own(row_path)
            for article in _lines(deps):
                found = readers.get(article)
                if found is None:
                    readers[own(article)] = [path]
                else:
                    found.append(path)
        self.db.execute("DELETE FROM readers")
        self.db.executemany(
            "INSERT INTO readers VALUES (?, ?)", ((a, "\n".join(sorted(pages))) for a, pages in readers.items())
        )

    def _delete_except(self, table: str, key: str, keep: Container[str]) -> None:
        """Delete the rows whose key is not in `keep` (our own table and column names)."""
        gone = [(k,) for (k,) in self.db.execute(f"SELECT {key} FROM {table}") if k not in keep]  # noqa: S608
        self.db.executemany(f"DELETE FROM {table} WHERE {key}=?", gone)  # noqa: S608

    def _column(self, table: str, key: str, column: str, keys: list[str]) -> dict[str, str]:
        """key -> column for these keys: one query per key when few, one scan when many."""
        if len(keys) > 256:
            wanted = set(keys)
            rows = self.db.execute(f"SELECT {key}, {column} FROM {table}")  # noqa: S608 - our own names
            return {k: v for k, v in rows if k in wanted}
        found = {}
        for k in keys:
            row = self.db.execute(f"SELECT {column} FROM {table} WHERE {key}=?", (k,)).fetchone()  # noqa: S608
            if row:
                found[k] = row[0]
        return found

    # --- the last successful build's articles ----------------------------------------------------
    def built_digests(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, digest FROM built"))

    def built_terms(self, paths: Iterable[str]) -> dict[str, str]:
        return self._column("built", "path", "terms", list(paths))

    def record_built(self, changed: Iterable[tuple[str, str]], gone: Iterable[str]) -> None:
        """Note what a successful build was made of: (path, digest) of articles that changed since
        the last one (their terms are copied from their rendered body's row, which must be stored),
        and the paths of articles it no longer has."""
        self.db.executemany(
            "INSERT OR REPLACE INTO built SELECT ?, digest, terms FROM markdown WHERE digest=?", changed
        )
        self.db.executemany("DELETE FROM built WHERE path=?", ((p,) for p in gone))


def dependency_string(paths: Iterable[str]) -> str:
    """A page's dependencies (article paths) as `store_pages` takes them: one per line."""
    return "\n".join(sorted(paths))


def _lines(text: str | None) -> list[str]:
    return [line for line in text.split("\n") if line] if text else []


def _has_meta(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() is not None


class _Reader:
    """Reads the cache file through a connection of its own in each process (SQLite connections
    must not cross a fork), which sees what was committed before this build's changes."""

    def __init__(self, cache_path: Path | None) -> None:
        self.cache_path = cache_path
        self._db: Any = None
        self._pid = 0

    def _row(self, sql: str, *params: object) -> tuple | None:
        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(f"file:{self.cache_path}?mode=ro", uri=True)
            self._pid = os.getpid()
        return self._db.execute(sql, params).fetchone()


class RelatedAnswers(_Reader):
    """The related stories builds before this one found, read one article at a time, not held:
    article path -> (key of what they were found from, their paths), or None."""

    def __init__(self, cache_path: Path | None) -> None:
        super().__init__(cache_path)
        # Whether there are any: a cold build asks for every article's and there are none (15 µs a
        # question). What this build finds is committed at its end, so the answer holds until then.
        self._any: bool | None = None

    def __call__(self, path: str) -> tuple[bytes, list[str]] | None:
        if self._any is None:
            self._any = self._row("SELECT EXISTS (SELECT 1 FROM related)") == (1,)
        if not self._any:
            return None
        row = self._row("SELECT key, found FROM related WHERE path=?", path)
        return (row[0], row[1].split("\n") if row[1] else []) if row else None


class CachedBodies(_Reader):
    """What Markdown rendering made of article bodies: the HTML (calling it), the search terms
    (`terms`) and the facts pages show (`facts`). This build's fresh renders are in memory (digest
    -> (html, terms, facts)), the rest are read from the cache on demand: a site's bodies, terms and
    facts are never all in memory at once."""

    # Facts kept once read. A page asks for an article's two or three times in a row, and a build
    # rendering every page asks for an article's on all its lists within a short stretch
    # (render_stage.render_order): a few thousand serve most questions however large the site is.
    FACTS_KEPT = 4096

    def __init__(self, fresh: dict[str, tuple[str, str, Facts]], cache_path: Path | None) -> None:
        super().__init__(cache_path)
        self.fresh = fresh
        self._facts: dict[str, Facts] = {}

    def __call__(self, article: Article) -> str:
        return self._get(article.digest, article.path, 0, "rendered")

    def terms(self, article: Article) -> str:
        """Its search terms, space-separated (search_index.article_terms)."""
        return self._get(article.digest, article.path, 1, "terms")

    def terms_at(self, digest: str) -> str:
        """`terms` of the article whose content digest is `digest`, where there is no Article."""
        return self._get(digest, None, 1, "terms")

    def facts(self, article: Article) -> Facts:
        """Its word count and summary."""
        digest = article.digest
        kept = self._facts
        found = kept.get(digest)
        if found is None:
            fresh = self.fresh.get(digest)
            if fresh is not None:
                return fresh[2]
            found = kept[digest] = Facts(*self._read(digest, article.path, "words, summary"))
            if len(kept) > self.FACTS_KEPT:
                del kept[next(iter(kept))]  # the first kept: a dict keeps its keys in order
        return found

    def _get(self, digest: str, path: str | None, index: int, column: str) -> str:
        found = self.fresh.get(digest)
        if found is not None:
            return found[index]
        return self._read(digest, path, column)[0]

    def _read(self, digest: str, path: str | None, columns: str) -> tuple:
        row = self._row(f"SELECT {columns} FROM markdown WHERE digest=?", digest)  # noqa: S608
        if row is None:  # named by the article's file, or where there is none, by the cache's
            raise BroadsheetError(
                f"build cache lost a rendered body ({digest}); delete .broadsheet-cache and build again",
                path=path or str(self.cache_path),
            )
        return row

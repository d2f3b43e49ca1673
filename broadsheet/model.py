"""The content model: plain frozen dataclasses, built once by `load` and only read afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field, fields
from datetime import date, datetime
from sys import intern
from typing import Any, NamedTuple, NoReturn


@dataclass(frozen=True, slots=True)
class Image:
    src: str | None = None
    alt: str | None = None
    caption: str | None = None
    credit: str | None = None


class _NoExtra(dict):
    """The `extra` of every article without one (most of them): one shared empty dict rather than
    one each (64 bytes an article), pickled as a reference to itself, so that articles read back
    from the cache, a parse worker or the edit snapshot share it too. Read-only, as articles are."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "NO_EXTRA"

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        # Shared by thousands of articles: a key put into one would show on all of them.
        raise TypeError("an article's extra front matter is read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only


NO_EXTRA: Mapping[str, Any] = _NoExtra()


def _no_extra() -> Mapping[str, Any]:
    return NO_EXTRA


@dataclass(frozen=True, eq=False, slots=True)
class Article:
    """One content file, typed. `path` is the file's path relative to the content folder.

    Compared and hashed by identity: a site holds each article once, and `extra` is a dict.
    Slots, not a __dict__: a site holds every article in memory, in each render process. (A
    __dict__ that gains a cached value after loading is rebuilt, 1.4 kB larger, per article.)"""

    path: str
    title: str
    date: datetime  # aware, in the site's timezone
    has_time: bool
    # Given, not held: it is part of `page_path` (the `slug` property), which a build holds anyway
    # (80 bytes an article). `dataclasses.replace` must be given it again (it says so when it is not).
    slug: InitVar[str]
    body: str
    digest: str  # hash of the whole file: the cache key for everything derived from it
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: str | None = None
    distributor: str | None = None
    copyright: str | None = None
    dateline: str | None = None
    language: str | None = None
    image: Image | None = None
    summary: str | None = None
    title_prefix: str | None = None
    editor_note: str | None = None
    correction: str | None = None
    original_url: str | None = None
    draft: bool = False
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    # The file of its page in the output folder: `url` + "index.html". Held rather than the URL, which
    # is made from it when asked for (a slice, 100 ns, about twenty times an article in a build):
    # a build holds every file's path until it writes the manifest, and this one is the article's
    # (interned by `share_strings`): 80 bytes an article less than holding both.
    page_path: str = field(init=False, repr=False)

    def __post_init__(self, slug: str) -> None:
        d = self.date
        object.__setattr__(self, "page_path", f"{d.year:04d}/{d.month:02d}/{d.day:02d}/{slug}/{_PAGE_FILE}")

    @property
    def url(self) -> str:
        """Site-relative URL path, without a leading slash: "2024/05/03/slug/"."""
        return self.page_path[:_URL_END]

    @property
    def day(self) -> date:
        # Made when asked for (60 ns), not held: a build holds every article, and a date and its
        # slot took 40 bytes each (4 MB at 100,000 articles).
        return self.date.date()

    # Pickled as a plain tuple of values: the cache and the edit snapshot read back every article,
    # and the setstate dataclasses make for slots looks up the fields again for each one.
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _ARTICLE_FIELDS)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for put, value in zip(_SLOT_SETTERS, state, strict=True):
            put(self, value)


_PAGE_FILE = "index.html"  # (urls.output_path of a URL that ends in "/")
_URL_END = -len(_PAGE_FILE)
_SLUG_START = len("YYYY/MM/DD/")  # (datetime's years have four digits)
_SLUG_END = -len("/" + _PAGE_FILE)


def _slug(article: Article) -> str:
    return article.page_path[_SLUG_START:_SLUG_END]


# Set after the class is made: in its body, the dataclass would take the property for the init
# parameter's default.
Article.slug = property(_slug, doc="The last part of the article's URL.")  # type: ignore[assignment]

_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
# Each field's slot descriptor, to set it through: object.__setattr__ looks the name up in the class
# first, for every field of every article read back, which was half the time of loading the snapshot.
_SLOT_SETTERS = tuple(Article.__dict__[name].__set__ for name in _ARTICLE_FIELDS)


def share_strings(article: Article, tuples: dict[tuple[str, ...], tuple[str, ...]]) -> Article:
    """The article, its tag, author and source names and its page path swapped for one shared
    (interned) copy of each, which thousands of articles (the names) or the build's other records
    (the page path) hold: for an article just read back on its own (a cache row, a parse batch),
    which would otherwise hold copies of its own. (A pickle of many articles at once, such as the
    edit snapshot, keeps their names shared already.) Its tuples of tags and of authors
    are swapped for an equal one in `tuples` (those the articles read so far hold), or put there:
    staff bylines and a desk's tags recur, and a tuple takes 48 bytes and more. Changed in place:
    it is only for articles no one else holds yet."""
    put = object.__setattr__
    if all(type(name) is str for name in (*article.tags, *article.authors)):
        for field_name in ("tags", "authors"):
            names = tuple(map(intern, getattr(article, field_name)))
            put(article, field_name, tuples.setdefault(names, names))
    for field_name in ("source", "distributor", "copyright", "language"):
        value = getattr(article, field_name)
        if type(value) is str:
            put(article, field_name, intern(value))
    # Interned before the output's manifests are read (which intern their paths): they, the plan and
    # the build's records then hold this string for the page, not copies of their own.
    share_page_path(article)
    return article


def share_page_path(article: Article) -> None:
    """The article's page path swapped for the one interned copy (the output manifests', when they
    were read first), for an article no one else holds yet."""
    object.__setattr__(article, "page_path", intern(article.page_path))


class Facts(NamedTuple):
    """What pages show of an article's rendered body besides the body itself. Stored with the body,
    by its content digest (cache.CachedBodies.facts), and read when a page asks for them: kept in
    memory for every article, they were a third of what the build process held for each."""

    words: int
    summary: str  # its first paragraph, summarised; "" when the article has a summary of its own


@dataclass(frozen=True)
class Term:
    """A tag, source or author: a named group of articles (newest first)."""

    kind: str  # "tags" | "sources" | "authors"
    slug: str
    name: str
    articles: tuple[Article, ...]

    @property
    def url(self) -> str:
        return f"{self.kind}/{self.slug}/"


@dataclass(frozen=True)
class Period:
    """A year, month or day that has articles (newest first)."""

    year: int
    month: int | None
    day: int | None
    articles: tuple[Article, ...]

    @property
    def kind(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.year, self.month or 0, self.day or 0)

    @property
    def url(self) -> str:
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
        if self.day:
            parts.append(f"{self.day:02d}")
        return "/".join(parts) + "/"

    @property
    def start(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)


@dataclass(frozen=True)
class Site:
    """Everything the renderer needs, indexed. Articles are newest first."""

    articles: tuple[Article, ...]
    tags: tuple[Term, ...]
    sources: tuple[Term, ...]
    authors: tuple[Term, ...]
    years: tuple[Period, ...]
    months: tuple[Period, ...]
    days: tuple[Period, ...]
    assets: tuple[str, ...] = ()  # non-Markdown files in content/, copied as they are

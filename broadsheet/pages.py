"""Site model -> the list of pages to render: what each page is, where it lives, what it shows.

A `Page` is a URL, a template name and the values the template needs. Nothing here renders or
writes; virtual pages (tag, date and paginated lists) follow the same URL rules as articles.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from broadsheet.config import SiteConfig
from broadsheet.model import Article, Period, Site
from broadsheet.urls import output_path, page_url


@dataclass(frozen=True, slots=True)
class Page:
    """A page to render. Its context is made on first use: a build after a small edit plans every
    page but builds the context (lists grouped by day, related stories) only of those it renders.
    Slots, not a __dict__: a build plans every page of the site, in each render process."""

    url: str  # site-relative, "" for the front page
    template: str
    make_context: Callable[[], dict[str, Any]] = field(repr=False, compare=False)
    # For a list of articles (the front page, tag, source, author and day lists): the date of its
    # newest article. See render_stage.render_order.
    entries_date: datetime | None = None
    _context: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def context(self) -> dict[str, Any]:
        made = self._context
        if made is None:
            made = self.make_context()
            object.__setattr__(self, "_context", made)
        return made

    @classmethod
    def made(cls, url: str, template: str, context: dict[str, Any]) -> Page:
        """A page whose context is made already (elsewhere: render_stage's lean workers get them so)."""
        page = cls(url, template, _fixed(context))
        object.__setattr__(page, "_context", context)
        return page

    @property
    def self_contained(self) -> bool:
        """Whether its context names articles and plain values only, no groups (tags, periods) that
        hold many more: an article's page. Such a context is small enough to send to another process."""
        return type(self.make_context) is _ArticleContext

    def forget_context(self) -> None:
        """Let the context go (it is made again if ever needed): rendered pages keep no lists."""
        object.__setattr__(self, "_context", None)


@dataclass(frozen=True, slots=True)
class Pagination:
    number: int
    total: int
    base: str

    @property
    def prev_url(self) -> str | None:
        return page_url(self.base, self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return page_url(self.base, self.number + 1) if self.number < self.total else None


@dataclass(frozen=True)
class DayGroup:
    day: date
    url: str
    articles: tuple[Article, ...]


def day_label(day: date) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}"


def period_label(period: Period) -> str:
    start = period.start
    if period.kind == "day":
        return day_label(start)
    return f"{start:%B %Y}" if period.kind == "month" else str(start.year)


def group_by_day(articles: Sequence[Article]) -> list[DayGroup]:
    runs: list[list[Article]] = []
    for article in articles:
        if runs and runs[-1][0].day == article.day:
            runs[-1].append(article)
        else:
            runs.append([article])
    return [DayGroup(run[0].day, _day_url(run[0].day), tuple(run)) for run in runs]


def _day_url(d: date) -> str:
    return f"{d.year:04d}/{d.month:02d}/{d.day:02d}/"


class RelatedIndex:
    """Related stories: the articles sharing most tags with an article; ties go to the newer one.

    Candidates are the WINDOW stories either side of the article in each of its tags (by date), so
    the cost per article stays constant however large a tag grows, and related stories are close in
    time, which is what a news reader wants from them."""

    WINDOW = 60

    def __init__(self, site: Site) -> None:
        self.articles = site.articles
        position = _positions(site.articles)
        # A tag's members as ascending positions (a tag lists its articles in site order): an
        # article's place among them is found by bisection, not kept in a map per tag, which would
        # hold an entry for each of every article's tags (in every render process).
        self.members = {t.slug: array("l", [position[id(a)] for a in t.articles]) for t in site.tags}
        # Each article's position, for callers that do not say it: made again only if one asks. An
        # article's page knows it, and the map cost a build 10 MB at 100,000 articles for its whole render.
        self._position: dict[int, int] | None = None

    def __call__(self, article: Article, tag_slugs: Sequence[str], count: int, at: int | None = None) -> list[Article]:
        """Up to `count` related stories of `article`, whose position in the site's articles is `at`
        (looked up when not given)."""
        if count == 0 or not tag_slugs:
            return []
        articles = self.articles
        if at is not None and 0 <= at < len(articles) and articles[at] is article:
            me = at
        else:
            if self._position is None:
                self._position = _positions(articles)
            me = self._position[id(article)]
        shared: Counter[int] = Counter()
        for slug in tag_slugs:
            members = self.members[slug]
            j = bisect_left(members, me)
            shared.update(members[max(0, j - self.WINDOW) : j + self.WINDOW + 1])
        del shared[me]
        scale = len(self.articles)
        # One integer per candidate orders by (most shared tags, newest): no Python key function.
        best = heapq.nsmallest(count, (position - n * scale for position, n in shared.items()))
        return [self.articles[key % scale] for key in best]


def _positions(articles: Sequence[Article]) -> dict[int, int]:
    """Each article's position in `articles` (site order: newest first), by identity."""
    return {id(a): i for i, a in enumerate(articles)}


class _PagedList:
    """The pages of a paginated list (the front page, a tag's, a source's, an author's), each made
    when it is asked for, equal each time: a site of 100,000 articles has about 32,000 of them, and
    held in the plan for the whole render, each a Page, its context's maker, its pagination and its
    URL took about 270 bytes (8.7 MB)."""

    __slots__ = ("articles", "base", "context", "size", "template", "total")

    def __init__(
        self, articles: Sequence[Article], base: str, size: int, template: str, context: dict[str, Any]
    ) -> None:
        self.articles, self.base, self.size, self.template, self.context = articles, base, size, template, context
        self.total = max(1, -(-len(articles) // size))

    def url(self, number: int) -> str:
        return page_url(self.base, number)

    def entries_date(self, number: int) -> datetime | None:
        start = (number - 1) * self.size
        return self.articles[start].date if start < len(self.articles) else None

    def page(self, number: int) -> Page:
        start = (number - 1) * self.size
        pagination = Pagination(number, self.total, self.base)
        context = _ListContext(self.context, self.articles, start, self.size, pagination)
        return Page(self.url(number), self.template, context, self.entries_date(number))

    def pages(self, only: Container[str] | None = None) -> Iterator[Page]:
        for number in range(1, self.total + 1):
            if only is None or self.url(number) in only:
                yield self.page(number)


class _ListContext:
    """Makes the context of one page of a list. A large site has tens of thousands of list pages,
    planned all at once: an object with slots rather than a closure (a function, its cells), and
    the page's articles a range of the list's rather than a copy of them (about 560 bytes a page
    less, by tracemalloc at 30,000 articles)."""

    __slots__ = ("articles", "context", "pagination", "size", "start")

    def __init__(
        self, context: dict[str, Any], articles: Sequence[Article], start: int, size: int, pagination: Pagination
    ) -> None:
        self.context, self.articles, self.start, self.size, self.pagination = context, articles, start, size, pagination

    def __call__(self) -> dict[str, Any]:
        articles, start = self.articles, self.start
        chunk = articles[start : start + self.size]
        return {**self.context, "groups": group_by_day(chunk), "pagination": self.pagination, "count": len(articles)}


def _fixed(context: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: context


def _neighbours(periods: Sequence[Period]) -> Iterator[tuple[Period, Period | None, Period | None]]:
    """Each period with the next-older and next-newer period that has articles."""
    for i, period in enumerate(periods):
        newer = periods[i - 1] if i > 0 else None
        older = periods[i + 1] if i + 1 < len(periods) else None
        yield period, older, newer


RelatedFinder = Callable[[Article, int], Sequence[Article]]  # (an article, its position in the site's articles)


class _ArticleContext:
    """Makes the context of the i-th article's page. One per article, so an object with slots
    rather than a closure (a function and a cell for each variable)."""

    __slots__ = ("articles", "i", "related_for")

    def __init__(self, articles: Sequence[Article], i: int, related_for: RelatedFinder) -> None:
        self.articles, self.i, self.related_for = articles, i, related_for

    def __call__(self) -> dict[str, Any]:
        articles, i = self.articles, self.i
        article = articles[i]
        return {
            "article": article,
            "newer": articles[i - 1] if i > 0 else None,
            "older": articles[i + 1] if i + 1 < len(articles) else None,
            "related": list(self.related_for(article, i)),
        }


def plan_pages(
    site: Site,
    config: SiteConfig,
    tag_slugs: Callable[[Article], Sequence[str]],
    related_for: RelatedFinder | None = None,
    only: Container[str] | None = None,
) -> Iterator[Page]:
    """Every HTML page of the site, or those whose URL is in `only`. `tag_slugs` gives an article's
    tag slugs; `related_for` may replace the related-stories search (e.g. with a cached
    one); it must give the same answer."""
    articles = site.articles
    finder = _related_finder(site, config, tag_slugs, related_for)
    for i, article in enumerate(articles):
        if only is None or article.url in only:
            yield _article_page(articles, i, finder)
    yield from _other_pages(site, config, only)


def _article_page(articles: Sequence[Article], i: int, finder: RelatedFinder) -> Page:
    return Page(articles[i].url, "article.html", _ArticleContext(articles, i, finder))


class PagePlan(Sequence[Page]):
    """Every HTML page of the site, in `plan_pages`' order, for a build that plans them all. An
    article's page, or a page of a paginated list, is made when it is asked for (equal each time),
    not held: a site has one for each article, each a Page and its context's maker, which the build
    would hold for its whole render (about 15 MB at 100,000 articles), and about a third as many list
    pages (8.7 MB). The others (a date's page, the archive) are held."""

    __slots__ = ("_articles", "_finder", "_number", "_part", "_parts")

    def __init__(self, articles: Sequence[Article], finder: RelatedFinder, parts: list[Page | _PagedList]) -> None:
        self._articles, self._finder, self._parts = articles, finder, parts
        # For each page after the articles': its part, and its number in that part's list (0: the part
        # is the page).
        self._part, self._number = array("i"), array("i")
        for at, part in enumerate(parts):
            numbers = range(1, part.total + 1) if isinstance(part, _PagedList) else (0,)
            self._part.extend([at] * len(numbers))
            self._number.extend(numbers)

    def __len__(self) -> int:
        return len(self._articles) + len(self._part)

    def __getitem__(self, index: int) -> Page:  # type: ignore[override] - no slices
        articles = self._articles
        at = index + len(self) if index < 0 else index
        if 0 <= at < len(articles):
            return _article_page(articles, at, self._finder)
        if at < 0:
            raise IndexError(index)
        at -= len(articles)
        part, number = self._parts[self._part[at]], self._number[at]
        return part.page(number) if isinstance(part, _PagedList) else part

    def __iter__(self) -> Iterator[Page]:
        articles, finder = self._articles, self._finder
        yield from (_article_page(articles, i, finder) for i in range(len(articles)))
        for part in self._parts:
            yield from _pages_of(part)

    # What the build asks of every page, answered without making the article and list pages.
    def urls(self) -> Iterator[str]:
        """Each page's URL, in order."""
        yield from (article.url for article in self._articles)
        yield from self.other_urls()

    def other_urls(self) -> Iterator[str]:
        """The URL of each page that is not an article's, in order (they come after the articles')."""
        for part in self._parts:
            if isinstance(part, _PagedList):
                yield from map(part.url, range(1, part.total + 1))
            else:
                yield part.url

    def paths(self) -> Iterator[str]:
        """Each page's file in the output folder (urls.output_path of its URL), in order: an
        article's, the string the article holds (Article.page_path)."""
        for article in self._articles:
            path = output_path(article.url)  # checked, as any page's
            yield article.page_path if path == article.page_path else path
        yield from map(output_path, self.other_urls())

    def entries_date(self, index: int) -> datetime | None:
        """`self[index].entries_date` (None for an article's page)."""
        at = index - len(self._articles)
        if at < 0:
            return None
        part = self._parts[self._part[at]]
        return part.entries_date(self._number[at]) if isinstance(part, _PagedList) else part.entries_date


def page_plan(
    site: Site,
    config: SiteConfig,
    tag_slugs: Callable[[Article], Sequence[str]],
    related_for: RelatedFinder | None = None,
) -> PagePlan:
    """`plan_pages` of every page, as a PagePlan."""
    finder = _related_finder(site, config, tag_slugs, related_for)
    return PagePlan(site.articles, finder, list(_other_parts(site, config, None)))


def _related_finder(
    site: Site,
    config: SiteConfig,
    tag_slugs: Callable[[Article], Sequence[str]],
    related_for: RelatedFinder | None,
) -> RelatedFinder:
    if related_for is not None:
        return related_for
    index: list[RelatedIndex] = []

    def related(article: Article, at: int) -> Sequence[Article]:
        if not index:
            index.append(RelatedIndex(site))
        return index[0](article, tag_slugs(article), config.related_count, at)

    return related


def _other_pages(site: Site, config: SiteConfig, only: Container[str] | None) -> Iterator[Page]:
    """The pages of `plan_pages` that are not an article's, in its order."""
    for part in _other_parts(site, config, only):
        yield from _pages_of(part, only)


def _pages_of(part: Page | _PagedList, only: Container[str] | None = None) -> Iterable[Page]:
    """The pages of a part of the plan: a paginated list's (those `only` names), or the page itself
    (which `_other_parts` yields only when wanted)."""
    return part.pages(only) if isinstance(part, _PagedList) else (part,)


def _other_parts(site: Site, config: SiteConfig, only: Container[str] | None) -> Iterator[Page | _PagedList]:
    """`_other_pages`, a paginated list's pages as the list (whichever of them `only` names)."""

    def wanted(url: str) -> bool:
        return only is None or url in only

    articles = site.articles
    yield _PagedList(
        articles, "", config.page_size, "list.html", {"kind": "front", "title": config.title, "feed": "feed.xml"}
    )

    for kind, terms, label in (
        ("tags", site.tags, "Tag"),
        ("sources", site.sources, "Source"),
        ("authors", site.authors, "Author"),
    ):
        if wanted(f"{kind}/"):
            yield Page(f"{kind}/", "terms.html", _fixed({"kind": kind, "terms": terms, "title": f"{label}s"}))
        for term in terms:
            yield _PagedList(
                term.articles,
                term.url,
                config.page_size,
                "list.html",
                {
                    "kind": kind[:-1],
                    "term": term,
                    "title": term.name,
                    "label": label,
                    "feed": f"{term.url}feed.xml" if kind == "tags" else None,
                },
            )

    def period_context(period: Period, older: Period | None, newer: Period | None) -> Callable[[], dict[str, Any]]:
        def make() -> dict[str, Any]:
            children = [
                p
                for p in (site.months if period.kind == "year" else site.days)
                if (p.year, p.month if period.month else None) == (period.year, period.month)
            ]
            return {"period": period, "older": older, "newer": newer, "children": children}

        return make

    for periods in (site.years, site.months):
        for period, older, newer in _neighbours(periods):
            if wanted(period.url):
                yield Page(period.url, "period.html", period_context(period, older, newer))

    def day_context(period: Period, older: Period | None, newer: Period | None) -> Callable[[], dict[str, Any]]:
        return lambda: {
            "kind": "day",
            "title": day_label(period.start),
            "period": period,
            "older": older,
            "newer": newer,
            "groups": group_by_day(period.articles),
            "count": len(period.articles),
            "pagination": Pagination(1, 1, period.url),
            "feed": None,
        }

    for period, older, newer in _neighbours(site.days):
        if wanted(period.url):
            yield Page(period.url, "list.html", day_context(period, older, newer), period.articles[0].date)

    fixed = (
        Page("archive/", "archive.html", _fixed({"years": site.years, "months": site.months, "title": "Archive"})),
        # reader (issue 8): search.js queries search/*.json
        Page("search/", "search.html", _fixed({"title": "Search"})),
        Page("404.html", "404.html", _fixed({"title": "Page not found"})),
    )
    yield from (page for page in fixed if wanted(page.url))

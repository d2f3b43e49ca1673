"""Site + templates -> Output objects. Never writes a file.

Templates get typed objects (Article, Term, Period) plus small helpers; content is only ever
passed as data, never compiled as a template, and Jinja autoescaping is on for HTML and XML.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    select_autoescape,
)
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Context, Macro
from markupsafe import Markup

try:  # markupsafe's own escaping (C), which its `escape` wraps in a Markup object
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - a markupsafe without it: its public escape, a little slower
    from markupsafe import escape as _escape_inner

from broadsheet.assets import hash_static
from broadsheet.config import SiteConfig
from broadsheet.deps import TEMPLATE_DEP
from broadsheet.errors import BroadsheetError
from broadsheet.markdown import is_safe_url
from broadsheet.model import Article, Facts, Site
from broadsheet.output import Output
from broadsheet.pages import DayGroup, Page, PagePlan, RelatedFinder, day_label, page_plan, period_label, plan_pages
from broadsheet.urls import output_path, slugify

WORDS_PER_MINUTE = 230


def json_ld(value: Any) -> Markup:
    """JSON for a <script type="application/ld+json"> block that no string in it can close."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # noqa: S704 - every markup character is escaped above


# Callables that take a context or environment say so with a `jinja_pass_arg` attribute; these
# kinds have no other way to (Jinja looks for one on their __call__ too, which these don't have).
_PLAIN_CALLABLES = frozenset({FunctionType, MethodType, BuiltinFunctionType, Macro})
_MACROS = "_macros.html"  # the theme's macros: item_html() renders its `item`
_MACROS_DEP = TEMPLATE_DEP + _MACROS
# Macro options that another process can be sent (and compared by value there).
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})


class _TrackingContext(Context):
    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        # A template makes about a hundred calls per page (url(), helpers, macros). For a plain
        # function, method or macro, do what Context.call does for one without pass_context & co.
        # with fewer lookups: it is a tenth of a page's render time otherwise. (Such a function
        # says so in its __dict__, which a method shares with its function and a builtin lacks.)
        plain = type(__obj) in _PLAIN_CALLABLES and "jinja_pass_arg" not in getattr(__obj, "__dict__", ())
        if plain and kwargs:  # the loop's or block's variables, which only pass_context callables see
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        touched = __self.environment.touched  # type: ignore[attr-defined]
        if touched is not None:
            for value in (*args, *kwargs.values()) if kwargs else args:
                kind = type(value)
                if kind is Article:
                    touched.add(value.path)
                elif kind is list or kind is tuple:
                    touched.update(v.path for v in value if type(v) is Article)
        if plain:
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(__obj, *args, **kwargs)


def _output_escape(value: Any) -> str:
    """What `{{ value }}` writes in an autoescaped template: the characters markupsafe.escape gives,
    without a Markup object made (through a Python __new__) for each value. A compiled template
    calls its `escape` only on values it outputs, which are joined into one string anyway; a page
    outputs a hundred or more, and this took a tenth off the CPU time of rendering every page."""
    if type(value) is str:
        return _escape_inner(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class _Template(Template):
    @classmethod
    def from_code(
        cls, environment: Environment, code: Any, globals: Any, uptodate: Callable[[], bool] | None = None
    ) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The template module's namespace, which its render functions look `escape` up in.
        template.root_render_func.__globals__["escape"] = _output_escape
        return template

    def _get_default_module(self, ctx: Context | None = None) -> Any:
        # `{% from "_macros.html" import ... %}` asks this on every render: whether the importing
        # template has globals this one lacks, which Jinja works out as `set - ChainMap.keys()`, a
        # Python-level loop over every name (20 µs a page, a twelfth of an article page). Asked of
        # the ChainMap's dicts themselves, it is one C call with the same answer.
        maps = getattr(self.globals, "maps", None)
        if ctx is not None and maps is not None and not ctx.globals_keys.difference(*maps):
            ctx = None  # no new globals: Jinja's shared module, as it would give
        return super()._get_default_module(ctx)


class TrackingEnvironment(Environment):
    """Notes which articles a template reads while it renders: those whose attributes it looks up
    and those it hands to a helper or macro. A page that reaches an article only through a group
    (a month's count, the previous day's link) does not depend on what that article says, so an
    edit to it need not render that page again (see deps.py). Lookups through `len` or `==` are
    not seen; what a page reaches that way is part of the site's structure. It notes the template
    files loaded too (each `extends`, `import` and `include` loads one as the page renders), so
    that a template edit renders again only the pages that use that template."""

    context_class = _TrackingContext
    template_class = _Template
    touched: set[str] | None = None  # article paths read and templates loaded (TEMPLATE_DEP + name)

    def get_template(self, name: str | Template, parent: str | None = None, globals: Any = None) -> Template:
        return self._noted(super().get_template(name, parent, globals))

    def select_template(self, names: Any, parent: str | None = None, globals: Any = None) -> Template:
        return self._noted(super().select_template(names, parent, globals))

    def _noted(self, template: Template) -> Template:
        if self.touched is not None and template.name is not None:
            self.touched.add(TEMPLATE_DEP + template.name)
        return template

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Environment.getattr inlined: every `a.b` in a template comes here.
        if type(obj) is Article and self.touched is not None:
            self.touched.add(obj.path)
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if self.touched is not None and type(obj) is Article:
            self.touched.add(obj.path)
        return super().getitem(obj, argument)


def make_environment(templates_dir: Path, bytecode_dir: Path | None = None) -> Environment:
    """The template environment; with `bytecode_dir`, compiled templates are kept there between
    builds (keyed by each template's source), which saves a small rebuild most of its Jinja time."""
    if not templates_dir.is_dir():
        raise BroadsheetError("templates folder not found", path=str(templates_dir))
    bytecode_cache = None
    if bytecode_dir is not None:
        bytecode_dir.mkdir(parents=True, exist_ok=True)
        bytecode_cache = FileSystemBytecodeCache(str(bytecode_dir))
    env = TrackingEnvironment(
        loader=FileSystemLoader(templates_dir),
        bytecode_cache=bytecode_cache,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # A list page labels every article's day; a site has a few thousand distinct days.
    env.filters["day_label"] = lru_cache(maxsize=1 << 14)(day_label)
    env.filters["json_ld"] = json_ld
    env.filters["period_label"] = period_label
    env.filters["slug"] = slugify
    env.tests["safe_url"] = is_safe_url
    # name in templates/static -> its content-hashed output path, for the asset() helper
    env.globals["static_assets"] = {a.name: a.path for a in hash_static(templates_dir / "static")}
    return env


class Renderer:
    """Renders pages of one site with one template environment (loaded and compiled once).

    `facts` gives an article's small results of Markdown rendering (its word count and summary),
    `html_of` its body HTML: both on demand, so a rebuild that renders few pages loads few bodies,
    and a build that renders every page holds neither for every article.
    """

    ITEMS_KEPT = 16384  # list entries kept for reuse (about 1 kB each)
    # Enough for lists alone: rendered newest first, they ask for an article's entries close together.
    # An article page's related stories reach further back (60 stories either side in each tag).
    LIST_ITEMS_KEPT = 4096

    def __init__(
        self,
        site: Site,
        config: SiteConfig,
        env: Environment,
        facts: Callable[[Article], Facts],
        html_of: Callable[[Article], str],
    ) -> None:
        self.site = site
        self.config = config
        self.facts = facts
        self.html_of = html_of
        self.env = env
        # Tag name -> (slug, (name, href)): a few hundred spellings, shared by every article.
        self._tag_of: dict[str, tuple[str, tuple[str, str]]] = {}
        # List entries, least recently used first. A build that renders every page asks for each
        # article's entries within a short stretch of it (render_stage.render_order), so a window of
        # those used last serves nearly every request however large the site is, in every process.
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._items_kept = self.ITEMS_KEPT
        # Entries rendered here since `take_items` was last called, when the render stage shares
        # them between its processes (`share_items`): otherwise each process renders most of them.
        self._fresh_items: list[tuple[tuple, bytes]] | None = None
        # The last answer of article_ld(): an article's page asks for it two or three times in a
        # row. (Remembering every article's would cost each worker megabytes.)
        self._ld: tuple[Article | None, dict[str, Any]] = (None, {})
        base = config.base_path
        self.site_globals = {
            "title": config.title,
            "description": config.description,
            "language": config.language,
            "url": config.site_url,
            "base": base,
            "has_sources": bool(site.sources),
            "has_authors": bool(site.authors),
        }
        env.globals.update(
            site=self.site_globals,
            url=lambda rel: base + rel,
            abs_url=lambda rel: config.site_url + rel,
            body=self.body,
            summary=self.summary,
            reading_minutes=self.reading_minutes,
            tag_links=self.tag_links,
            image_src=self.image_src,
            article_ld=self.article_ld,
            iso=self.iso,
            asset=self.asset,
            item_html=self.item_html,
            list_facets=self.list_facets,
        )

    @classmethod
    def detached(
        cls, config: SiteConfig, env: Environment, facts: Callable[[Article], Facts], html_of: Callable[[Article], str]
    ) -> Renderer:
        """A renderer for pages whose contexts come ready-made from another process (render_stage's
        lean workers): it holds no site; `site_globals` are set for each batch."""
        return cls(Site((), (), (), (), (), (), ()), config, env, facts, html_of)

    # --- helpers templates call -------------------------------------------------------------
    def item_html(self, article: Article, **options: Any) -> Markup:
        """The `item` macro of _macros.html (an article as a list entry), rendered once per article
        and options and reused on every list that shows it: one article appears on a dozen lists."""
        key = (article.path, *sorted(options.items())) if len(options) > 1 else (article.path, *options.items())
        items = self._items
        found = items.get(key)
        touched = getattr(self.env, "touched", None)
        if touched is not None:  # the page uses the macro, whether its entry is rendered now or was before
            touched.add(_MACROS_DEP)
        if found is not None:
            items.move_to_end(key)
            return Markup(found.decode())  # noqa: S704 - a template's output
        macro = self.env.get_template(_MACROS).module.item  # type: ignore[attr-defined]
        html = Markup(macro(article, **options))  # noqa: S704 - a template's output
        # Kept as UTF-8: one curly quote or accent in an entry makes a str two bytes a character.
        data = items[key] = html.encode()
        if len(items) > self._items_kept:
            items.popitem(last=False)
        fresh = self._fresh_items
        if fresh is not None and all(type(v) in _PLAIN_VALUES for v in options.values()):
            fresh.append((key, data))
        return html

    def share_items(self) -> None:
        """From now on, note each list entry rendered here, for `take_items`."""
        self._fresh_items = []

    def take_items(self) -> list[tuple[tuple, bytes]]:
        """The list entries rendered here since the last call (plain data, for another process)."""
        fresh = self._fresh_items
        if fresh is None:
            return []
        self._fresh_items = []
        return fresh

    def add_items(self, entries: Iterable[tuple[tuple, bytes]]) -> None:
        """List entries another process rendered (`take_items`): the same bytes this one would make."""
        items = self._items
        for key, data in entries:
            if key not in items:
                items[key] = data
        while len(items) > self._items_kept:
            items.popitem(last=False)

    def keep_items(self, count: int) -> None:
        """Keep at most `count` list entries for reuse from now on."""
        self._items_kept = count
        while len(self._items) > count:
            self._items.popitem(last=False)

    def forget_items(self) -> None:
        """Let the list entries kept for reuse go (once the pages that show them are rendered)."""
        self._items.clear()
        self._fresh_items = None

    def preload(self, templates: Iterable[str]) -> None:
        """Compile these templates and the macros now: in the process that forks the render workers,
        so that they share the compiled code instead of each compiling it again."""
        for name in (*templates, _MACROS):
            try:
                self.env.get_template(name)
            except TemplateError:
                continue  # no macros in this theme; a broken page template is reported when rendered

    def asset(self, name: str) -> str:
        """Link to templates/static/<name> under its content-hashed name, which hosts may cache for a year."""
        paths: Mapping[str, str] = self.env.globals["static_assets"]  # type: ignore[assignment]
        if name not in paths:
            raise TemplateRuntimeError(f"asset({name!r}): no such file in templates/static ({', '.join(paths)})")
        return self.config.base_path + paths[name]

    def list_facets(self, groups: Iterable[DayGroup]) -> dict[str, list[tuple[str, str, int]]]:
        """Tags and sources of the articles on a list page as (href, name, count), most common first
        (ties by href): the front page's filter chips."""
        counts: dict[str, dict[str, list]] = {"tag": {}, "source": {}}
        for group in groups:
            for article in group.articles:
                found = [("tag", href, name) for name, href in self.tag_links(article)]
                if article.source:
                    found.append(("source", f"sources/{slugify(article.source, fallback='source')}/", article.source))
                for kind, href, name in found:
                    entry = counts[kind].setdefault(href, [name, 0])
                    entry[0], entry[1] = name, entry[1] + 1
        return {
            kind: [(href, name, n) for href, (name, n) in sorted(entries.items(), key=lambda kv: (-kv[1][1], kv[0]))]
            for kind, entries in counts.items()
        }

    def body(self, article: Article) -> Markup:
        return Markup(self.html_of(article))  # noqa: S704 - sanitised by markdown.render_markdown

    def summary(self, article: Article) -> str:
        if article.summary:
            return article.summary
        return self.facts(article).summary

    def reading_minutes(self, article: Article) -> int:
        return max(1, round(self.facts(article).words / WORDS_PER_MINUTE))

    def tag_links(self, article: Article) -> list[tuple[str, str]]:
        """(name, href) of each of the article's tags, once per slug (the first spelling wins).
        Made each time from the tags' shared pairs: kept per article, the lists would hold a few
        hundred bytes for every article in every process."""
        return list(self._tags_of(article).values())

    def tag_slugs(self, article: Article) -> tuple[str, ...]:
        """The slugs of the article's tags, as in its tag links."""
        return tuple(self._tags_of(article))

    def _tags_of(self, article: Article) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        known = self._tag_of
        for name in article.tags:
            tag = known.get(name)
            if tag is None:
                slug = slugify(name, fallback="tag")
                tag = known[name] = (slug, (name, f"tags/{slug}/"))
            if tag[0] not in found:
                found[tag[0]] = tag[1]
        return found

    def image_src(self, src: str | None) -> str | None:
        """Image URLs: site-root paths get the base path; unsafe schemes are dropped."""
        if not src or not is_safe_url(src):
            return None
        return self.config.base_path + src.lstrip("/") if src.startswith("/") and not src.startswith("//") else src

    def iso(self, article: Article) -> str:
        return article.date.isoformat() if article.has_time else article.day.isoformat()

    def article_ld(self, article: Article) -> dict[str, Any]:
        last, data = self._ld
        if last is article:
            return data
        data = self._article_ld(article)
        self._ld = (article, data)
        return data

    def _article_ld(self, article: Article) -> dict[str, Any]:
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "datePublished": self.iso(article),
            "mainEntityOfPage": self.config.site_url + article.url,
            "url": self.config.site_url + article.url,
            "description": self.summary(article),
        }
        if article.authors:
            data["author"] = [{"@type": "Person", "name": name} for name in article.authors]
        if article.source:
            data["publisher"] = {"@type": "Organization", "name": article.source}
        if article.tags:
            data["keywords"] = list(article.tags)
        if article.language:
            data["inLanguage"] = article.language
        if article.copyright:
            data["copyrightNotice"] = article.copyright
        src = self.image_src(article.image.src) if article.image else None
        if src:
            data["image"] = src if "://" in src else self.config.site_url + src.removeprefix(self.config.base_path)
        return data

    # --- rendering ------------------------------------------------------------------------------
    def render_page(self, page: Page) -> Output:
        return self.render_tracked(page)[0]

    def render_tracked(self, page: Page) -> tuple[Output, set[str]]:
        """The page, and the paths of the articles its templates read (see TrackingEnvironment)."""
        env = self.env
        touched: set[str] = set()
        if isinstance(env, TrackingEnvironment):
            env.touched = touched
        try:
            template = env.get_template(page.template)
            html = template.render(page=page, **page.context)
        except TemplateError as exc:
            raise _template_error(exc, page, env) from exc
        finally:
            if isinstance(env, TrackingEnvironment):
                env.touched = None
        return Output(output_path(page.url), html.encode("utf-8")), touched

    def pages(self, related_for: RelatedFinder | None = None, only: Container[str] | None = None) -> Iterator[Page]:
        return plan_pages(self.site, self.config, self.tag_slugs, related_for, only)

    def page_plan(self, related_for: RelatedFinder | None = None) -> PagePlan:
        """Every page, its article pages made as they are asked for (pages.PagePlan)."""
        return page_plan(self.site, self.config, self.tag_slugs, related_for)


def _template_error(exc: TemplateError, page: Page, env: Environment) -> BroadsheetError:
    name = getattr(exc, "filename", None) or page.template
    line = getattr(exc, "lineno", None)
    if line is None and (where := _template_frame(exc, env)) is not None:
        name, line = where  # an error while rendering: a syntax error knows its line itself
    return BroadsheetError(f"template error while rendering /{page.url}: {exc}", path=name, line=line)


def _template_frame(exc: BaseException, env: Environment) -> tuple[str, int] | None:
    """The template and line that raised `exc` at render time: Jinja rewrites the traceback so that
    the frame of each template it passes through names the template's file and line."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return None
    filename, line = found
    for folder in getattr(env.loader, "searchpath", ()):
        relative = os.path.relpath(filename, folder)
        if not relative.startswith(".."):
            return relative.replace(os.sep, "/"), line
    return filename, line


def static_outputs(site: Site, templates_dir: Path, content_dir: Path) -> Iterator[Output]:
    """Theme assets (templates/static/) and non-Markdown files from content/, copied as they are.

    Each theme asset is written twice: under its content-hashed name (what `asset()` links to,
    marked immutable for long caching) and under its plain name, for scripts and older templates."""
    static = templates_dir / "static"
    for item in hash_static(static):
        yield Output("static/" + item.name, source=static / item.name)
        yield Output(item.path, item.data, immutable=True)
    for rel in site.assets:
        yield Output(rel, source=content_dir / rel)

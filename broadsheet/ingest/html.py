"""A saved news web page -> `WebArticle`: trafilatura finds the article and its metadata.

Pure: page text (and the URL it came from, when known) in, article out. The extracted body leaves
trafilatura as HTML and goes through `ingest.markup` (nh3 allowlist, absolute http(s) links) before
it becomes Markdown, so nothing from the page reaches a content file unsanitised.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import trafilatura

from broadsheet.errors import BroadsheetError
from broadsheet.ingest.markup import absolute_url, html_to_markdown, clean_html, plain_text
from broadsheet.ingest.webarticle import WebArticle, language_code, parse_when, split_names, unique_tags

# Chosen on tests/fixtures/web/pages (see tests/test_html_import.py, which prints precision/recall):
# precision-leaning extraction keeps related-link lists and captions of other stories out, and the
# fixture set loses no article sentence to it. Comments are never article text.
EXTRACT_SETTINGS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": True,
    "include_links": True,
    "include_formatting": True,
    "deduplicate": False,
}
# Full timestamps with their offset when the page gives them (htmldate defaults to the day only).
_DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True, "extensive_search": True}
_HEADING = re.compile(r"^#{1,6} (.*)$")
_TITLE_FOLD = re.compile(r"\W+")


class PageError(BroadsheetError):
    """A page with no article Broadsheet can find."""


def parse_page(page: str | bytes, url: str | None = None, *, path: str | None = None) -> WebArticle:
    """Extract the article from a saved page. `url` is where it was fetched from (for relative links);
    without it the page's own canonical URL is used. `path` only names the page in errors."""
    where = path or url
    tree = trafilatura.load_html(page)
    if tree is None:
        raise PageError("not an HTML page (nothing to parse)", path=where)
    meta = trafilatura.extract_metadata(copy.deepcopy(tree), default_url=url, date_config=_DATE_PARAMS)
    page_url = url if _is_web(url) else (meta.url if _is_web(meta.url) else None)
    body_html = trafilatura.extract(copy.deepcopy(tree), url=page_url, output_format="html", **EXTRACT_SETTINGS)
    if not body_html:
        raise PageError("no article text found in the page", path=where)
    body = html_to_markdown(clean_html(_inner_body(body_html), page_url))
    title = plain_text(meta.title or "")
    body = _drop_title_heading(body, title)
    if not title:
        raise PageError("the page has no title", path=where)
    if not body.strip():
        raise PageError("no article text left after cleaning", path=where)
    return WebArticle(
        title=title,
        body=body,
        date=parse_when(meta.date),
        authors=split_names(meta.author),
        source=plain_text(meta.sitename or "") or None,
        url=page_url,
        image=absolute_url(meta.image, page_url) if meta.image else None,
        summary=plain_text(meta.description or "") or None,
        tags=unique_tags([*(meta.categories or []), *(meta.tags or [])]),
        language=language_code(meta.language or tree.get("lang") or _meta_language(tree)),
    )


def _is_web(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("http://", "https://"))  # type: ignore[union-attr]


def _inner_body(document: str) -> str:
    """trafilatura wraps its HTML output in <html><body>; only the body's children are the article."""
    m = re.search(r"<body>(.*)</body>", document, re.S)
    return m.group(1) if m else document


def _meta_language(tree: Any) -> str | None:
    for xpath in ('//meta[@http-equiv="content-language"]/@content', '//meta[@property="og:locale"]/@content'):
        found = tree.xpath(xpath)
        if found:
            return str(found[0])
    return None


def _drop_title_heading(body: str, title: str) -> str:
    """The page repeats its headline above the text; the content file has it as `title:` already."""
    first, _, rest = body.partition("\n\n")
    m = _HEADING.match(first)
    if m and _TITLE_FOLD.sub("", plain_text(m.group(1).replace("\\", "")).lower()) == _TITLE_FOLD.sub(
        "", title.lower()
    ):
        return rest
    return body

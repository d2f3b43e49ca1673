"""A saved news web page -> `WebArticle`: trafilatura finds the article and its metadata.

Pure: page text (and the URL it came from, when known) in, article out. The extracted body leaves
trafilatura as HTML and goes through `ingest.markup` (nh3 allowlist, absolute http(s) links) before
it becomes Markdown, so nothing from the page reaches a content file unsanitised.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import trafilatura

from broadsheet.errors import BroadsheetError
from broadsheet.ingest.markup import absolute_url, clean_html, html_to_markdown, markdown_text, plain_text
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
# Page furniture that sits *inside* article bodies, where trafilatura's own boilerplate rules can
# let it through: promos, "read more" teasers, author bios, consent and paywall boxes. Matched on
# class words no article container uses. If pruning ever leaves no text, extraction runs again without.
_CHROME_CLASSES = (
    "related", "read-more", "readmore", "newsletter", "promo", "lesetipp", "author-bio", "paywall",
    "cookie", "consent", "ad-slot", "advert", "share-tools", "social-share",
)  # fmt: skip
PRUNE_XPATH = [f"//*[contains(@class, '{name}') or contains(@id, '{name}')]" for name in _CHROME_CLASSES]
# A paragraph that only points at another story ("Read more: ...", "Lesen Sie auch: ...").
_TEASER = re.compile(
    r"^\**(read more|related|see also|also read|more on this|lesen sie auch|mehr zum thema|lire aussi|"
    r"à lire aussi|leer más|lea también)\s*:",
    re.I,
)
MIN_WORDS = 20  # below this, what is left is a menu or a teaser, not an article
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
    _unwrap_layout_tables(tree)
    ld = _json_ld(tree)
    page_url = url if _is_web(url) else next((u for u in (meta.url, ld.get("url")) if _is_web(u)), None)
    # No url= here: trafilatura would rewrite relative links itself (against the site root, and "//" as
    # http); ingest.markup resolves them against the page's URL as a browser would.
    body_html = trafilatura.extract(
        copy.deepcopy(tree), output_format="html", prune_xpath=PRUNE_XPATH, **EXTRACT_SETTINGS
    ) or trafilatura.extract(copy.deepcopy(tree), output_format="html", **EXTRACT_SETTINGS)
    if not body_html:
        raise PageError("no article text found in the page", path=where)
    body = html_to_markdown(clean_html(_inner_body(body_html), page_url))
    title = plain_text(meta.title or "")
    body = _drop_teasers(_drop_title_heading(body, title))
    image = absolute_url(image, page_url) if (image := meta.image or ld.get("image")) else None
    body, image = _lead_image(body, image)
    if not title:
        raise PageError("the page has no title", path=where)
    words = len(markdown_text(body).split())
    if words < MIN_WORDS:
        raise PageError(f"no article text found in the page (only {words} words outside its navigation)", path=where)
    return WebArticle(
        title=title,
        body=body,
        date=parse_when(meta.date),
        authors=split_names(meta.author),
        source=plain_text(meta.sitename or "") or None,
        url=page_url,
        image=image,
        summary=plain_text(meta.description or ld.get("description") or "") or None,
        tags=unique_tags([*(meta.categories or []), *(meta.tags or []), *ld.get("keywords", [])]),
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


def _drop_teasers(body: str) -> str:
    kept = [block for block in body.split("\n\n") if not _TEASER.match(block)]
    return "\n\n".join(kept).strip() + "\n" if kept else ""


_LAYOUT_CONTENT = "h1|h2|h3|h4|p|ul|ol|table|div|article|section|form|img"


def _unwrap_layout_tables(tree: Any) -> None:
    """Old sites lay pages out with tables (nav in one cell, story in the next). trafilatura keeps a
    table whole, navigation and all, so a table whose cells hold headings, paragraphs, lists or other
    tables becomes plain divs first; data tables (text in cells) are left alone."""
    for table in reversed(tree.xpath("//table")):  # innermost first
        cells = table.xpath("./tr/td | ./tr/th | ./*/tr/td | ./*/tr/th")
        if not any(cell.xpath(f"./*[self::{' or self::'.join(_LAYOUT_CONTENT.split('|'))}]") for cell in cells):
            continue
        for element in table.iter("table", "thead", "tbody", "tfoot", "tr", "td", "th"):
            element.tag = "div"
            element.attrib.pop("width", None)


_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle", "BlogPosting", "Report"}


def _json_ld(tree: Any) -> dict[str, Any]:
    """Description, image, keywords and URL from a schema.org article in JSON-LD (trafilatura reads
    the headline, authors and dates from it, but not these)."""
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            kinds = item.get("@type")
            kinds = set(kinds) if isinstance(kinds, list) else {kinds}
            if not kinds & _ARTICLE_TYPES:
                continue
            found: dict[str, Any] = {}
            if isinstance(item.get("description"), str):
                found["description"] = item["description"]
            image = item.get("image")
            image = image[0] if isinstance(image, list) and image else image
            image = image.get("url") if isinstance(image, dict) else image
            if isinstance(image, str):
                found["image"] = image
            keywords = item.get("keywords")
            if isinstance(keywords, str):
                found["keywords"] = [keywords]
            elif isinstance(keywords, list):
                found["keywords"] = [k for k in keywords if isinstance(k, str)]
            page = item.get("mainEntityOfPage") or item.get("url")
            page = page.get("@id") if isinstance(page, dict) else page
            if isinstance(page, str):
                found["url"] = page
            return found
    return {}


_IMAGE_BLOCK = re.compile(r"^!\[[^\]]*\]\(<?([^)>\s]+)>?\)$")


def _lead_image(body: str, image: str | None) -> tuple[str, str | None]:
    """The page's lead image goes in `image:` (the template shows it above the text), not twice.
    A body that opens with an image and a page that names none: that image is the lead."""
    blocks = body.split("\n\n")
    for n, block in enumerate(blocks[:3]):
        m = _IMAGE_BLOCK.match(block.strip())
        if m and (image is None and n == 0 or m.group(1) == image):
            del blocks[n]
            return "\n\n".join(blocks).strip() + "\n", image or m.group(1)
    return body, image

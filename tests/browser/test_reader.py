"""The reader's site in a real Chromium: search, keyboard navigation, read markers, offline reading,
themes, the site without JavaScript, accessibility of the interactive states, layout stability and
screenshots. Uses the shared fixtures of conftest.py (browser, built_site, site_url, artifacts)."""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
import time
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sitetools import ROOT, build_sample_site, page_urls

# Without Playwright the whole module skips, like the shared fixtures do.
expect = pytest.importorskip("playwright.sync_api").expect

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SEAGRASS = "Seagrass meadow off Greyling Point has doubled in five years, survey finds"
LIGHT_PAPER = "rgb(253, 252, 248)"
DARK_PAPER = "rgb(21, 21, 21)"


# --- helpers ---------------------------------------------------------------------------------------
@dataclass
class Watched:
    """A page plus every console error, uncaught exception and failed request it produced."""

    page: object
    errors: list[str]

    def assert_clean(self) -> None:
        assert not self.errors, "\n".join(self.errors)


def open_page(browser, **options) -> Watched:  # noqa: ANN001
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status}: {r.url}"))
    return Watched(page, errors)


def close(watched: Watched) -> None:
    watched.page.context.close()


def background(page) -> str:  # noqa: ANN001
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def results(page) -> list[str]:  # noqa: ANN001
    page.wait_for_function("document.getElementById('search-status').textContent.match(/\\d+ stor/)")
    return page.locator("#search-results .item-title a").all_inner_texts()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class StoppableServer:
    """A static server on 127.0.0.1 that a test can stop, to see what the site does offline."""

    def __init__(self, folder: Path) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)


@pytest.fixture(scope="module")
def urls(built_site: Path) -> dict[str, str]:
    return page_urls(built_site)


@pytest.fixture(scope="module")
def seagrass_url(built_site: Path) -> str:
    found = [p.parent for p in built_site.glob("*/*/*/seagrass-survey-greyling-point/index.html")]
    assert len(found) == 1, "the sample site has the seagrass article"
    return found[0].relative_to(built_site).as_posix() + "/"


@pytest.fixture(scope="module")
def subpath_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample site built for https://.../news/ and laid out under www/news/, as a host serves it."""
    root = tmp_path_factory.mktemp("reader-subpath")
    site = build_sample_site(root, base_url="http://127.0.0.1/news/")
    www = root / "www"
    shutil.copytree(site, www / "news")
    return www


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"{AXE} not found: run `npm ci` (package.json pins axe-core)")
    return AXE.read_text("utf-8")


# --- search ----------------------------------------------------------------------------------------
def test_header_search_finds_an_article_by_a_word_from_its_body(browser, site_url: str, seagrass_url: str) -> None:  # noqa: ANN001
    w = open_page(browser)
    try:
        page = w.page
        page.goto(site_url)
        # "sediment" appears only in the seagrass story's body: not its headline, summary or tags.
        page.fill("#site-search-q", "sediment")
        page.press("#site-search-q", "Enter")
        page.wait_for_url(re.compile(r"/search/\?q=sediment$"))
        assert results(page) == [SEAGRASS]
        item = page.locator("#search-results .item").first
        assert item.locator("a").get_attribute("href") == "/" + seagrass_url
        assert item.locator(".meta .source").inner_text() == "The Harbour Gazette"
        assert item.locator(".meta time").inner_text() == "Monday, 3 June 2024"
        assert item.locator(".excerpt").inner_text().startswith("Divers and drone mapping")
        assert "1 story" in page.locator("#search-status").inner_text()

        # Typing refines the results as you go, and matched words are highlighted.
        page.fill("#search-q", "meadow")
        page.wait_for_function("document.getElementById('search-status').textContent.includes('meadow')")
        assert SEAGRASS in results(page)
        marks = page.locator("#search-results .item").filter(has_text=SEAGRASS).locator("mark").all_inner_texts()
        assert marks and all(m.lower() == "meadow" for m in marks)

        page.fill("#search-q", "xylophonequartet")
        page.wait_for_function("document.getElementById('search-status').textContent.startsWith('0 stories')")
        assert results(page) == []
        w.assert_clean()
    finally:
        close(w)


def test_search_finds_articles_by_tag(browser, site_url: str, built_site: Path) -> None:  # noqa: ANN001
    tag_page = (built_site / "tags" / "science" / "index.html").read_text("utf-8")
    tagged = set(re.findall(r'<h3 class="item-title"><a href="[^"]+">([^<]+)</a>', tag_page))
    assert SEAGRASS in tagged and len(tagged) >= 2
    w = open_page(browser)
    try:
        page = w.page
        # The tag as a word: "Science" is nowhere in the seagrass story's text, only among its tags.
        page.goto(site_url + "search/?q=science")
        assert SEAGRASS in results(page)
        # The tag as a filter, from a link and from the menu.
        page.goto(site_url + "search/?tag=Science")
        assert set(results(page)) == tagged
        assert page.locator("#search-tag").input_value() == "Science"
        page.select_option("#search-tag", "")
        page.fill("#search-q", "harbour")
        page.wait_for_function("document.getElementById('search-status').textContent.includes('harbour')")
        everything = set(results(page))
        page.select_option("#search-tag", "Science")
        page.wait_for_function("document.getElementById('search-status').textContent.includes('topic Science')")
        assert set(results(page)) == everything & tagged == {SEAGRASS}
        assert "tag=Science" in page.url and "q=harbour" in page.url
        w.assert_clean()
    finally:
        close(w)


# --- keyboard --------------------------------------------------------------------------------------
def test_keys_move_the_selection_and_open_a_story(browser, site_url: str) -> None:  # noqa: ANN001
    w = open_page(browser)
    try:
        page = w.page
        page.goto(site_url)
        items = page.locator("main .item")
        hrefs = [items.nth(i).locator("a").first.get_attribute("href") for i in range(3)]
        selected = "[...document.querySelectorAll('main .item')].findIndex(i => i.classList.contains('is-selected'))"
        focused = "[...document.querySelectorAll('main .item')].findIndex(i => i.contains(document.activeElement))"
        assert page.evaluate(selected) == -1
        for key, expected in (("j", 0), ("j", 1), ("j", 2), ("k", 1)):
            page.keyboard.press(key)
            assert page.evaluate(selected) == expected
            assert page.evaluate(focused) == expected  # the selection is the focused headline: Enter follows it
        # The selection is visible: a bar beside the story and the focus ring on its headline.
        bar = page.evaluate("getComputedStyle(document.querySelector('.item.is-selected'), '::before').backgroundColor")
        assert bar not in ("", "rgba(0, 0, 0, 0)")
        page.keyboard.press("Enter")
        page.wait_for_url(site_url.rstrip("/") + hrefs[1])
        assert page.locator("article.story h1").is_visible()

        # On a story, j and k go to the older and newer story.
        older = page.locator(".story-nav a[rel=prev]").get_attribute("href")
        page.keyboard.press("j")
        page.wait_for_url(site_url.rstrip("/") + older)
        w.assert_clean()
    finally:
        close(w)


def test_slash_focuses_search_and_question_mark_shows_the_keys(browser, site_url: str) -> None:  # noqa: ANN001
    w = open_page(browser)
    try:
        page = w.page
        page.goto(site_url)
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "site-search-q"
        assert page.input_value("#site-search-q") == "", "the slash is not typed into the box"
        page.keyboard.press("Escape")
        page.keyboard.press("?")
        dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        dialog.wait_for()
        assert page.evaluate("document.getElementById('keys-help').matches(':modal')")
        text = dialog.inner_text()
        for key in ("j", "k", "Enter", "/", "?"):
            assert key in text
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        # The same help from the button in the masthead.
        page.get_by_role("button", name="Keyboard shortcuts").click()
        dialog.wait_for()
        dialog.get_by_role("button", name="Close").click()
        dialog.wait_for(state="hidden")
        w.assert_clean()
    finally:
        close(w)


# --- read markers ----------------------------------------------------------------------------------
def test_a_story_opened_once_is_marked_read_after_a_reload(browser, site_url: str) -> None:  # noqa: ANN001
    w = open_page(browser)
    try:
        page = w.page
        page.goto(site_url)
        items = page.locator("main .item")
        count = items.count()
        target = items.nth(2)
        href = target.locator("a").first.get_attribute("href")
        assert page.locator("main .item.is-read").count() == 0
        target.locator("a").first.click()
        page.wait_for_url(site_url.rstrip("/") + href)
        page.goto(site_url)
        page.reload()
        read = page.locator("main .item.is-read")
        assert read.count() == 1
        assert read.locator("a").first.get_attribute("href") == href
        label = page.evaluate("getComputedStyle(document.querySelector('.is-read .item-title'), '::after').content")
        assert label == '"Read"'

        # Unread only hides it (and remembers the choice); the rest stay.
        toggle = page.get_by_role("button", name="Unread only")
        assert toggle.get_attribute("aria-pressed") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
        assert page.locator(f'main .item:has(a[href="{href}"])').is_hidden()
        assert page.locator("main .item:visible").count() == count - 1
        page.reload()
        assert page.get_by_role("button", name="Unread only").get_attribute("aria-pressed") == "true"
        assert page.locator(f'main .item:has(a[href="{href}"])').is_hidden()
        page.get_by_role("button", name="Unread only").click()
        assert page.locator("main .item:visible").count() == count
        w.assert_clean()
    finally:
        close(w)


def test_filter_chips_filter_the_front_page(browser, site_url: str) -> None:  # noqa: ANN001
    w = open_page(browser)
    try:
        page = w.page
        page.goto(site_url)
        chip = page.locator(".filters button.chip[data-filter=tag]").filter(has_text="Science")
        assert chip.get_attribute("aria-pressed") == "false"
        total = page.locator("main .item:visible").count()
        chip.click()
        assert chip.get_attribute("aria-pressed") == "true"
        visible = page.locator("main .item:visible")
        assert 0 < visible.count() < total
        for i in range(visible.count()):
            assert "Science" in visible.nth(i).locator(".tags").inner_text()
        assert "Science" in page.locator(".list-status").inner_text()
        # Days left without a shown story lose their heading.
        for section in page.locator("main section.day").all():
            if section.is_visible():
                assert section.locator(".item:visible").count() > 0
        chip.click()
        assert page.locator("main .item:visible").count() == total
        w.assert_clean()
    finally:
        close(w)


# --- offline ---------------------------------------------------------------------------------------
def _cached(page, url: str) -> bool:  # noqa: ANN001
    return page.evaluate("async url => Boolean(await caches.match(url))", url)


def test_a_visited_article_opens_offline_under_a_sub_path(browser, subpath_site: Path) -> None:  # noqa: ANN001
    server = StoppableServer(subpath_site)
    w = open_page(browser)
    try:
        page = w.page
        base = server.url + "news/"
        article = next(p.parent for p in (subpath_site / "news").glob("*/*/*/*/index.html"))
        article_url = base + article.relative_to(subpath_site / "news").as_posix() + "/"
        page.goto(article_url)
        title = page.locator("h1").inner_text()
        scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == base, "the worker's scope is the site's base path"
        deadline = time.monotonic() + 15
        while not (_cached(page, article_url) and _cached(page, base)):
            assert time.monotonic() < deadline, "the visited article and the front page were not cached"
            page.wait_for_timeout(100)
        server.stop()

        response = page.goto(article_url)
        assert response.ok and page.locator("h1").inner_text() == title
        assert background(page) == LIGHT_PAPER, "the stylesheet came from the cache too"
        page.goto(base)
        assert page.locator("main .item").count() > 5, "the latest front page opens offline"
        other = next(p for p in (subpath_site / "news").glob("*/*/*/*/index.html") if p.parent != article)
        response = page.goto(base + other.parent.relative_to(subpath_site / "news").as_posix() + "/")
        assert response.status == 503
        assert page.locator("h1").inner_text() == "You are offline"
        assert page.locator(f'a[href="{article_url}"]').inner_text() == title, "it offers the saved story"
    finally:
        server.stop()
        close(w)


# --- themes and print ------------------------------------------------------------------------------
def test_dark_mode_follows_the_system_and_the_toggle(browser, site_url: str, urls: dict[str, str]) -> None:  # noqa: ANN001
    w = open_page(browser, color_scheme="dark")
    try:
        page = w.page
        page.goto(site_url + urls["article"])
        assert background(page) == DARK_PAPER
        page.emulate_media(color_scheme="light")
        assert background(page) == LIGHT_PAPER
        toggle = page.get_by_role("button", name="Dark theme")
        expect(toggle).to_have_attribute("aria-pressed", "false")  # the media change arrives as an event
        toggle.click()
        assert background(page) == DARK_PAPER
        expect(toggle).to_have_attribute("aria-pressed", "true")
        page.goto(site_url)
        assert background(page) == DARK_PAPER, "the choice is kept from page to page"
        page.get_by_role("button", name="Dark theme").click()
        assert background(page) == LIGHT_PAPER
        # Choosing what the system shows means following the system again.
        page.emulate_media(color_scheme="dark")
        assert background(page) == DARK_PAPER
        assert page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':theme'))") == []
        page.emulate_media(media="print")
        assert background(page) == "rgb(255, 255, 255)", "print is always black on white"
        for selector in (".site-search", ".masthead nav", ".tools", ".filters"):
            assert page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).display") == "none"
        w.assert_clean()
    finally:
        close(w)


# --- without JavaScript ----------------------------------------------------------------------------
def test_the_site_reads_and_navigates_without_javascript(browser, site_url: str) -> None:  # noqa: ANN001
    w = open_page(browser, java_script_enabled=False)
    try:
        page = w.page
        page.goto(site_url)
        assert page.locator("main .item").count() >= 10
        assert page.locator(".tools button, .list-tools button").count() == 0, "no controls that need a script"
        # Filter chips are plain links to the tag and source pages.
        page.locator(".filters a.chip[data-filter=tag]").first.click()
        page.wait_for_url(re.compile(r"/tags/[^/]+/$"))
        assert page.locator("main .item").count() >= 1
        page.go_back()
        page.locator(".filters a.chip[data-filter=source]").first.click()
        page.wait_for_url(re.compile(r"/sources/[^/]+/$"))
        page.go_back()
        # A story, then the next one, then its day.
        page.locator("main .item-title a").nth(1).click()
        page.wait_for_url(re.compile(r"/\d{4}/\d{2}/\d{2}/[^/]+/$"))
        assert len(page.locator(".story .body p").all_inner_texts()) >= 2
        first = page.url
        page.locator(".story-nav a[rel=prev]").click()
        page.wait_for_url(lambda url: url != first)
        assert page.locator(".story h1").is_visible()
        page.locator(".story-nav .day-link").click()
        page.wait_for_url(re.compile(r"/\d{4}/\d{2}/\d{2}/$"))
        # The search box is a plain form: it reaches the search page, which says what needs a script.
        page.fill("#site-search-q", "harbour")
        page.press("#site-search-q", "Enter")
        page.wait_for_url(re.compile(r"/search/\?q=harbour$"))
        assert "needs JavaScript" in page.locator("main").inner_text()
        w.assert_clean()
    finally:
        close(w)


# --- accessibility, stability, installability --------------------------------------------------------
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_wcag_violations_in_reader_states(  # noqa: ANN001
    browser, site_url: str, urls: dict[str, str], seagrass_url: str, axe_source: str, scheme: str
) -> None:
    w = open_page(browser, color_scheme=scheme)
    failures = []
    try:
        page = w.page

        def check(name: str) -> None:
            page.add_script_tag(content=axe_source)
            found = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                WCAG_TAGS,
            )
            assert found["passes"], "axe ran no rules"
            for v in found["violations"]:
                targets = "; ".join(", ".join(n["target"]) for n in v["nodes"][:4])
                failures.append(f"{name}: {v['id']} ({v['impact']}) {v['help']} — {targets}")

        page.goto(site_url + seagrass_url)
        check("article")
        page.goto(site_url)
        page.locator(".filters button.chip").first.click()
        page.keyboard.press("j")
        check("front, filtered, a story selected")
        page.keyboard.press("?")
        check("front with the keys dialog")
        page.goto(site_url + "search/?q=harbour")
        results(page)
        check("search results")
        page.get_by_role("button", name="Dark theme").click()
        check("search results, other theme")
    finally:
        close(w)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", ["front", "article with image", "search"])
def test_no_layout_shift_and_sized_images(browser, site_url: str, urls: dict[str, str], kind: str) -> None:  # noqa: ANN001
    w = open_page(browser, viewport={"width": 390, "height": 844})
    try:
        page = w.page
        page.add_init_script(
            "window.__shift = 0; new PerformanceObserver(l => { for (const e of l.getEntries())"
            " if (!e.hadRecentInput) window.__shift += e.value; }).observe({type: 'layout-shift', buffered: true});"
        )
        page.goto(site_url + (urls[kind] if kind != "search" else "search/?q=harbour"))
        page.wait_for_load_state("load")
        if kind == "search":
            results(page)  # what arrives after load must not move what is already on the screen
        page.mouse.wheel(0, 3000)
        page.wait_for_timeout(600)
        assert page.evaluate("window.__shift") < 0.01
        unsized = page.evaluate(
            "[...document.images].filter(i => !i.getAttribute('width') || !i.getAttribute('height')).map(i => i.src)"
        )
        assert unsized == []
        w.assert_clean()
    finally:
        close(w)


def test_installable_web_app(browser, site_url: str) -> None:  # noqa: ANN001
    w = open_page(browser)
    try:
        page = w.page
        page.goto(site_url)
        href = page.locator("link[rel=manifest]").get_attribute("href")
        response = page.request.get(site_url.rstrip("/") + href)
        manifest = json.loads(response.text())
        assert manifest["name"] == page.locator(".brand").inner_text()
        assert manifest["start_url"] == "./" and manifest["scope"] == "./" and manifest["display"] == "standalone"
        sizes = set()
        for icon in manifest["icons"]:
            got = page.request.get(site_url + icon["src"])
            assert got.ok and got.headers["content-type"].startswith(icon["type"])
            sizes.add(icon["sizes"])
        assert {"192x192", "512x512"} <= sizes
        assert any(i.get("purpose") == "maskable" for i in manifest["icons"])
        assert page.request.get(site_url + "sw.js").ok
        # Scripts are external files, loaded without blocking the page.
        scripts = page.locator("script:not([type='application/ld+json'])")
        for i in range(scripts.count()):
            assert scripts.nth(i).get_attribute("src") and scripts.nth(i).get_attribute("defer") is not None
        w.assert_clean()
    finally:
        close(w)


# --- screenshots -----------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_reader_screenshots(  # noqa: ANN001
    browser, site_url: str, seagrass_url: str, artifacts: Path, width: int, scheme: str
) -> None:
    w = open_page(browser, viewport={"width": width, "height": 900}, color_scheme=scheme, device_scale_factor=1)
    try:
        page = w.page
        for name, path in (("front", ""), ("article", seagrass_url), ("search", "search/?q=harbour")):
            page.goto(site_url + path)
            if name == "search":
                results(page)
            page.wait_for_load_state("load")
            # Lazy images load only near the screen: a full-page shot asks for all of them first.
            page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
            page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            shot = artifacts / f"reader-{name}-{width}-{scheme}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
            expected = DARK_PAPER if scheme == "dark" else LIGHT_PAPER
            assert background(page) == expected
        w.assert_clean()
    finally:
        close(w)

"""Screenshots of the front page and an article at phone and desktop widths, saved to test-artifacts/
for people to look at; the checks a screenshot makes visible are also asserted: nothing wider than
the screen, the masthead and headline on the first screen, the lead image shown at its width."""

from __future__ import annotations

from pathlib import Path

import pytest
from sitetools import page_urls

WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.mark.parametrize("kind", ["front", "article with image"])
@pytest.mark.parametrize("device", WIDTHS)
def test_screenshot(browser, site_url: str, built_site: Path, artifacts: Path, kind: str, device: str) -> None:  # noqa: ANN001
    width, height = WIDTHS[device]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(site_url + page_urls(built_site)[kind])
        page.wait_for_load_state("load")
        name = f"{kind.replace(' ', '-')}-{width}"
        page.screenshot(path=str(artifacts / f"{name}-top.png"))  # the first screen, as a reader lands
        # Scroll through so lazy images load, as they would for a reader, before the full-page shot.
        page.evaluate(
            "async () => { for (let y = 0; y < document.body.scrollHeight; y += innerHeight) {"
            " scrollTo(0, y); await new Promise(r => requestAnimationFrame(r)); } scrollTo(0, 0); }"
        )
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        broken = page.evaluate("[...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
        assert broken == [], f"images that did not load: {broken}"
        shot = artifacts / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        overflow = page.evaluate(
            "() => [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > innerWidth + 1)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"sideways scrolling: {overflow}"
        for selector in (".masthead .brand", "main h1"):
            box = page.locator(selector).bounding_box()
            assert box and box["y"] + box["height"] <= height, f"{selector} is not on the first screen"
        body_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
        assert body_size >= 14, "text is readable without zooming"
        if kind == "article with image":
            box = page.locator("figure img").bounding_box()
            column = page.locator("article.story").bounding_box()
            assert box and column and abs(box["width"] - column["width"]) < 2, "the lead image fills the column"
    finally:
        context.close()

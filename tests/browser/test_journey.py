"""A reader's journey through the built sample site in Chromium, by clicking links as a person would:
front page -> article -> tag page -> day edition -> previous day -> next day -> front page.
Every page loads without console errors, failed requests or error responses."""

from __future__ import annotations

import re


def _arrive(page, problems, where: str) -> None:  # noqa: ANN001
    page.wait_for_load_state("load")
    assert page.locator("main h1").count() == 1, where
    assert page.locator('link[rel="stylesheet"]').count() == 1
    # The stylesheet really applied (a failed CSS load would leave the default white/Times page).
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Georgia"), where
    assert problems.take() == [], f"problems on {where} ({page.url})"


def test_reader_journey(watched, site_url: str) -> None:  # noqa: ANN001
    from playwright.sync_api import expect  # imported here: without Playwright the fixtures skip

    page, problems = watched
    page.goto(site_url)
    _arrive(page, problems, "front page")
    expect(page.locator("main h1")).to_have_text("Latest news")

    first = page.locator("main .item :is(h2, h3) a").first
    headline = first.text_content().strip()
    if first.locator(".prefix").count():  # "Analysis: Title" on lists is "Title" under a kicker on the article
        headline = headline.removeprefix(first.locator(".prefix").text_content()).strip()
    first.click()
    _arrive(page, problems, "article")
    assert re.search(r"/\d{4}/\d{2}/\d{2}/[^/]+/$", page.url), page.url
    expect(page.locator("article.story h1")).to_have_text(headline)
    expect(page.locator("article.story .body p").first).to_be_visible()

    tag = page.locator('article.story footer a[rel="tag"]').first
    tag_name = tag.text_content().strip()
    tag.click()
    _arrive(page, problems, "tag page")
    assert "/tags/" in page.url
    expect(page.locator("main h1")).to_have_text(tag_name)
    expect(page.locator("main .item :is(h2, h3) a", has_text=headline)).to_have_count(1)

    day_link = page.locator("main section.day h2 a").first
    day_label = day_link.text_content().strip()
    day_link.click()
    _arrive(page, problems, "day edition")
    day_url = page.url
    assert re.search(r"/\d{4}/\d{2}/\d{2}/$", day_url), day_url
    expect(page.locator("main h1")).to_have_text(day_label)

    older = page.locator('nav.pager a[rel="prev"]')
    newer = page.locator('nav.pager a[rel="next"]')
    assert older.count() + newer.count() >= 1, "a day edition links to at least one other day"
    # Go one way and come back the other: the two links must be each other's inverse.
    there, back = (older, 'a[rel="next"]') if older.count() else (newer, 'a[rel="prev"]')
    other_label = there.text_content().strip("←→ ")
    there.click()
    _arrive(page, problems, "neighbouring day")
    assert page.url != day_url
    expect(page.locator("main h1")).to_have_text(other_label)
    page.locator(f"nav.pager {back}").click()
    _arrive(page, problems, "day edition again")
    assert page.url == day_url

    page.locator(".masthead .brand a").click()
    _arrive(page, problems, "front page again")
    assert page.url == site_url
    expect(page.locator("main .item :is(h2, h3) a").first).to_contain_text(headline)

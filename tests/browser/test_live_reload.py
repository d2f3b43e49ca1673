"""`broadsheet serve` as a real subprocess, watched through Chromium: an edit on disk shows in the
open page within 2 seconds with no manual reload; a broken article shows its error; a fix recovers."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sitetools import ROOT, ServeProcess, sample_project

from broadsheet.frontmatter import parse_article

MARKER = "This paragraph was added while the preview was open."


def _article(project: Path) -> tuple[Path, str]:
    """An article of the sample site with an image, and its site-relative URL."""
    for path in sorted((project / "content").rglob("*.md")):
        text = path.read_text("utf-8")
        if "\nimage:" in text and "draft: true" not in text:
            rel = path.relative_to(project / "content").as_posix()
            return path, parse_article(text, rel, ZoneInfo("UTC")).url
    raise AssertionError(f"no article with an image in {ROOT / 'content'}")


def _write(path: Path, text: str) -> None:
    # Write-and-rename, as most editors save: the watcher must follow the new file.
    tmp = path.with_name(path.name + ".tmp~")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)


def test_edit_break_and_fix_show_in_open_page(context, tmp_path: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect  # imported here: without Playwright the fixtures skip

    project = sample_project(tmp_path / "project", 'title = "Preview"\nbase_url = "https://example.org/news/"\n')
    source, url = _article(project)
    original = source.read_text("utf-8")
    with ServeProcess(project) as server:
        assert urlsplit(server.url).path == "/news/", "the preview serves at the configured sub-path"
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on(
            "requestfailed",  # a reload aborts the open event stream; that one is expected
            lambda r: "/__broadsheet/" not in r.url and problems.append(f"failed: {r.url}"),
        )
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
        page.goto(server.url + url)
        expect(page.locator("article.story h1")).to_be_visible()
        image = page.locator("article.story figure img")
        expect(image).to_have_attribute("src", "/news/media/" + image.get_attribute("src").rsplit("/", 1)[-1])
        assert page.evaluate("document.querySelector('figure img').naturalWidth") > 0, "image loads at the sub-path"

        _write(source, original.rstrip("\n") + f"\n\n{MARKER}\n")
        started = time.monotonic()
        expect(page.get_by_text(MARKER)).to_be_visible(timeout=2000)
        print(f"edit visible after {time.monotonic() - started:.2f}s")

        broken = original.replace("\ntitle:", "\ntitle: [an unclosed list\nx:", 1)
        assert broken != original
        _write(source, broken)
        overlay = page.locator("#broadsheet-build-error")
        expect(overlay).to_be_visible(timeout=2000)
        expect(overlay).to_contain_text(source.name)
        expect(overlay).to_contain_text("YAML")
        expect(page.get_by_text(MARKER)).to_be_visible()  # the last good build stays readable beneath
        assert "build failed" in "\n".join(server.stdout)

        _write(source, original)
        expect(overlay).to_be_hidden(timeout=2000)
        expect(page.get_by_text(MARKER)).to_have_count(0, timeout=2000)
        expect(page.locator("article.story h1")).to_be_visible()
        assert server.proc.poll() is None, "the server kept running through the failed build"
        assert problems == []
        assert server.stop() == 0
    assert "stopped" in server.stdout[-1]

"""axe-core (the npm package, pinned in package.json) on every kind of page of the sample site: no
violations of WCAG 2.0/2.1 level A and AA; in the dark colour scheme, the colour rules again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sitetools import ROOT, page_urls

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Only these rules can come out differently in the dark scheme (everything else is the same markup).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
KINDS = [
    "front",
    "article",
    "article with image",
    "tag index",
    "tag",
    "year",
    "month",
    "day",
    "archive",
    "source index",
    "source",
    "author",
    "404",
]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        reason = f"{AXE} not found: run `npm ci` (package.json pins axe-core)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text("utf-8")


@pytest.fixture(scope="module")
def urls(built_site: Path) -> dict[str, str]:
    found = page_urls(built_site)
    missing = [kind for kind in KINDS if kind not in found]
    assert not missing, f"the sample site has no page of kind {missing}"
    return found


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_wcag_violations(browser, site_url: str, urls: dict[str, str], axe_source: str, scheme: str) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    failures = []
    checked = 0
    try:
        for kind in KINDS:
            page.goto(site_url + urls[kind])
            page.add_script_tag(content=axe_source)
            only = (
                {"type": "tag", "values": WCAG_TAGS} if scheme == "light" else {"type": "rule", "values": COLOUR_RULES}
            )
            result = page.evaluate(
                "only => axe.run(document, {runOnly: only, resultTypes: ['violations']})",
                only,
            )
            checked += len(result["passes"]) + len(result["violations"])
            if result["violations"]:
                failures.append(f"{kind} /{urls[kind]}:\n{_describe(result['violations'])}")
    finally:
        context.close()
    assert checked > 0, "axe ran no rules"
    assert not failures, "\n\n".join(failures)

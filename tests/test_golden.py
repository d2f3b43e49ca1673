"""Golden output: the fixture site (tests/fixtures/golden/site) must build to exactly the checked-in tree.

After an intended change to templates or rendering, regenerate and review:
    python -m tests.regen_golden          (or UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py)
"""

from __future__ import annotations

import os
from pathlib import Path

from regen_golden import EXPECTED, REGEN_COMMAND, build_golden, differences, regenerate, tree

# One of each page type the fixture is meant to produce; guards against regenerating a truncated tree.
EVERY_PAGE_TYPE = [
    "index.html",
    "page/2/index.html",
    "page/3/index.html",
    "2023/12/04/harbour-ferry-winter-timetable/index.html",
    "2024/01/15/science-fair/index.html",  # slug: overrides the file name
    "2024/01/01/rail-bridge-night-works/index.html",  # 23:30 UTC on 31 Dec is 1 Jan in Berlin
    "tags/index.html",
    "tags/transport/index.html",
    "tags/transport/page/2/index.html",
    "tags/transport/feed.xml",
    "sources/index.html",
    "sources/riverside-post/index.html",
    "authors/index.html",
    "authors/maren-holt/index.html",
    "2023/index.html",
    "2023/12/index.html",
    "2023/12/04/index.html",
    "archive/index.html",
    "404.html",
    "feed.xml",
    "sitemap.xml",
    "robots.txt",
    "media/ferry.svg",
]


def test_build_matches_the_golden_tree(tmp_path: Path) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        regenerate()
    report = differences(tree(build_golden(tmp_path)), tree(EXPECTED))
    assert not report, (
        "the fixture site no longer builds to tests/fixtures/golden/expected:\n"
        + "\n".join(report[:300])
        + f"\n\nIf every difference is intended, run `{REGEN_COMMAND}` and review `git diff`."
    )


def test_golden_tree_has_every_page_type_and_no_draft() -> None:
    names = set(tree(EXPECTED))
    missing = [name for name in EVERY_PAGE_TYPE if name not in names]
    assert not missing, f"expected tree lacks {missing}; regenerate with `{REGEN_COMMAND}`"
    assert not any("secret-budget-leak" in name or "leaks" in name for name in names)


def test_two_builds_of_the_same_content_are_byte_identical(golden_site: Path, tmp_path: Path) -> None:
    # Golden files only make sense if nothing (clock, dict order, worker timing) leaks into the output.
    first = tree(golden_site)
    second = tree(build_golden(tmp_path))
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []

"""Bad input, through the real CLI in a subprocess: exit code 1, one clear message naming the file (and
line where there is one), no traceback, and the previous site left exactly as it was."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from buildkit import SiteDirs

GOOD = {
    "2024/01/harbour.md": "---\ntitle: Harbour reopens\ndate: 2024-01-02\ntags: [Harbour]\n---\nThe harbour reopens.\n",
    "2024/01/tram.md": "---\ntitle: Tram line extended\ndate: 2024-01-03\ntags: [Transport]\n---\nTrams run further.\n",
}
BAD = "2024/01/bad.md"


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, inode and mtime: 'byte-identical and untouched'."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def pages_only(snap: dict[str, tuple[bytes, int, int]]) -> dict[str, tuple[bytes, int, int]]:
    # The manifest may record that the latest build failed (so `publish` refuses stale pages); the
    # site itself, every page and asset, must not change.
    return {k: v for k, v in snap.items() if k != ".broadsheet-manifest.json"}


def assert_clean_failure(result, *needles: str, errors: int = 1) -> None:  # noqa: ANN001
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == errors, result.stderr
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in {result.stderr!r}"


@pytest.fixture
def built(make_site: Callable[..., SiteDirs]) -> SiteDirs:
    """A site with two good articles, already built once (in-process, fast)."""
    site = make_site(GOOD)
    site.build()
    return site


# name -> (file text, what its one error line must contain). `{file}` is the case's own content file.
ARTICLE_CASES: dict[str, tuple[str | bytes, list[str]]] = {
    "invalid-yaml": (
        "---\ntitle: Bad\ndate: 2024-01-04\ntags: [a, b\nsummary: x\n---\nBody\n",
        ["{file}:5:", "invalid YAML", "starts on line 4"],
    ),
    "bad-indentation": ("---\ntitle: Bad\n  date: 2024-01-04\n---\nBody\n", ["{file}:3:", "invalid YAML"]),
    "missing-title": ("---\ndate: 2024-01-04\n---\nBody\n", ["{file}:", "missing title"]),
    "empty-title": ("---\ntitle: ''\ndate: 2024-01-04\n---\nBody\n", ["{file}:", "missing title"]),
    "missing-date": ("---\ntitle: No date\n---\nBody\n", ["{file}:", "missing date"]),
    "unparseable-date": (
        "---\ntitle: x\ndate: 2024-13-45\n---\nBody\n",
        ["{file}:3:", "unparseable date", "2024-13-45"],
    ),
    "words-for-a-date": ("---\ntitle: x\ndate: next tuesday\n---\nBody\n", ["{file}:3:", "unparseable date"]),
    "tags-5": ("---\ntitle: x\ndate: 2024-01-04\ntags: 5\n---\nBody\n", ["{file}:4:", "tags must be a list"]),
    "image-3": ("---\ntitle: x\ndate: 2024-01-04\nimage: 3\n---\nBody\n", ["{file}:4:", "image must be"]),
    "draft-yes": (
        '---\ntitle: x\ndate: 2024-01-04\ndraft: "yes"\n---\nBody\n',
        ["{file}:4:", "draft must be true or false"],
    ),
    "no-frontmatter": ("Just a body.\n", ["{file}:1:", "frontmatter"]),
    "unclosed-frontmatter": ("---\ntitle: x\ndate: 2024-01-04\nBody\n", ["{file}:", "not closed"]),
    "python-object-tag": (
        "---\ntitle: x\ndate: 2024-01-04\nx: !!python/object/apply:os.system [echo hi]\n---\nBody\n",
        ["{file}:4:", "not allowed"],
    ),
    "not-utf8": (b"---\ntitle: caf\xe9\ndate: 2024-01-04\n---\nBody\n", ["{file}:2:", "UTF-8"]),
}


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteDirs, object, dict, dict]:
    """One CLI run over a built site to which every bad case was added, each in its own file.

    Parse errors are per file, so one run shows each case's message; it keeps the suite fast."""
    root = tmp_path_factory.mktemp("broken") / "site"
    site = SiteDirs(root=root, content=root / "content", output=root / "site", config=None)
    for rel, text in GOOD.items():
        site.write(rel, text)
    site.build()
    before = snapshot(site.output)
    for name, (text, _) in ARTICLE_CASES.items():
        path = site.content / f"bad/{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    result = site.cli()
    return site, result, before, snapshot(site.output)


@pytest.mark.parametrize("case", sorted(ARTICLE_CASES))
def test_each_bad_article_gets_one_clear_message(broken_build: tuple, case: str) -> None:
    _, result, _, _ = broken_build
    file = f"bad/{case}.md"
    lines = [line for line in result.stderr.splitlines() if file in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in ARTICLE_CASES[case][1]:
        assert needle.format(file=file) in lines[0], lines[0]


def test_bad_articles_exit_1_without_traceback_and_keep_the_previous_site(broken_build: tuple) -> None:
    site, result, before, after = broken_build
    assert_clean_failure(result, errors=len(ARTICLE_CASES))
    assert result.stdout == ""  # no summary line: nothing was built
    assert pages_only(after) == pages_only(before)
    assert not [p for p in site.output.parent.iterdir() if p.name.startswith(".site-new-")], "staging left behind"


def test_one_bad_article_alone(built: SiteDirs) -> None:
    before = snapshot(built.output)
    built.write(BAD, "---\ntitle: x\ndate: 2024-02-30\n---\nBody\n")
    result = built.cli()
    assert_clean_failure(result, f"{BAD}:3:", "unparseable date")
    assert pages_only(snapshot(built.output)) == pages_only(before)


def test_two_articles_claiming_one_url_are_both_named(built: SiteDirs) -> None:
    before = snapshot(built.output)
    built.write("2024/01/copy.md", "---\ntitle: Another\ndate: 2024-01-02\nslug: harbour\n---\nBody\n")
    result = built.cli()
    assert_clean_failure(result, "2024/01/copy.md", "2024/01/harbour.md", "/2024/01/02/harbour/", errors=2)
    assert pages_only(snapshot(built.output)) == pages_only(before)
    # The page that was published before is still the first article's, not silently overwritten.
    assert b"Harbour reopens" in (built.output / "2024/01/02/harbour/index.html").read_bytes()


def test_keep_going_builds_the_rest_and_exits_1(built: SiteDirs) -> None:
    built.write(BAD, "---\ntitle: x\ndate: someday\n---\nBody\n")
    built.write("2024/01/new.md", "---\ntitle: Brand new\ndate: 2024-01-05\n---\nFresh.\n")
    result = built.cli("--keep-going")
    assert_clean_failure(result, f"{BAD}:3:", "unparseable date")
    assert (built.output / "2024/01/05/new/index.html").is_file()  # the good new article was published
    assert (built.output / "2024/01/02/harbour/index.html").is_file()
    assert not (built.output / "2024/01/04").exists()
    assert re.search(r"built 3 articles", result.stdout), result.stdout  # the summary still comes


# --- config errors ------------------------------------------------------------------------------

# Type and range checks of every setting are in test_config.py (in-process); these go through the CLI.
CONFIG_CASES = {
    "unknown key": ('title = "x"\ntitel = "typo"\n', ["site.toml", "'titel'"]),
    "invalid TOML": ('title = "x"\npage_size = = 3\n', ["site.toml:2:", "invalid TOML"]),
    "bad timezone": ('timezone = "Mars/Olympus_Mons"\n', ["site.toml", "Mars/Olympus_Mons"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_fails_cleanly(make_site: Callable[..., SiteDirs], case: str) -> None:
    text, needles = CONFIG_CASES[case]
    site = make_site(GOOD, config=text)
    result = site.cli()
    assert_clean_failure(result, *needles)
    assert not site.output.exists()


def test_missing_config_file_is_named(make_site: Callable[..., SiteDirs]) -> None:
    site = make_site(GOOD)
    result = site.cli("--config", str(site.root / "nope.toml"))
    assert_clean_failure(result, "nope.toml", "not found")


def test_missing_content_folder_is_named(make_site: Callable[..., SiteDirs]) -> None:
    site = make_site({})
    os.rmdir(site.content)
    assert_clean_failure(site.cli(), "content", "not found")

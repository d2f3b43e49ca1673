"""Promise 5: bad input never crashes the tool; each broken file gets one clear message naming it.

The corpus in broken/ (plus a 50 MB article generated here, and pathological Markdown) goes
through the real CLI, `python -m broadsheet build`, one file at a time next to good articles:
exit status 1, no traceback, exactly one `error:` line and it names the file (a duplicate URL
names both files, one line each). Then all of it at once with --keep-going: the good articles
still build.
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers import build, make_project, write_article

BROKEN = Path(__file__).with_name("broken")
# file -> what its message must say, and its line (None: the message may or may not give one)
EXPECTED = {
    "bad-yaml.md": ("starts on line 4", 5),
    "bad-indent.md": ("invalid YAML", 3),
    "bad-date.md": ("unparseable date", 3),
    "date-out-of-range.md": ("out of range", 3),
    "date-list.md": ("date must be", 3),
    "tags-number.md": ("tags must be a list", 4),
    "tags-nested.md": ("tags must be a list of text", 4),
    "title-mapping.md": ("title must be text", 2),
    "missing-title.md": ("missing title", None),
    "missing-date.md": ("missing date", None),
    "draft-text.md": ("draft must be true or false", 4),
    "image-unknown-key.md": ("unknown image key", 4),
    "frontmatter-list.md": ("frontmatter must be a mapping", 2),
    "no-frontmatter.md": ("no frontmatter", 1),
    "unclosed-frontmatter.md": ("not closed", 1),
    "empty.md": ("empty file", None),
    "whitespace-only.md": ("empty file", None),
    "non-utf8.md": ("not valid UTF-8", 2),
    "utf16.md": ("not valid UTF-8", 1),
    "nul-bytes.md": ("NUL", 5),
    "python-object.md": ("Python objects are not allowed", 2),
    "yaml-too-deep.md": ("maximum nesting depth", 4),
    "huge-number.md": ("more than 4300 digits", None),
    "explicit-tag-no-value.md": ("does not fit its `!!` type tag", 4),  # found by fuzz_frontmatter
}
DUPLICATES = ("duplicate-url-a.md", "duplicate-url-b.md")
GOOD = {f"2024/good-{i}.md": {"title": f"Good story {i}", "date": f"2024-04-0{i}"} for i in range(1, 4)}
TRACEBACK_SIGNS = ("Traceback", 'File "', "Error:", "Exception", "<class ")


def _project(root: Path) -> Path:
    project = make_project(root)
    for rel, meta in GOOD.items():
        write_article(project / "content", rel, meta, "A good article with a paragraph of text.")
    return project


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def _check_clean_failure(stderr: str) -> None:
    for sign in TRACEBACK_SIGNS:
        assert sign not in stderr.replace("error: ", ""), stderr[-2000:]


def test_the_corpus_is_all_there() -> None:
    assert {p.name for p in BROKEN.iterdir()} == set(EXPECTED) | set(DUPLICATES)


def _run_one(tmp: Path, names: tuple[str, ...]) -> tuple[tuple[str, ...], object]:
    project = _project(tmp / names[0].replace(".", "_"))
    folder = project / "content" / "broken"
    folder.mkdir()
    for name in names:
        shutil.copy(BROKEN / name, folder / name)
    return names, build(project, output=project / "site", timeout=120)


def test_each_broken_file_gets_one_message_naming_it(tmp_path: Path) -> None:
    cases = [(name,) for name in EXPECTED] + [DUPLICATES]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda names: _run_one(tmp_path, names), cases))
    failures = []
    for names, result in results:
        lines = _error_lines(result.stderr)  # type: ignore[attr-defined]
        try:
            assert result.returncode == 1  # type: ignore[attr-defined]
            _check_clean_failure(result.stderr)  # type: ignore[attr-defined]
            assert len(lines) == len(names), lines
            assert "site/ left unchanged" in result.stderr or "left unchanged" in result.stderr  # type: ignore[attr-defined]
            for name, line in zip(sorted(names), sorted(lines), strict=True):
                fragment, number = EXPECTED.get(name, ("claimed by more than one article", None))
                where = re.escape(f"broken/{name}") + (f":{number}" if number else r"(:\d+)?")
                assert re.match(f"error: {where}: ", line), (line, where)
                assert fragment in line, (line, fragment)
            if names == DUPLICATES:
                assert all(all(n in line for n in DUPLICATES) for line in lines)  # each names both
        except AssertionError as exc:
            failures.append(f"{names}: {exc}")
    assert not failures, "\n".join(failures)


def _pathological_markdown() -> dict[str, str]:
    return {
        "quotes.md": ">" * 10000 + " deep",
        "brackets.md": "[" * 10000 + "x" + "]" * 10000 + "(y)",
        "open-brackets.md": "[" * 10000,
        "images.md": "![" * 10000,
        "emphasis.md": "*a **b " * 5000,
        "underscores.md": "_" * 10000 + "x",
        "backticks.md": "`" * 10000 + "x",
        "lists.md": "".join("  " * i + "- x\n" for i in range(1000)),
        "entities.md": "&#" * 20000,
        "links.md": "[a](" * 10000,
        "html.md": "<div>" * 10000,
        "table.md": "|a|\n|-|\n" + "|x|\n" * 10000,
    }


def test_keep_going_builds_the_rest(tmp_path: Path) -> None:
    """Everything at once: the 50 MB article, every broken file and pathological Markdown."""
    project = _project(tmp_path / "all")
    broken = project / "content" / "broken"
    shutil.copytree(BROKEN, broken)
    with (broken / "fifty-mb.md").open("wb") as handle:
        handle.write(b"---\ntitle: Enormous\ndate: 2024-03-01\n---\n")
        line = b"A very long article that somebody pasted far too many times. " * 16 + b"\n"
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(line * 1000)
    for name, body in _pathological_markdown().items():
        write_article(project / "content", f"deep/{name}", {"title": name, "date": "2024-04-05"}, body)

    result = build(project, "--keep-going", output=project / "site", timeout=240)
    assert result.returncode == 1
    _check_clean_failure(result.stderr)
    lines = _error_lines(result.stderr)
    named = [re.match(r"error: broken/([^:]+)", line) for line in lines]
    assert all(named), lines
    counts: dict[str, int] = {}
    for match in named:
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1  # type: ignore[union-attr]
    assert counts == {name: 1 for name in (*EXPECTED, *DUPLICATES, "fifty-mb.md")}, counts
    assert any("fifty-mb.md: file is 52." in line for line in lines)
    # The good articles and every pathological-but-valid Markdown file were built.
    site = project / "site"
    assert "built 15 articles" in result.stdout, result.stdout
    for i in range(1, 4):
        assert (site / f"2024/04/0{i}/good-{i}/index.html").is_file()
    for name in _pathological_markdown():
        assert (site / "2024/04/05" / name.removesuffix(".md") / "index.html").is_file(), name


@pytest.mark.parametrize("body", [">" * 10000 + " x", "[" * 10000, "*a " * 20000 + "*"])
def test_pathological_markdown_renders_quickly(body: str) -> None:
    import time

    from broadsheet.markdown import render_markdown

    started = time.perf_counter()
    render_markdown(body)
    assert time.perf_counter() - started < 5

"""Promise 2: output stays inside the output folder, whatever names content uses.

Property tests over the only code that turns content into paths (urls.slugify, urls.output_path,
Article.url via the real parser, Term URLs via the real indexer), then an end-to-end build of
hostile names, and symlinks in content/ that lead outside, into loops, or to pipes.
"""

from __future__ import annotations

import os
import posixpath
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broadsheet.errors import BroadsheetError
from broadsheet.frontmatter import parse_article
from broadsheet.load import build_site
from broadsheet.urls import MAX_SLUG, output_path, slugify

from .helpers import build, frontmatter_text, make_project, write_article

WINDOWS_RESERVED = {"con", "prn", "aux", "nul", "conin$", "conout$"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in [*range(10), "¹", "²", "³"]
}
# Separators, dots and their look-alikes: none may survive into a path segment.
LOOKALIKES = "/\\.\u2215\u2044\u29f8\uff0f\uff3c\u2024\ufe52\uff0e\u3002\u0338\u2216\ufe68"
HOSTILE = [
    "..", "../../etc/passwd", "/etc/passwd", "..\\..\\windows\\system32", "a/../../b", "\x00", "a\x00b",
    "CON", "con.txt", "Aux", "NUL.md", "COM1", "lpt9", "com¹", "CONIN$", "prn.", " con ", "nul\u200b",
    "..\u2215..\u2215etc", "\uff0e\uff0e\uff0fetc", "\u2024\u2024/x", "%2e%2e%2f", "%252e%252e", "~root",
    "x" * 5000, "\U00020000" * 300, "\u00e9" * 300, "-" * 300, "_" * 300, "   ", "\t\n", "\u202e", "\ufeff",
    "\U0001f600", "\ud800", "C:\\x", "\\\\server\\share", "file:///etc/passwd", "$(id)", "`id`", "a|b>c",
]  # fmt: skip

text_with_hostile = st.one_of(st.text(), st.sampled_from(HOSTILE), st.text(alphabet=LOOKALIKES + "a-_ "))


def _assert_safe_segment(slug: str) -> None:
    assert slug, "empty slug"
    assert slug not in (".", "..")
    assert slug.lower() not in WINDOWS_RESERVED and slug.split(".")[0].lower() not in WINDOWS_RESERVED
    assert len(slug) <= MAX_SLUG
    assert len(slug.encode("utf-8")) <= 255, "longer than a file name may be"
    assert not slug.startswith("-") and not slug.endswith("-") or slug.endswith("-") and slug[:-1] in WINDOWS_RESERVED
    for char in slug:
        # Letters and digits of any script, and hyphens; nothing else (no separators or look-alikes,
        # no dots, controls, spaces, marks or format characters).
        assert char == "-" or unicodedata.category(char)[0] in "LN", (slug, char, unicodedata.category(char))
    assert unicodedata.normalize("NFC", slug) == slug, "two spellings of one slug could be two folders"


@settings(max_examples=600, deadline=None)
@given(text_with_hostile)
@example("\U00020000" * 100)  # regression: 80 four-byte letters made a 320-byte folder name
@example("İstanbul")
@example("Ǽ")  # regression: decomposes to Æ and an accent, after Æ had been folded
def test_slugify_gives_one_safe_segment(text: str) -> None:
    slug = slugify(text)
    _assert_safe_segment(slug)
    assert slugify(slug) == slug  # idempotent: a slug is its own slug
    assert slugify(text, fallback="tag") == slug or slug.startswith("item-")


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(st.text(), st.lists(st.sampled_from(["..", ".", "", "a", "/", "\\", "\x00", "index.html"])).map("/".join))
)
@example(".")
@example("./")
@example("a/..")
def test_output_path_never_leaves_the_output_folder(rel: str) -> None:
    try:
        path = output_path(rel)
    except ValueError:
        return
    assert path and path not in (".", "..")
    assert not PurePosixPath(path).is_absolute()
    assert ".." not in PurePosixPath(path).parts
    assert "\x00" not in path and "\\" not in path
    root = "/out"
    joined = posixpath.normpath(posixpath.join(root, path))
    assert joined.startswith(root + "/") and joined != root


dates = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(lambda d: d.isoformat()),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(timezone(timedelta(hours=14)))
    ).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01", "9999-12-31"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slug=st.one_of(st.none(), text_with_hostile), stem=text_with_hostile, when=dates)
@example(slug=None, stem="..", when="0001-01-01T00:00:00+14:00")  # regression: OverflowError, not a message
@example(slug=None, stem="x", when="9999-12-31T23:00:00-05:00")
def test_article_url_is_four_safe_segments(slug: str | None, stem: str, when: str) -> None:
    meta = {"title": "t", "date": when}
    if slug is not None:
        meta["slug"] = slug
    stem = stem.replace("/", "_").replace("\x00", "_") or "_"
    try:
        text = frontmatter_text(meta, "Body.")
    except UnicodeEncodeError:
        return
    for tz in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        try:
            article = parse_article(text, f"2024/{stem}.md", ZoneInfo(tz))
        except BroadsheetError as error:
            assert error.path == f"2024/{stem}.md" and error.message
            continue
        year, month, day, segment, empty = article.url.split("/")
        assert (len(year), len(month), len(day), empty) == (4, 2, 2, "")
        assert year.isdigit() and month.isdigit() and day.isdigit()
        _assert_safe_segment(segment)
        assert output_path(article.url) == article.url + "index.html"


@settings(max_examples=150, deadline=None)
@given(names=st.lists(text_with_hostile, min_size=1, max_size=6))
def test_tag_source_and_author_pages_are_safe_segments(names: list[str]) -> None:
    meta = {"title": "t", "date": "2024-01-02", "tags": names, "authors": names, "source": names[0]}
    try:
        text = frontmatter_text(meta, "Body.")
    except UnicodeEncodeError:
        return
    try:
        article = parse_article(text, "x.md", ZoneInfo("UTC"))
    except BroadsheetError:
        return
    site, _ = build_site([article])
    for term in (*site.tags, *site.sources, *site.authors):
        kind, segment, empty = term.url.split("/")
        assert kind in ("tags", "sources", "authors") and empty == ""
        _assert_safe_segment(segment)
        output_path(term.url)  # accepted


# --- end to end ------------------------------------------------------------------------------------
def _all_files(folder: Path) -> set[Path]:
    return {Path(dirpath, name) for dirpath, _, names in os.walk(folder) for name in names}


def test_hostile_names_build_only_inside_the_output_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = str(outside)
    project = make_project(tmp_path / "project")
    content = project / "content"
    traps = [f"../../../{target.lstrip('/')}/x", target, f"{target}/pwned", "..", ".", *HOSTILE]
    for i, name in enumerate(traps):
        if "\ud800" in name:
            continue
        write_article(
            content,
            f"2024/a{i}.md",
            {
                "title": f"Trap {i}",
                "date": f"2024-02-{1 + i % 28:02d}",
                "slug": name,
                "tags": [name, f"t{i}"],
                "authors": [name],
                "source": name,
            },  # fmt: skip
        )
    # File names that are hostile themselves (the slug then comes from the name).
    for i, stem in enumerate(["con", "..\u2215..\u2215x", "\uff0e\uff0e", "a b", "x" * 200, "-", "\u202eevil"]):
        write_article(content, f"names/{stem}.md", {"title": f"Name {i}", "date": f"2023-03-{i + 1:02d}"})
    # Dates at the ends of the calendar, in a zone far from UTC.
    write_article(content, "edge/first.md", {"title": "First", "date": "0001-01-01"})
    write_article(content, "edge/last.md", {"title": "Last", "date": "9999-12-31T23:59:00"})
    (project / "site.toml").write_text(
        'title = "t"\nbase_url = "https://example.org/"\ntimezone = "Pacific/Kiritimati"\n', encoding="utf-8"
    )
    before = _all_files(tmp_path) - _all_files(project)
    result = build(project, output=project / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr

    output = (project / "site").resolve()
    written = _all_files(output)
    assert len(written) > 50
    for path in written:
        assert path.resolve().is_relative_to(output), path
        assert not path.is_symlink()
    # Nothing new appeared anywhere outside the project folder.
    assert _all_files(tmp_path) - _all_files(project) == before
    assert list(outside.iterdir()) == []
    # ...and inside the project only the site, the build cache and the lock and spare tree beside the site.
    extra = {p.relative_to(project).parts[0] for p in _all_files(project) - written - _all_files(content)}
    assert extra <= {"site.toml", ".broadsheet-cache", ".site.lock", ".site.spare", ".site.folders.pickle"}, extra
    # Every trap article really was built, at a URL of plain segments.
    pages = [p for p in written if p.name == "index.html" and p.parent.parent.parent.parent.parent == output]
    assert len(pages) >= len(traps) - 1


# --- symlinks, loops and pipes in content/ ------------------------------------------------------------
def test_symlinks_leading_outside_content_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    marker = "SECRET-MARKER-7d1c"
    (secret / "private.md").write_text(f"---\ntitle: {marker}\ndate: 2024-01-01\n---\n{marker}\n", "utf-8")
    (secret / "passwd.txt").write_text(marker, "utf-8")
    project = make_project(tmp_path / "project")
    content = project / "content"
    write_article(content, "2024/real.md", {"title": "Real", "date": "2024-01-02"})
    os.symlink(secret / "private.md", content / "2024" / "linked.md")
    os.symlink(secret, content / "linked-folder")
    os.symlink(secret / "passwd.txt", content / "passwd.txt")
    os.symlink("../../secret/private.md", content / "2024" / "relative.md")
    os.symlink(content / "2024" / "real.md", content / "inside-link.md")  # inside content: followed
    result = build(project, "--keep-going", output=project / "site")
    assert "Traceback" not in result.stderr
    for path in _all_files(project / "site"):
        assert marker.encode() not in path.read_bytes(), path
    assert not (project / "site" / "passwd.txt").exists()
    assert not (project / "site" / "linked-folder").exists()
    assert result.returncode == 0, result.stderr
    assert "built 2 articles" in result.stdout  # real.md and the link inside content/, nothing else


def test_symlink_loops_in_content_end_quickly(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    content = project / "content"
    write_article(content, "2024/a/real.md", {"title": "Real", "date": "2024-01-02"})
    # Two links back to a parent: followed naively that is 2^40 walks before the kernel's ELOOP.
    os.symlink("..", content / "2024" / "a" / "up1")
    os.symlink("..", content / "2024" / "a" / "up2")
    os.symlink(".", content / "here")
    result = build(project, output=project / "site", timeout=30)
    assert result.returncode == 0, result.stderr
    assert "built 1 articles" in result.stdout


def test_pipes_in_content_are_refused_not_waited_on(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    content = project / "content"
    write_article(content, "2024/real.md", {"title": "Real", "date": "2024-01-02"})
    os.mkfifo(content / "2024" / "pipe.md")
    os.mkfifo(content / "image.png")
    result = build(project, "--keep-going", output=project / "site", timeout=30)
    assert result.returncode == 1
    assert "2024/pipe.md" in result.stderr and "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "site" / "index.html").exists()
    assert not (project / "site" / "image.png").exists()


@pytest.mark.parametrize("name", ["site", "out"])
def test_output_inside_content_is_refused(tmp_path: Path, name: str) -> None:
    """Building into content/<name> would publish the site into itself on every build."""
    project = make_project(tmp_path / "project")
    write_article(project / "content", "2024/real.md", {"title": "Real", "date": "2024-01-02"})
    result = build(project, output=project / "content" / name)
    assert result.returncode == 1 and "content" in result.stderr
    assert not (project / "content" / name).exists()

"""Reproducible output and the hosting extras: two clean builds are byte-identical, static assets
get content-hashed names, precompressed copies match their pages, and `_headers` gives every file
exactly one cache rule."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st
from publish_support import build_project, make_project, snapshot

from broadsheet.assets import hash_static, hashed_name
from broadsheet.errors import BroadsheetError
from broadsheet.hosting import IMMUTABLE, REVALIDATE, headers_file
from broadsheet.manifest import MANIFEST

ARTICLE = "content/2024/03/harbour-dredging-plan-approved.md"


def cli_build(project: Path, env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "broadsheet", "build", "--quiet", *args],
        cwd=project, capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def two_clean_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    tmp_path = tmp_path_factory.mktemp("reproducible")
    # Two copies in different folders, built by separate processes with different hash seeds,
    # time zones and locales: nothing of the build machine may leak into the output.
    one = make_project(tmp_path / "one")
    two = make_project(tmp_path / "elsewhere" / "two")
    cli_build(one, {"PYTHONHASHSEED": "1", "TZ": "UTC", "LC_ALL": "C"}, "--precompress")
    cli_build(two, {"PYTHONHASHSEED": "2", "TZ": "Pacific/Auckland", "LC_ALL": "C.UTF-8"}, "--precompress")
    return snapshot(one / "site"), snapshot(two / "site")


def test_two_clean_builds_are_byte_identical(two_clean_builds: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    first, second = two_clean_builds
    assert len(first) > 200 and any(p.endswith(".html.gz") for p in first) and MANIFEST in first
    assert sorted(first) == sorted(second)
    assert [p for p in first if first[p] != second[p]] == []


def test_a_rebuild_of_unchanged_content_changes_no_file(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    build_project(project, precompress=True)
    site = project / "site"
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()}
    os.utime(project / ARTICLE)  # touched, not changed: the build runs, and must write the same bytes
    build_project(project, precompress=True)
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert len(after) > 200


def test_static_assets_get_content_hashed_names(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    build_project(project)
    css = (project / "templates/static/style.css").read_bytes()
    hashed = f"static/style.{hashlib.sha256(css).hexdigest()[:10]}.css"
    assert (project / "site" / hashed).read_bytes() == css
    index = (project / "site/index.html").read_text("utf-8")
    assert f'href="/{hashed}"' in index
    article_page = next((project / "site/2024/03").rglob("index.html")).read_text("utf-8")
    assert f'href="/{hashed}"' in article_page

    (project / "templates/static/style.css").write_bytes(css + b"\nbody { margin: 0 }\n")
    build_project(project)
    assert not (project / "site" / hashed).exists()  # the old name is gone with the old bytes
    new = hashed_name("style.css", (project / "templates/static/style.css").read_bytes())
    assert f'href="/static/{new}"' in (project / "site/index.html").read_text("utf-8")
    assert (project / "site/static/style.css").is_file()  # the plain name stays for scripts


def test_stylesheet_references_follow_hashed_names(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "fonts").mkdir(parents=True)
    (static / "fonts/serif.woff2").write_bytes(b"font bytes")
    (static / "logo.svg").write_bytes(b"<svg/>")
    (static / "css").mkdir()
    (static / "css/site.css").write_text(
        "@font-face{src:url('../fonts/serif.woff2?v=1#x')}\n"
        "a{background:url(../logo.svg)}\n"
        'b{background:url("https://cdn.example.org/logo.svg")}\n'
        "i{background:url(data:image/png;base64,AAAA)}\n"
        "u{background:url(../missing.png)}\n",
        encoding="utf-8",
    )
    assets = {a.name: a for a in hash_static(static)}
    font = assets["fonts/serif.woff2"].path.removeprefix("static/")
    logo = assets["logo.svg"].path.removeprefix("static/")
    css = assets["css/site.css"].data.decode()
    assert f"url('../{font}?v=1#x')" in css
    assert f"url(../{logo})" in css
    assert 'url("https://cdn.example.org/logo.svg")' in css
    assert "url(data:image/png;base64,AAAA)" in css and "url(../missing.png)" in css
    assert assets["css/site.css"].path == "static/" + hashed_name("css/site.css", assets["css/site.css"].data)
    # A changed font changes the stylesheet's name too.
    (static / "fonts/serif.woff2").write_bytes(b"other font bytes")
    assert {a.name: a for a in hash_static(static)}["css/site.css"].path != assets["css/site.css"].path


def test_unknown_asset_is_a_build_error(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    base = project / "templates/base.html"
    base.write_text(base.read_text("utf-8").replace("asset('style.css')", "asset('missing.css')"), "utf-8")
    with pytest.raises(BroadsheetError, match="missing.css"):
        build_project(project)


def test_precompressed_copies_match_their_files(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    build_project(project, precompress=True)
    site = project / "site"
    gz = sorted(site.rglob("*.gz"))
    assert {p.suffixes[-2] for p in gz} >= {".html", ".xml", ".css"}
    for path in gz:
        assert gzip.decompress(path.read_bytes()) == path.with_suffix("").read_bytes(), path
        assert path.read_bytes()[4:8] == b"\0\0\0\0"  # no timestamp in the gzip header
    for path in sorted(site.rglob("*.br")):
        assert brotli.decompress(path.read_bytes()) == path.with_suffix("").read_bytes(), path
    assert not any(site.rglob("*.png.gz"))  # images are compressed already

    # After an edit, the rebuilt page's copies are new and the kept pages' copies are still right.
    article = project / ARTICLE
    article.write_text(article.read_text("utf-8").replace("about five months", "about six months"), "utf-8")
    build_project(project, precompress=True)
    page = site / "2024/03/04/harbour-dredging-plan-approved/index.html"
    assert b"about six months" in gzip.decompress(page.with_name("index.html.gz").read_bytes())
    for path in sorted(site.rglob("*.gz")):
        assert gzip.decompress(path.read_bytes()) == path.with_suffix("").read_bytes(), path


def test_headers_file_for_the_sample_site(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    build_project(project)
    site = project / "site"
    rules = parse_headers((site / "_headers").read_text("utf-8"))
    files = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file() and not p.name.startswith(".")]
    hashed = {p for p in files if p.startswith("static/") and p.count(".") == 2}
    assert hashed
    for path in files:
        if path == "_headers":
            continue
        matching = [value for pattern, value in rules if url_matches(pattern, "/" + path)]
        assert matching == [IMMUTABLE if path in hashed else REVALIDATE], path
    assert [v for p, v in rules if url_matches(p, "/")] == [REVALIDATE]
    assert [v for p, v in rules if url_matches(p, "/2024/03/04/harbour-dredging-plan-approved/")] == [REVALIDATE]


_segment = st.text(alphabet="abcdefgh0123456789-", min_size=1, max_size=6)
_path = st.lists(_segment, min_size=1, max_size=4).map(lambda parts: "/".join(parts))


@given(st.sets(_path, min_size=1, max_size=30), st.data())
def test_headers_rules_never_overlap(paths: set[str], data: st.DataObject) -> None:
    # A file may not also be a folder of another file in a real tree.
    paths = {p for p in paths if not any(q.startswith(p + "/") for q in paths)}
    immutable = data.draw(st.sets(st.sampled_from(sorted(paths))))
    rules = parse_headers(headers_file(paths, immutable).decode())
    for path in paths:
        matching = [value for pattern, value in rules if url_matches(pattern, "/" + path)]
        assert matching == [IMMUTABLE if path in immutable else REVALIDATE], (path, rules)


def parse_headers(text: str) -> list[tuple[str, str]]:
    rules: list[tuple[str, str]] = []
    pattern = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            pattern = line
        else:
            name, _, value = line.strip().partition(": ")
            assert name == "Cache-Control" and pattern is not None
            rules.append((pattern, value))
    return rules


def url_matches(pattern: str, url: str) -> bool:
    """Netlify / Cloudflare Pages matching: a splat `*` matches anything, including slashes."""
    return fnmatchcase(url, pattern.replace("[", "[[]"))

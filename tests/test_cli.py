"""The command line: `python build.py` is `broadsheet build`; the summary line; --drafts; --base-url."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from buildkit import ROOT, TEMPLATES, SiteDirs

from broadsheet import write
from broadsheet.cli import main

ARTICLES = {
    "2024/03/tram.md": "---\ntitle: Tram line opens\ndate: 2024-03-04\ntags: [Transport]\nsource: Post\n---\nTrams.\n",
    "2024/03/ferry.md": (
        "---\ntitle: Ferry fares frozen\ndate: 2024-03-05T08:00:00\ntags: [Transport, Harbour]\n---\nFares.\n"
    ),
    "2024/04/plan.md": "---\ntitle: Secret plan\ndate: 2024-04-01\ndraft: true\ntags: [Plans]\n---\nNot yet.\n",
}
SUMMARY = re.compile(
    r"^built (\d+) articles into (\d+) files \((\d+) written, (\d+) unchanged, (\d+) removed\) in \d+\.\d\ds$"
)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".broadsheet-manifest.json"
    }


@pytest.fixture
def site(make_site: Callable[..., SiteDirs]) -> SiteDirs:
    return make_site(ARTICLES, 'title = "Clip"\nbase_url = "https://example.org/"\n')


def test_build_py_is_broadsheet_build(make_site: Callable[..., SiteDirs]) -> None:
    config = 'title = "Clip"\nbase_url = "https://example.org/news/"\n'
    via_module = make_site(ARTICLES, config, name="module")
    via_script = make_site(ARTICLES, config, name="script")
    first = via_module.cli()
    second = via_script.cli(script=str(ROOT / "build.py"))
    assert (first.returncode, second.returncode) == (0, 0), (first.stderr, second.stderr)
    assert tree(via_module.output) == tree(via_script.output)
    assert SUMMARY.match(first.stdout.strip()) and SUMMARY.match(second.stdout.strip())


def test_console_script_runs() -> None:
    script = Path(sys.executable).parent / "broadsheet"
    if not script.exists():
        pytest.skip("package not installed with its console script (pip install -e .)")
    done = subprocess.run([str(script), "build", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    for option in ("--content", "--output", "--config", "--base-url", "--drafts", "--keep-going"):
        assert option in done.stdout


def test_summary_line_counts_and_quiet_progress(site: SiteDirs) -> None:
    first = site.cli()
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # progress is for terminals only; a pipe gets nothing but the summary
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 1
    articles, files, written, unchanged, removed = map(int, SUMMARY.match(lines[0]).groups())
    on_disk = len([p for p in site.output.rglob("*") if p.is_file() and p.name != ".broadsheet-manifest.json"])
    assert (articles, files, written, unchanged, removed) == (2, on_disk, on_disk, 0, 0)


def test_drafts_option(site: SiteDirs) -> None:
    assert site.cli().returncode == 0
    assert not (site.output / "2024/04/01/plan").exists()
    with_drafts = site.cli("--drafts")
    assert with_drafts.returncode == 0
    assert SUMMARY.match(with_drafts.stdout.strip()).group(1) == "3"
    assert (site.output / "2024/04/01/plan/index.html").is_file()
    assert (site.output / "tags/plans/index.html").is_file()


def test_base_url_option_overrides_the_config(site: SiteDirs) -> None:
    done = site.cli("--base-url", "https://news.example.com/archive/clip/")
    assert done.returncode == 0, done.stderr
    page = (site.output / "2024/03/04/tram/index.html").read_text("utf-8")
    assert 'href="https://news.example.com/archive/clip/2024/03/04/tram/"' in page  # canonical
    hrefs = re.findall(r'href="(/[^"]*)"', page)
    assert hrefs and all(h.startswith("/archive/clip/") for h in hrefs), hrefs
    assert "https://news.example.com/archive/clip/sitemap.xml" in (site.output / "robots.txt").read_text("utf-8")


def test_usage_errors_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", "build", "--no-such-option"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "usage" in done.stderr and "Traceback" not in done.stderr


def test_a_full_disk_is_one_line_naming_the_file_and_the_site_stays(
    site: SiteDirs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert site.cli().returncode == 0
    before = tree(site.output)
    site.write("2024/05/new.md", "---\ntitle: Late story\ndate: 2024-05-02\n---\nText.\n")

    def full(target: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(write, "write_new", full)
    args = ["build", "-q", "--jobs", "1", "--content", str(site.content), "--output", str(site.output)]
    code = main([*args, "--templates", str(TEMPLATES), "--config", str(site.config)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert re.fullmatch(r"error: \S+/index\.html: No space left on device", err), err
    assert tree(site.output) == before

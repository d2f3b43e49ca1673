"""`broadsheet import` at the file level: what it writes, what it refuses, and that it never loses data."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from broadsheet.ingest.importer import import_paths

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared/corpus/wire"

ARTICLE = """\
Harbor pilots agree to new contract after two-day strike

By Jane Ortiz
June 4, 2024

BALTIMORE (AP) — Harbor pilots ratified a three-year contract on Tuesday, ending a two-day strike that
left cargo ships waiting in the Chesapeake Bay.

The deal raises pay by 12% and adds rest periods between long shifts, union leaders said.

Advertisement

Port officials said traffic would return to normal by the weekend.

Copyright 2024 The Associated Press. All rights reserved.
"""


def run(paths: list[Path], content: Path, **kwargs: object) -> tuple[int, str]:
    out = io.StringIO()
    code = import_paths(paths, content, out=out, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue()


def read_meta(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def all_files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_writes_content_year_month_slug(tmp_path: Path) -> None:
    src = write(tmp_path / "in" / "pilots.txt", ARTICLE)
    content = tmp_path / "content"
    code, out = run([src], content)
    target = content / "2024" / "06" / "harbor-pilots-agree-to-new-contract-after-two-day-strike.md"
    assert code == 0
    assert target.is_file()
    assert f"wrote {src}" in out and str(target) in out
    meta, body = read_meta(target)
    assert meta["title"] == "Harbor pilots agree to new contract after two-day strike"
    assert meta["date"] == "2024-06-04"
    assert meta["authors"] == ["Jane Ortiz"]
    assert meta["source"] == "Associated Press"
    assert meta["dateline"] == "BALTIMORE"
    assert meta["imported_from"] == "pilots.txt"
    assert meta["import_hash"].startswith("sha256:")
    assert "baltimore" in meta["tags"]
    assert body.strip().split("\n\n")[0].startswith("BALTIMORE (AP) — Harbor pilots ratified a three-year contract")
    assert "Advertisement" not in body and "Copyright" not in body
    assert len(body.strip().split("\n\n")) == 3
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_same_source_twice_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path / "pilots.txt", ARTICLE)
    content = tmp_path / "content"
    assert run([src], content)[0] == 0
    before = all_files(content)
    mtimes = {p: p.stat().st_mtime_ns for p in before}
    code, out = run([src], content)
    assert code == 0
    assert out.startswith(f"skipped {src}: already imported")
    assert all_files(content) == before
    assert {p: p.stat().st_mtime_ns for p in before} == mtimes


def test_edited_file_is_never_overwritten(tmp_path: Path) -> None:
    src = write(tmp_path / "pilots.txt", ARTICLE)
    content = tmp_path / "content"
    run([src], content)
    (target,) = content.rglob("*.md")
    edited = target.read_text(encoding="utf-8").replace("Port officials said", "Port officials (edited) said")
    target.write_text(edited, encoding="utf-8")
    # Same source again: skipped, edit intact.
    assert run([src], content)[0] == 0
    assert target.read_text(encoding="utf-8") == edited
    # A changed version of the same source: refused, edit intact, nothing else written.
    write(src, ARTICLE.replace("by the weekend", "by Friday"))
    code, out = run([src], content)
    assert code == 1
    assert f"refused {src}" in out and "edited since it was imported" in out
    assert target.read_text(encoding="utf-8") == edited
    assert list(content.rglob("*.md")) == [target]


def test_unedited_file_is_updated_when_its_source_changes(tmp_path: Path) -> None:
    src = write(tmp_path / "pilots.txt", ARTICLE)
    content = tmp_path / "content"
    run([src], content)
    (target,) = content.rglob("*.md")
    write(src, ARTICLE.replace("by the weekend", "by Friday"))
    code, out = run([src], content)
    assert code == 0 and out.startswith(f"updated {src}")
    assert "by Friday" in target.read_text(encoding="utf-8")
    assert list(content.rglob("*.md")) == [target]


def test_slug_collision_keeps_both_articles(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", ARTICLE)
    b = write(tmp_path / "b.txt", ARTICLE.replace("three-year contract", "four-year contract"))
    content = tmp_path / "content"
    code, _ = run([a, b], content)
    assert code == 0
    folder = content / "2024" / "06"
    names = sorted(p.name for p in folder.glob("*.md"))
    stem = "harbor-pilots-agree-to-new-contract-after-two-day-strike"
    assert names == [f"{stem}-2.md", f"{stem}.md"]
    bodies = {read_meta(p)[1].split("\n\n")[0] for p in folder.glob("*.md")}
    assert any("three-year" in b for b in bodies) and any("four-year" in b for b in bodies)


def test_same_file_name_in_two_folders_keeps_both(tmp_path: Path) -> None:
    a = write(tmp_path / "monday" / "story.txt", ARTICLE)
    b = write(tmp_path / "tuesday" / "story.txt", ARTICLE.replace("three-year contract", "four-year contract"))
    content = tmp_path / "content"
    code, out = run([a, b], content)
    assert code == 0, out
    assert len(list(content.rglob("*.md"))) == 2


def test_hand_written_file_with_the_same_name_survives(tmp_path: Path) -> None:
    content = tmp_path / "content"
    mine = write(content / "2024/06/harbor-pilots-agree-to-new-contract-after-two-day-strike.md",
                 "---\ntitle: Mine\ndate: 2024-06-04\n---\n\nMy own notes.\n")  # fmt: skip
    src = write(tmp_path / "pilots.txt", ARTICLE)
    assert run([src], content)[0] == 0
    assert mine.read_text(encoding="utf-8").endswith("My own notes.\n")
    assert (mine.parent / (mine.stem + "-2.md")).is_file()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \r\n", "empty"),
        ("image.txt", bytes(range(256)) * 8, "binary"),
        ("nodate.txt", ARTICLE.replace("June 4, 2024\n", "").encode(), "no publication date"),
        ("nohead.txt", b"Advertisement\n\nShare\n", "no recognisable headline"),
    ],
)
def test_bad_input_is_refused_by_name_and_others_still_import(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    bad = write(tmp_path / "in" / name, data)
    good = write(tmp_path / "in" / "z-good.txt", ARTICLE)
    content = tmp_path / "content"
    code, out = run([tmp_path / "in"], content)
    assert code == 1
    refused = [line for line in out.splitlines() if line.startswith("refused")]
    assert len(refused) == 1 and str(bad) in refused[0] and reason in refused[0]
    assert f"wrote {good}" in out
    files = list(content.rglob("*.md"))
    assert len(files) == 1 and read_meta(files[0])[0]["imported_from"] == "z-good.txt"


def test_date_option_supplies_a_missing_date(tmp_path: Path) -> None:
    src = write(tmp_path / "nodate.txt", ARTICLE.replace("June 4, 2024\n", ""))
    content = tmp_path / "content"
    code, out = run([src], content, date=dt.date(2024, 7, 1))
    assert code == 0, out
    (target,) = content.rglob("*.md")
    assert target.parent == content / "2024" / "07"
    assert read_meta(target)[0]["date"] == "2024-07-01"


def test_date_option_does_not_replace_a_printed_date(tmp_path: Path) -> None:
    src = write(tmp_path / "pilots.txt", ARTICLE)
    content = tmp_path / "content"
    run([src], content, date=dt.date(2024, 7, 1))
    (target,) = content.rglob("*.md")
    assert read_meta(target)[0]["date"] == "2024-06-04"


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    code, out = run([tmp_path / "nope.txt"], tmp_path / "content")
    assert code == 1 and "no such file" in out and str(tmp_path / "nope.txt") in out


def test_encodings_import_alike(tmp_path: Path) -> None:
    text = ARTICLE.replace("Harbor pilots agree", "Harbor pilots’ union agrees")
    variants = {
        "utf8.txt": text.encode("utf-8"),
        "bom.txt": b"\xef\xbb\xbf" + text.encode("utf-8"),
        "crlf.txt": text.replace("\n", "\r\n").encode("utf-8"),
        "cp1252.txt": text.encode("cp1252"),
    }
    bodies = set()
    for name, data in variants.items():
        content = tmp_path / name
        assert run([write(tmp_path / "in" / name, data)], content)[0] == 0
        (target,) = content.rglob("*.md")
        meta, body = read_meta(target)
        assert meta["title"] == "Harbor pilots’ union agrees to new contract after two-day strike"
        bodies.add(body)
    assert len(bodies) == 1


def test_tag_aliases_from_the_site_are_applied(tmp_path: Path) -> None:
    src = write(tmp_path / "pilots.txt", ARTICLE)
    content = tmp_path / "content"
    run([src], content, tag_aliases={"Baltimore": "charm-city"})
    (target,) = content.rglob("*.md")
    tags = read_meta(target)[0]["tags"]
    assert "charm-city" in tags and "baltimore" not in tags


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"wire corpus not found at {CORPUS}")
def test_whole_corpus_imports_and_reimport_is_a_no_op(tmp_path: Path) -> None:
    content = tmp_path / "content"
    code, out = run([CORPUS], content)
    txt = sorted(CORPUS.glob("*.txt"))
    assert code == 0, out
    assert len(list(content.rglob("*.md"))) == len(txt)
    for path in content.rglob("*.md"):
        meta, _ = read_meta(path)
        assert meta["title"] and meta["date"] and 1 <= len(meta["tags"]) <= 8
    before = all_files(content)
    assert run([CORPUS], content)[0] == 0
    assert all_files(content) == before


def _cli_has_import() -> bool:
    cli = REPO / "broadsheet" / "cli.py"
    return cli.is_file() and '"import"' in cli.read_text(encoding="utf-8")


@pytest.mark.skipif(not _cli_has_import(), reason="broadsheet/cli.py has no import subcommand yet")
def test_cli_import_command(tmp_path: Path) -> None:
    good = write(tmp_path / "in" / "pilots.txt", ARTICLE)
    write(tmp_path / "in" / "empty.txt", b"")
    nodate = write(tmp_path / "other" / "nodate.txt", ARTICLE.replace("June 4, 2024\n", ""))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "broadsheet", "import", str(tmp_path / "in"), "--content", str(tmp_path / "c")]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"wrote {good}" in result.stdout and "empty.txt" in result.stdout
    assert len(list((tmp_path / "c").rglob("*.md"))) == 1
    cmd = [sys.executable, "-m", "broadsheet", "import", str(nodate), "--content", str(tmp_path / "c"),
           "--date", "2024-07-01"]  # fmt: skip
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((tmp_path / "c" / "2024" / "07").glob("*.md"))) == 1

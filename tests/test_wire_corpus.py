"""Every raw article in the shared wire corpus imports to exactly the fields its .expected.json lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from broadsheet.ingest.article import RawArticle, block_text
from broadsheet.ingest.decode import decode
from broadsheet.ingest.emit import body_markdown, to_markdown
from broadsheet.ingest.wire import parse_wire

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/wire"
FILES = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"wire corpus not found at {CORPUS}")


def _expected(path: Path) -> dict:
    return json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))


def _parse(path: Path) -> RawArticle:
    return parse_wire(decode(path.read_bytes()))  # the bytes path, as `broadsheet import` reads files


@pytest.fixture(scope="module", params=FILES, ids=[p.stem for p in FILES])
def case(request: pytest.FixtureRequest) -> tuple[RawArticle, dict]:
    return _parse(request.param), _expected(request.param)


def test_headline(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    assert article.title == expected["title"]
    assert article.title_prefix == expected["title_prefix"]


def test_date_time_zone(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    assert article.date is not None and article.date.isoformat() == expected["date"]
    assert (article.time.strftime("%H:%M") if article.time else None) == expected["time"]
    assert article.timezone == expected["timezone"]


def test_people_and_outlets(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    assert list(article.authors) == expected["authors"]
    assert article.source == expected["source"]
    assert article.distributor == expected["distributor"]
    assert article.copyright == expected["copyright"]


def test_dateline_and_language(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    assert article.dateline == expected["dateline"]
    assert article.language == expected["language"]


def test_image(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    got = {"caption": article.image.caption, "credit": article.image.credit} if article.image else None
    assert got == expected["image"]


def test_notes(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    assert article.editor_note == expected["editor_note"]
    assert article.correction == expected["correction"]


def test_body_shape(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    assert list(article.subheadings) == expected["subheadings"]
    assert len(article.paragraphs) == expected["paragraphs"]
    assert block_text(article.paragraphs[0])[:60] == expected["body_first"]
    assert block_text(article.paragraphs[-1])[:60] == expected["body_last"]


def test_boilerplate_absent_from_body(case: tuple[RawArticle, dict]) -> None:
    article, expected = case
    plain = "\n".join(block_text(b) for b in article.blocks)
    markdown = body_markdown(article.blocks)
    for needle in expected["must_not_contain"]:
        assert needle not in plain, needle
        assert needle not in markdown, needle


def test_written_file_round_trips(case: tuple[RawArticle, dict]) -> None:
    """The content file's frontmatter loads with YAML safe loading and carries the same fields."""
    article, expected = case
    text = to_markdown(article, {"imported_from": "x.txt", "import_hash": "sha256:" + "0" * 64})
    head, body = text.split("\n---\n", 1)
    meta = yaml.safe_load(head.removeprefix("---\n"))
    assert meta["title"] == expected["title"]
    assert str(meta["date"]).startswith(expected["date"])
    assert meta.get("authors", []) == expected["authors"]
    assert meta.get("copyright") == expected["copyright"]
    assert meta.get("language") == expected["language"]
    blocks = [b for b in body.strip().split("\n\n") if not b.startswith("## ")]
    assert len(blocks) == expected["paragraphs"]


@pytest.mark.parametrize("path", [p for p in FILES if _expected(p)["encoding_note"]], ids=lambda p: p.stem)
def test_encoding_variants_need_the_bytes_path(path: Path) -> None:
    """The cp1252/CRLF/BOM files really are in that form, and decoding makes them plain text."""
    data = path.read_bytes()
    note = _expected(path)["encoding_note"]
    if note == "cp1252":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    elif note == "crlf":
        assert b"\r\n" in data
    elif note == "bom":
        assert data.startswith(b"\xef\xbb\xbf")
    text = decode(data)
    assert "\r" not in text and "\ufeff" not in text
    assert _expected(path)["title"] in _parse(path).title


def test_timezone_becomes_utc_offset() -> None:
    text = "Port reopens after storm\n\nBy Ann Lee\nMay 31, 2023, 5:04 p.m. EDT\n\n" + (
        "The port reopened on Wednesday after a storm closed it for two days, officials said.\n"
    )
    article = parse_wire(text)
    meta = yaml.safe_load(to_markdown(article, {}).split("\n---\n")[0].removeprefix("---\n"))
    assert meta["date"] == "2023-05-31T17:04:00-04:00"
    assert meta["timezone"] == "EDT"

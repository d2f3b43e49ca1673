"""Tags come from the article's own text: places, people, organisations and topics, as stable slugs."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadsheet.ingest.article import Block, RawArticle
from broadsheet.ingest.decode import decode
from broadsheet.ingest.tags import MAX_TAGS, extract_tags, merged_aliases, normalise
from broadsheet.ingest.wire import parse_wire

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/wire"
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def article(title: str, *paragraphs: str, **fields: object) -> RawArticle:
    blocks = tuple(Block("paragraph", p) for p in paragraphs)
    return RawArticle(title=title, date=None, blocks=blocks, **fields)  # type: ignore[arg-type]


@pytest.mark.skipif(not (CORPUS / "bloomberg-moscow-drones.txt").is_file(), reason="wire corpus not found")
def test_drone_strike_article_gets_its_places_people_and_topic() -> None:
    raw = parse_wire(decode((CORPUS / "bloomberg-moscow-drones.txt").read_bytes()))
    tags = extract_tags(raw)
    assert {"russia", "ukraine", "moscow", "kyiv", "vladimir-putin", "drones"} <= set(tags)
    assert len(tags) <= MAX_TAGS
    assert "bloomberg" not in tags  # the outlet is not what the story is about


@pytest.mark.skipif(not CORPUS.is_dir(), reason="wire corpus not found")
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else [], ids=lambda p: p.stem)
def test_every_corpus_article_gets_useful_deterministic_slugs(path: Path) -> None:
    raw = parse_wire(decode(path.read_bytes()))
    tags = extract_tags(raw)
    assert 1 <= len(tags) <= MAX_TAGS
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert tag == tag.lower() and " " not in tag and not tag.startswith("-")
    assert extract_tags(raw) == tags  # same input, same tags
    names = {a.lower().replace(" ", "-") for a in raw.authors}
    assert not names & set(tags)  # bylines are not tags


def test_surnames_fold_into_full_names_and_titles_are_dropped() -> None:
    raw = article(
        "Merkel meets Macron in Paris",
        "Chancellor Angela Merkel met President Emmanuel Macron in Paris on Monday.",
        "Merkel said the talks were useful. Macron agreed, and Merkel left for Berlin.",
    )
    tags = extract_tags(raw)
    assert "angela-merkel" in tags and "emmanuel-macron" in tags and "paris" in tags
    assert "merkel" not in tags and "chancellor-angela-merkel" not in tags


def test_sentence_initial_capitals_are_not_names() -> None:
    raw = article(
        "Rain delays harvest",
        "Several farmers said rain delayed the harvest. Several fields flooded.",
        "Officials said the rain would stop. Officials in Iowa said the harvest could resume next week in Iowa.",
    )
    tags = extract_tags(raw)
    assert "several" not in tags and "officials" not in tags
    assert "iowa" in tags and "harvest" in tags


def test_aliases_merge_and_the_site_can_extend_them() -> None:
    raw = article(
        "U.S. and United States talks",
        "The U.S. said talks with Canada would continue. The United States and Canada met in Ottawa.",
        "U.S. officials said Canada would respond, and the United States agreed.",
    )
    tags = extract_tags(raw)
    assert "united-states" in tags and "u-s" not in tags
    assert tags.count("united-states") == 1
    assert "great-white-north" in extract_tags(raw, {"Canada": "Great White North"})


def test_normalise_follows_alias_chains_without_looping() -> None:
    table = merged_aliases({"a": "b", "b": "c", "c": "a"})
    assert normalise(["A", "b", "C"], table) == ["a"]
    assert normalise(["U.S.", "US", "United States"], merged_aliases(None)) == ["united-states"]


def test_text_without_names_still_gets_a_topic() -> None:
    raw = article(
        "battery recycling grows",
        "battery recycling plants opened in three states this year, and battery makers said recycling "
        "would cut costs. battery prices fell as recycling capacity grew.",
    )
    assert {"battery", "recycling"} & set(extract_tags(raw))

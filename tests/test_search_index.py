"""The static search index: terms, shards and documents, deterministic and complete."""

from __future__ import annotations

import hashlib
import json
import shutil
import tracemalloc
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadsheet import search_index
from broadsheet.builder import BuildOptions, build
from broadsheet.config import load_config
from broadsheet.load import build_site
from broadsheet.model import Article
from broadsheet.search_index import MAX_TERM, _dump, _dump_postings, article_terms, normalise, search_files, shard_name

REPO = Path(__file__).resolve().parents[1]


def test_normalise_folds_case_and_accents() -> None:
    assert normalise("Köln's Straßenbahn, ÉTÉ 2024 — a b") == ["koln", "straßenbahn", "ete", "2024"]


@given(st.text())
def test_normalise_gives_short_lowercase_words(text: str) -> None:
    for term in normalise(text):
        assert term and len(term) <= MAX_TERM
        assert term == term.lower()
        assert not any(c.isspace() for c in term)
        assert shard_name(term)  # every term has a shard


WORDY = st.lists(st.sampled_from(list("ab Z9_é\u0301ß-— \n") + ["x" * 40, "y" * 33, "the "]), max_size=30).map("".join)


@given(title=WORDY, body=WORDY, tags=st.lists(WORDY, max_size=3), source=st.none() | WORDY)
def test_article_terms_are_the_distinct_normalised_words_in_order(
    title: str, body: str, tags: list[str], source: str | None
) -> None:
    # article_terms skips normalise() for speed; it must give exactly what normalise() gives, deduplicated.
    day = datetime(2024, 1, 1, tzinfo=UTC)
    article = Article("a.md", title, day, False, "a", "", "d", ("Ann",), tuple(tags), source)
    text = " ".join([title, body, " ".join(tags), "Ann", source or ""])
    assert article_terms(article, body) == " ".join(dict.fromkeys(normalise(text)))


@given(st.text(alphabet=st.characters(max_codepoint=127)), st.text(alphabet=st.characters(max_codepoint=127)))
def test_article_terms_of_ascii_text_split_as_the_regular_expression_does(title: str, body: str) -> None:
    # ASCII text takes a faster path than other text (str.translate and str.split): every character
    # that can occur in it, punctuation, control and separator characters included, must split alike.
    day = datetime(2024, 1, 1, tzinfo=UTC)
    article = Article("a.md", title, day, False, "a", "", "d", (), (), None)
    assert article_terms(article, body) == " ".join(dict.fromkeys(normalise(" ".join([title, body, "", "", ""]))))


def load_index(site: Path) -> tuple[dict, list[list], dict[str, list[int]]]:
    meta = json.loads((site / "search" / "meta.json").read_text("utf-8"))
    docs = []
    for n in range(-(-meta["docs"] // meta["chunk"])):
        docs += json.loads((site / "search" / f"docs-{n}.json").read_text("utf-8"))
    postings: dict[str, list[int]] = {}
    for shard in meta["shards"]:
        postings.update(json.loads((site / "search" / f"t-{shard}.json").read_text("utf-8")))
    return meta, docs, postings


def find(docs: list[list], postings: dict[str, list[int]], word: str) -> set[str]:
    return {docs[i][1] for i in postings.get(word, [])}


def test_sample_site_index_finds_articles_by_body_word_tag_author_and_source(tmp_path: Path) -> None:
    config = load_config(root=REPO)
    build(config, BuildOptions(output_dir=tmp_path / "site", cache=False))
    meta, docs, postings = load_index(tmp_path / "site")
    assert meta["docs"] == len(docs) == 19  # every published article, no draft
    assert "Harbour" in meta["tags"]
    # a word from a body, a tag, an author's surname, a source
    assert any("seagrass" in title.lower() for title in find(docs, postings, "divers"))
    harbour = find(docs, postings, "harbour")
    assert len(harbour) >= 3
    assert find(docs, postings, "hartwig")
    assert find(docs, postings, "gazette")
    # documents carry what a result shows: URL, title, date, source, summary
    url, title, label, iso, source, tags, authors, summary = docs[0]
    assert url.startswith("/") and url.endswith("/") and title and label and iso[:4].isdigit() and summary
    # postings are ascending document numbers within range
    for ids in postings.values():
        assert ids == sorted(set(ids)) and ids[-1] < len(docs)


def test_index_is_byte_identical_across_builds_and_append_friendly(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "templates", root / "templates")
    config = load_config(root=root)
    build(config, BuildOptions(output_dir=root / "a", cache=False))
    build(config, BuildOptions(output_dir=root / "b", cache=False))
    first = {p.name: p.read_bytes() for p in (root / "a" / "search").glob("*.json")}
    assert first == {p.name: p.read_bytes() for p in (root / "b" / "search").glob("*.json")}
    (root / "content" / "late.md").write_text(
        "---\ntitle: Zeppelin lands\ndate: 2030-01-01\n---\nA zeppelin landed quietly.\n", "utf-8"
    )
    build(config, BuildOptions(output_dir=root / "a"))
    _, docs, postings = load_index(root / "a")
    assert find(docs, postings, "zeppelin") == {"Zeppelin lands"}
    assert docs[-1][1] == "Zeppelin lands"  # newest article appended: older numbers do not move


@given(st.dictionaries(st.text(), st.lists(st.integers(min_value=0, max_value=2**32 - 1))))
def test_postings_are_written_as_json_writes_them(postings: dict[str, list[int]]) -> None:
    # Each shard's numbers are written out by hand (no list of int objects for a whole shard): the
    # bytes must be exactly json.dumps's, quotes, control characters and non-ASCII terms included.
    assert _dump_postings({t: array(search_index._NUMBERS, n) for t, n in postings.items()}) == _dump(postings)


def test_the_index_asks_for_each_summary_once_and_only_when_its_documents_are_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_index, "CHUNK", 3)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    words = ["harbour", "rail", "vote"]
    articles = [
        Article(f"{i}.md", f"Story {i}", start + timedelta(days=i), False, f"s{i}", "", f"d{i}") for i in range(8)
    ]
    site, _ = build_site(articles)
    terms = {a.path: " ".join(w for k, w in enumerate(words) if (int(a.slug[1:]) >> k) & 1) for a in articles}
    asked: list[str] = []

    def summary_of(article: Article) -> str:
        asked.append(article.slug)
        return f"about {article.slug}"

    files = {}
    for path, data in search_files(site, lambda a: terms[a.path], summary_of, base_path="/"):
        if path.startswith("search/docs-"):
            # Summaries are not gathered for the whole site before the first file: only this file's.
            chunk = int(path.removeprefix("search/docs-").removesuffix(".json"))
            assert asked == [f"s{i}" for i in range(min(8, (chunk + 1) * 3))]
        files[path] = json.loads(data)
    assert asked == [f"s{i}" for i in range(8)]  # oldest first, once each
    assert [row[7] for n in range(3) for row in files[f"search/docs-{n}.json"]] == [f"about s{i}" for i in range(8)]
    postings = {}
    for name in files["search/meta.json"]["shards"]:
        postings.update(files[f"search/t-{name}.json"])
    # document n is article n (oldest first); it holds word k when bit k of n is set
    assert postings == {w: [n for n in range(8) if (n >> k) & 1] for k, w in enumerate(words)}


_TERM = st.text(st.sampled_from("abcé1_"), min_size=1, max_size=4)


@given(st.lists(st.lists(_TERM, unique=True, max_size=6), max_size=12), st.integers(min_value=1, max_value=20))
def test_postings_spilled_to_disk_give_the_shards_held_whole_give(docs: list[list[str]], spill_at: int) -> None:
    # Each term's document numbers, ascending, whichever spills they were gathered in; the shards
    # by name; nothing lost where a term's numbers span several spills.
    terms = [" ".join(doc) for doc in docs]
    spilled = list(search_index.term_shards(terms, spill_at=spill_at))
    assert spilled == list(search_index.term_shards(terms, spill_at=1 << 40))
    expected: dict[str, dict[str, list[int]]] = {}
    for number, doc in enumerate(docs):
        for term in doc:
            expected.setdefault(shard_name(term), {}).setdefault(term, []).append(number)
    assert [path for path, _ in spilled] == [f"search/t-{name}.json" for name in sorted(expected)]
    assert [json.loads(data) for _, data in spilled] == [expected[name] for name in sorted(expected)]


def test_the_postings_held_while_the_index_is_made_stay_bounded(tmp_path: Path) -> None:
    # 202,000 postings (100 terms the 2,000 documents share and one each of their own, over 100
    # shards) held 20,000 at a time: what the index costs in memory no longer grows with the archive.
    shared = " ".join(f"{k:02d}x" for k in range(100))
    terms = [f"{shared} {n % 100:02d}{n}" for n in range(2000)]

    def peak(spill_at: int) -> tuple[int, bytes]:
        tracemalloc.start()
        try:
            digest = hashlib.sha256()
            for path, data in search_index.term_shards(iter(terms), spill_dir=tmp_path, spill_at=spill_at):
                digest.update(path.encode() + data)
            return tracemalloc.get_traced_memory()[1], digest.digest()
        finally:
            tracemalloc.stop()

    whole, made = peak(1 << 40)
    spilled, made_spilled = peak(20_000)
    assert made_spilled == made
    assert spilled < whole / 2, (spilled, whole)
    assert list(tmp_path.iterdir()) == []  # the spill file is gone

"""Property tests for the plain-text parser: it never crashes, and it never loses a body sentence."""

from __future__ import annotations

import codecs
import datetime as dt
import re
import textwrap

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from broadsheet.ingest.article import block_text
from broadsheet.ingest.decode import NotText, decode
from broadsheet.ingest.emit import to_markdown
from broadsheet.ingest.wire import parse_wire

WORDS = (
    "council budget river harbor workers union contract vote plan city county state court judge school "
    "teachers students hospital patients nurses bridge road traffic rail station airport flights farmers "
    "water drought rain storm power grid prices market shares company factory jobs wages housing rent"
).split()
VERBS = "approved rejected delayed announced expanded reduced proposed reviewed".split()
NAMES = ["Ana Ruiz", "Tom Becker", "Li Wei", "Sara Okafor", "Jon Hale"]


@st.composite
def sentences(draw: st.DrawFn) -> str:
    subject = draw(st.sampled_from(WORDS))
    verb = draw(st.sampled_from(VERBS))
    rest = draw(st.lists(st.sampled_from(WORDS), min_size=5, max_size=14))
    number = draw(st.integers(min_value=2, max_value=999))
    return f"The {subject} {verb} {number} {' '.join(rest)} on Tuesday."


@st.composite
def articles(draw: st.DrawFn) -> tuple[str, list[str], dt.date, list[str]]:
    headline = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=4, max_size=9))).capitalize()
    day = draw(st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2035, 12, 31)))
    author = draw(st.sampled_from(NAMES))
    paragraphs = draw(st.lists(st.lists(sentences(), min_size=1, max_size=3).map(" ".join), min_size=1, max_size=8))
    layout = draw(st.sampled_from(["blank", "single", "crlf"]))
    date_line = day.strftime("%B ") + str(day.day) + day.strftime(", %Y")
    head = [headline, "", f"By {author}", date_line, ""]
    sep = "\n" if layout == "single" else "\n\n"
    text = "\n".join(head) + sep.join(paragraphs) + "\n"
    if layout == "crlf":
        text = text.replace("\n", "\r\n")
    return text, paragraphs, day, head[:-1]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=3000))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    article = parse_wire(text)
    if article.title and article.date and article.blocks:
        to_markdown(article, {})


# Bytes after a UTF-16 byte-order mark too: random bytes rarely start with one, and a file with one that
# was not valid UTF-16 (an odd length) raised UnicodeDecodeError (found by the fuzz test's hypothesis run).
_UTF16 = st.tuples(st.sampled_from([codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE]), st.binary(max_size=2000)).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | _UTF16)
@example(b"\xfe\xff\x00\x00\x00\x00\x00")
def test_decode_either_returns_text_or_refuses(data: bytes) -> None:
    try:
        text = decode(data)
    except NotText:
        return
    assert "\r" not in text
    parse_wire(text)


def test_a_utf16_article_cut_short_by_a_byte_keeps_its_text() -> None:
    text = "Harbor workers approved the contract on Tuesday.\n\nThe vote was 312 to 40.\n"
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        data = bom + text.encode(codec)
        assert decode(data) == text
        assert decode(data[:-1]) == text[:-1] + "\ufffd"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(articles())
def test_never_drops_a_body_sentence(case: tuple[str, list[str], dt.date, list[str]]) -> None:
    text, paragraphs, day, _ = case
    article = parse_wire(decode(text.encode("utf-8")))
    body = " ".join(block_text(b) for b in article.blocks)
    for paragraph in paragraphs:
        for sentence in re.findall(r"[^.]+\.", paragraph):
            assert sentence.strip() in body
    assert article.date == day
    assert len(article.paragraphs) == len(paragraphs)


@settings(max_examples=100, deadline=None)
@given(articles(), st.integers(min_value=50, max_value=90))
def test_hard_wrapped_paragraphs_are_joined(case: tuple[str, list[str], dt.date, list[str]], width: int) -> None:
    _, paragraphs, _, head = case
    wrapped = "\n\n".join(textwrap.fill(p, width) for p in paragraphs)
    # Wrapping can only be recognised when there are enough full-width lines to show the column,
    # and enough of them break mid-sentence to show that the breaks are not paragraph ends. Only a
    # line followed by another of its paragraph was broken by the wrapping (lines.wrap_width).
    lines = wrapped.splitlines()
    broken = [line for line, after in zip(lines, [*lines[1:], ""], strict=True) if line and after]
    full = [line for line in broken if len(line) >= width - 12]
    assume(len(full) >= 3 and sum(not line.endswith(".") for line in full) >= max(1, len(full) // 4))
    article = parse_wire("\n".join(head) + f"\n\n{wrapped}\n")
    assert [block_text(b) for b in article.paragraphs] == paragraphs


def test_a_brief_of_short_sentences_keeps_every_sentence() -> None:
    """No paragraph long enough to be sure of: the body still starts after the byline and date,
    and a short opening sentence before a long paragraph is body too (hypothesis found both)."""
    head = "Council votes on budget\n\nBy Ana Ruiz\nJanuary 5, 2021\n\n"
    brief = ["The council delayed the river vote.", "The mayor said it was fine."]
    article = parse_wire(head + "\n\n".join(brief) + "\n")
    assert (article.title, article.authors, article.date) == (
        "Council votes on budget",
        ("Ana Ruiz",),
        dt.date(2021, 1, 5),
    )
    assert [block_text(b) for b in article.blocks] == brief
    long = "The council approved the new budget for the harbor and the river bridge on Tuesday evening, after a debate."
    article = parse_wire(head + f"{brief[0]}\n\n{long}\n")
    assert [block_text(b) for b in article.blocks] == [brief[0], long]

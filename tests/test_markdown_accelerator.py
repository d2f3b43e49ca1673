"""The optional Rust renderer gives byte-identical HTML wherever Broadsheet lets it run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.markdown import _NEEDS_REFERENCE, render_markdown

pytest.importorskip("markdown_it_pyrs", reason="the optional 'fast' extra is not installed")

REPO = Path(__file__).resolve().parents[1]

# Markdown-ish text: words, punctuation that matters to CommonMark, line structure, lists, headings.
pieces = st.sampled_from(
    ["word", "Köln", "über", "*", "**", "_", "~~", "#", "## ", "- ", "1. ", "> ", "|", "---", "  ", "\n", "\n\n",
     "    ", "\t", ".", ",", ":", "!", "\"", "'", "(", ")", "=", "+", "%", "€", "—", "1", "2023", "|---|", "\\\\"]
)  # fmt: skip
documents = st.lists(pieces, max_size=60).map("".join)


@settings(max_examples=int(os.environ.get("ACCELERATOR_EXAMPLES", "1500")), deadline=None)
@given(documents)
def test_accelerated_and_reference_renders_are_identical(text: str) -> None:
    fast = render_markdown(text)
    reference = render_markdown(text, accelerate=False)
    assert fast == reference


def test_sample_content_renders_identically() -> None:
    bodies = [p.read_text("utf-8").split("\n---\n", 1)[-1] for p in sorted((REPO / "content").rglob("*.md"))]
    assert bodies
    for body in bodies:
        assert render_markdown(body) == render_markdown(body, accelerate=False)


def test_links_images_and_html_always_take_the_reference_path() -> None:
    for text in ["[x](javascript:alert(1))", "![i](data:x)", "<b>hi</b>", "&#106;", "`code`", "[ref]: http://x"]:
        assert _NEEDS_REFERENCE.search(text)
        html = render_markdown(text).html
        assert "href" not in html and "src=" not in html and "<b>" not in html

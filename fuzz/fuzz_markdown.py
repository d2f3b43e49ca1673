"""Fuzz broadsheet.markdown.render_markdown: it never raises, and never leaves unsafe HTML.

python fuzz/fuzz_markdown.py [libFuzzer options] [corpus folders]   (or: python fuzz/run.py)
"""

from __future__ import annotations

from _common import body_html_problems, run


def check(data: bytes) -> None:
    from broadsheet.markdown import render_markdown  # imported late: main() instruments it first

    text = data.decode("utf-8", "replace")
    rendered = render_markdown(text)
    problems = body_html_problems(rendered.html)
    if problems:
        raise AssertionError(f"unsafe HTML from Markdown {text[:200]!r}: {problems[:5]}")


if __name__ == "__main__":
    run(check, modules=("broadsheet.markdown",), packages=("broadsheet", "markdown_it", "mdurl"))

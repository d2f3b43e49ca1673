"""Fuzz content-file loading (broadsheet.frontmatter.parse_article, through load.decode_article
exactly as a build reads a file): every input is an Article or a BroadsheetError naming the file,
and an Article's URL is always four safe path segments inside the output folder.

    python fuzz/fuzz_frontmatter.py [libFuzzer options] [corpus folders]   (or: python fuzz/run.py)
"""

from __future__ import annotations

import re

from _common import run

REL = "2024/05/fuzzed.md"
_SEGMENT = re.compile(r"^[\w-]+$")


def check(data: bytes) -> None:
    from zoneinfo import ZoneInfo

    from broadsheet.errors import BroadsheetError
    from broadsheet.load import decode_article
    from broadsheet.urls import output_path

    for zone in ("UTC", "Pacific/Kiritimati"):
        try:
            article = decode_article(REL, data, ZoneInfo(zone))
        except BroadsheetError as error:
            if error.path != REL or not error.message:
                raise AssertionError(f"error does not name the file: {error!r}") from None
            continue
        parts = article.url.split("/")
        if len(parts) != 5 or parts[4] != "" or not all(_SEGMENT.match(p) for p in parts[:4]):
            raise AssertionError(f"unsafe article URL {article.url!r}")
        if output_path(article.url) != article.url + "index.html":
            raise AssertionError(f"unexpected output path for {article.url!r}")
        if not article.title or article.date.tzinfo is None:
            raise AssertionError(f"incomplete article from {data[:200]!r}")


if __name__ == "__main__":
    run(check, modules=("broadsheet.load", "broadsheet.frontmatter"), packages=("broadsheet", "yaml", "frontmatter"))

"""Fuzz the plain-text importer (broadsheet.ingest.wire.parse_wire) the way `broadsheet import`
drives it: decode the bytes, parse, and for an article with a title and date write the content
file text and load it back with the build's own reader. Nothing may raise, and what the importer
writes must always build.

    python fuzz/fuzz_wire.py [libFuzzer options] [corpus folders]   (or: python fuzz/run.py)
"""

from __future__ import annotations

from _common import run


def check(data: bytes) -> None:
    # Imported here, not at the top: main() must import them under instrumentation first.
    try:
        from broadsheet.ingest.wire import parse_wire
    except ImportError:
        return  # the importer is not in this checkout (yet): nothing to fuzz
    from zoneinfo import ZoneInfo

    from broadsheet.errors import BroadsheetError
    from broadsheet.ingest.decode import NotText, decode
    from broadsheet.ingest.emit import to_markdown
    from broadsheet.load import decode_article

    try:
        text = decode(data)
    except NotText:
        return
    article = parse_wire(text)
    if article.missing():
        return
    written = to_markdown(article, {"imported_from": "fuzzed.txt", "import_hash": "sha256:0"})
    try:
        decode_article("2024/05/fuzzed.md", written.encode("utf-8"), ZoneInfo("UTC"))
    except BroadsheetError as error:
        raise AssertionError(f"the importer wrote a file the build refuses: {error}\n{written[:500]}") from None


if __name__ == "__main__":
    run(check, modules=("broadsheet.ingest.wire", "broadsheet.ingest.emit", "broadsheet.load"),
        packages=("broadsheet",))  # fmt: skip

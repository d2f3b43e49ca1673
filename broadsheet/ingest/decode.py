"""Raw bytes -> text: UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 as the fallback."""

from __future__ import annotations

import codecs


class NotText(ValueError):
    """The bytes are not an article a person saved as text (binary data, or empty)."""


# Control characters that never appear in saved text; tab, newline, CR and form feed do.
_CONTROL = {c for c in range(32) if c not in (9, 10, 12, 13)}


def decode(data: bytes) -> str:
    """Decode a saved article's bytes and normalise line endings to "\\n".

    Windows-1252 is the fallback because it is what Windows editors wrote before UTF-8, and every
    byte sequence that is not valid UTF-8 in a real news file has so far been that.
    """
    if not data.strip():
        raise NotText("the file is empty")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # A lone last byte or a broken surrogate (a truncated or damaged file) costs a replacement
        # character, not the article; one that is mostly not UTF-16 fails the check below.
        text = data.decode("utf-16", errors="replace")
    else:
        if b"\x00" in data:
            raise NotText("the file is binary (it contains NUL bytes), not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text if ord(ch) in _CONTROL)
    if controls > max(2, len(text) // 200) or text.count("\ufffd") > max(2, len(text) // 100):
        raise NotText("the file is binary (too many control or undecodable characters), not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise NotText("the file is empty")
    return text

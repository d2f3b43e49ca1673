"""Importers: raw sources (plain-text wire copy, ...) -> RawArticle -> content files."""

from broadsheet.ingest.article import Block, Caption, RawArticle
from broadsheet.ingest.wire import parse_wire

__all__ = ["Block", "Caption", "RawArticle", "parse_wire"]

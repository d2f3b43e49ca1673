"""Promise 4: untrusted input is loaded safely.

YAML frontmatter is loaded with a safe loader only (Python-object tags refused with a message),
content files over the size limit are refused before they are read (measured with the kernel's
count of bytes this process read), and every XML parser in the project refuses entity
declarations, external entities and DTD fetches.
"""

from __future__ import annotations

import ast
import http.server
import os
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadsheet.errors import BroadsheetError
from broadsheet.frontmatter import parse_article
from broadsheet.load import MAX_FILE_BYTES, SourceFile, read_source, scan

from .helpers import REPO, build, make_project, write_article

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    "value",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/apply:subprocess.check_output [["touch", "{marker}"]]',
        "!!python/object/new:os.system [touch {marker}]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:builtins.object {{}}",
        "!!python/tuple [1, 2]",
        "!!python/bytes aGk=",
    ],
)
def test_python_tags_in_frontmatter_are_refused_with_a_message(tmp_path: Path, value: str) -> None:
    marker = tmp_path / "pwned"
    text = f"---\ndate: 2024-01-02\ntitle: {value.format(marker=marker)}\n---\nBody\n"
    with pytest.raises(BroadsheetError) as caught:
        parse_article(text, "2024/evil.md", UTC)
    assert caught.value.path == "2024/evil.md" and caught.value.line == 3
    assert "Python objects are not allowed" in caught.value.message
    assert not marker.exists()


def test_python_tag_through_the_cli(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    project = make_project(tmp_path / "project")
    (project / "content" / "evil.md").write_text(
        f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\ndate: 2024-01-02\n---\nx\n', "utf-8"
    )
    result = build(project, output=project / "site")
    assert result.returncode == 1 and not marker.exists()
    assert (
        "evil.md:2: invalid YAML in frontmatter: YAML tags that build Python objects are not allowed" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_unknown_yaml_tags_and_alias_bombs_are_harmless() -> None:
    with pytest.raises(BroadsheetError, match="invalid YAML"):
        parse_article("---\ntitle: !custom x\ndate: 2024-01-02\n---\n", "a.md", UTC)
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    bomb = "---\ntitle: t\ndate: 2024-01-02\n" + "\n".join(levels) + "\n---\nBody\n"  # 9^9 leaves if expanded
    started = time.perf_counter()
    article = parse_article(bomb, "a.md", UTC)
    assert time.perf_counter() - started < 2
    assert article.title == "t"
    with pytest.raises(BroadsheetError):  # a tag list made of the bomb is a wrong type, not a hang
        parse_article("---\ntitle: t\ndate: 2024-01-02\ntags: &t [*t]\n---\n", "a.md", UTC)


def _bytes_read() -> int:
    """This process's read count from the kernel (/proc/self/io `rchar`)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.write(b"---\ntitle: big\ndate: 2024-01-02\n---\n")
        chunk = b"All work and no play makes a dull article.\n" * 24000
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)
    before = _bytes_read()
    with pytest.raises(BroadsheetError, match=r"file is 52\.\d MB; articles over 10 MB are refused") as caught:
        read_source(SourceFile("2024/big.md", big.parent))
    read = _bytes_read() - before
    assert caught.value.path == "2024/big.md"
    assert read < 64 * 1024, f"{read} bytes were read from a file that should have been refused unread"


def test_a_file_longer_than_its_stat_says_is_read_whole_up_to_the_limit() -> None:
    """A file that grows between its stat and its read (or, like /proc's files, says size 0) is read
    whole: the read asks for the size stat gave, and goes on when more is there."""
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    data = read_source(SourceFile("status", status.parent))
    assert data.startswith(b"Name:") and b"\nPid:" in data and len(data) > 200


def test_file_just_over_the_limit_is_refused_and_at_the_limit_is_read(tmp_path: Path) -> None:
    head = b"---\ntitle: t\ndate: 2024-01-02\n---\n"
    at = tmp_path / "at.md"
    at.write_bytes(head + b"x" * (MAX_FILE_BYTES - len(head)))
    assert len(read_source(SourceFile("at.md", at.parent))) == MAX_FILE_BYTES
    over = tmp_path / "over.md"
    over.write_bytes(head + b"x" * (MAX_FILE_BYTES - len(head) + 1))
    with pytest.raises(BroadsheetError, match="refused"):
        read_source(SourceFile("over.md", over.parent))


# --- XML ---------------------------------------------------------------------------------------------
_XML_MODULES = (
    "xml.etree",
    "xml.dom",
    "xml.sax",
    "xml.parsers",
    "lxml.etree",
    "lxml.objectify",
    "xmlrpc",
    "feedparser",
)
_PARSING = {
    "parse", "fromstring", "XML", "XMLID", "iterparse", "XMLParser", "parseString", "make_parser", "XMLPullParser",
    "ParserCreate", "fromstringlist", "objectify",
}  # fmt: skip
# Every XML parse in the project, reviewed: each must refuse entities, external references and DTDs.
REVIEWED = {
    ("broadsheet/ingest/feed.py", "feedparser.parse"),  # only after check_xml() passed the bytes through defusedxml
}


def _xml_parse_calls(source: str, rel: str) -> set[tuple[str, str]]:
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts = []
        func = node.func
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            continue
        dotted = ".".join([aliases.get(func.id, func.id), *reversed(parts)])
        if dotted.startswith(_XML_MODULES) and dotted.rsplit(".", 1)[-1] in _PARSING:
            found.add((rel, dotted.replace("feedparser.api.", "feedparser.")))
    return found


def test_every_xml_parser_in_the_project_is_reviewed() -> None:
    """A tripwire: a new XML parse call must be made safe (defusedxml, or lxml with entities off)
    and added to REVIEWED. defusedxml itself is not listed: it is the safe way."""
    files = sorted((REPO / "broadsheet").rglob("*.py"))
    calls = set().union(*(_xml_parse_calls(p.read_text("utf-8"), p.relative_to(REPO).as_posix()) for p in files))
    assert calls - REVIEWED == set(), f"unreviewed XML parsing: {sorted(calls - REVIEWED)}"
    assert REVIEWED - calls == set(), f"reviewed call sites that are gone (update REVIEWED): {REVIEWED - calls}"


def test_the_xml_tripwire_sees_the_usual_spellings() -> None:
    source = (
        "import xml.etree.ElementTree as ET\nfrom lxml import etree\nfrom xml.dom import minidom\nimport xml.sax\n"
        "ET.fromstring(b'')\netree.parse('x')\nminidom.parseString('')\nxml.sax.make_parser()\n"
        "ET.tostring(ET.Element('x'))\n"
    )
    assert {call for _, call in _xml_parse_calls(source, "x.py")} == {
        "xml.etree.ElementTree.fromstring", "lxml.etree.parse", "xml.dom.minidom.parseString", "xml.sax.make_parser",
    }  # fmt: skip


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        _Counter.hits.append(self.path)
        body = b'<!ENTITY leak "fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def dtd_server():  # noqa: ANN201
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Counter.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_feed_parser_expands_no_entity_and_fetches_nothing(tmp_path: Path, dtd_server: str) -> None:
    feed = pytest.importorskip("broadsheet.ingest.feed")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-7d1c", "utf-8")
    rss = '<rss version="2.0"><channel><title>&{e};</title><item><title>&{e};</title></item></channel></rss>'
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    attacks = {
        "billion laughs": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{laughs}]>' + rss.format(e="l9"),
        "external file": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        + rss.format(e="x"),
        "external url": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{dtd_server}/x">]>' + rss.format(e="x"),
        "parameter entity": (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{dtd_server}/p.dtd"> %p;]>' + rss.format(e="leak")
        ),
        "external dtd": f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd_server}/rss.dtd">' + rss.format(e="leak"),
    }
    for name, xml in attacks.items():
        started = time.perf_counter()
        try:
            parsed = feed.parse_feed(xml.encode(), path="feeds/evil.xml")
        except BroadsheetError as error:
            assert error.path == "feeds/evil.xml", name
        else:
            text = repr(parsed)
            assert "SECRET" not in text and "fetched" not in text and "lollol" not in text, name
        assert time.perf_counter() - started < 5, name
    assert _Counter.hits == [], "the parser fetched an external DTD or entity"


def test_html_import_does_not_resolve_entities(tmp_path: Path) -> None:
    """Saved web pages go through lxml's HTML parser, which must not read DOCTYPE entities either."""
    html = pytest.importorskip("broadsheet.ingest.html")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-7d1c", "utf-8")
    page = (
        f'<!DOCTYPE html [<!ENTITY x SYSTEM "file://{secret}">]><html><head><title>T &x;</title></head>'
        "<body><article><h1>T &x;</h1><p>" + "Words in a paragraph. " * 40 + "&x;</p></article></body></html>"
    )
    try:
        article = html.parse_page(page, "https://example.org/story", path="saved/story.html")
    except BroadsheetError:
        return
    assert "SECRET" not in repr(article)


def test_oversized_article_via_the_cli_names_the_file(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    write_article(project / "content", "2024/ok.md", {"title": "Fine", "date": "2024-01-02"})
    with (project / "content" / "2024" / "huge.md").open("wb") as handle:
        handle.write(b"---\ntitle: huge\ndate: 2024-01-02\n---\n")
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB by size, nothing to read anyway
    result = build(project, "--keep-going", output=project / "site")
    assert result.returncode == 1
    assert "2024/huge.md: file is 52.4 MB; articles over 10 MB are refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "site" / "index.html").exists()


def test_scan_reads_each_file_from_its_folder_which_the_folders_files_share(tmp_path: Path) -> None:
    """A build holds every content file's scan entry until it ends: the files of one folder share
    that folder's path (one string) and each is read from it, through a symlinked folder too."""
    content = tmp_path / "content"
    (content / "2024" / "01").mkdir(parents=True)
    (content / ".drafts").mkdir()
    files = {"2024/01/a.md": b"a", "2024/01/b.md": b"bb", "2024/01/photo.jpg": b"jpg", ".drafts/c.md": b"ccc"}
    for rel, data in files.items():
        (content / rel).write_bytes(data)
    os.symlink(content / ".drafts", content / "linked")  # inside content: followed, though hidden by name
    markdown, assets = scan(content)
    assert [f.rel for f in markdown] == ["2024/01/a.md", "2024/01/b.md", "linked/c.md"]
    assert [f.rel for f in assets] == ["2024/01/photo.jpg"]
    assert [read_source(f) for f in markdown] == [b"a", b"bb", b"ccc"]
    assert Path(markdown[2].path) == content.resolve() / "linked" / "c.md"
    assert markdown[0].folder is markdown[1].folder is assets[0].folder

"""Promise 6, the short run: each fuzz harness's `check` over seeds, saved regressions and a few
hundred hypothesis inputs, plus a smoke run of the documented command under atheris itself.
The long runs are `python fuzz/run.py --minutes N` (see SECURITY.md)."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import REPO

FUZZ = REPO / "fuzz"
SHARED_WIRE = REPO.parent / "shared" / "corpus" / "wire"
NAMES = ("wire", "frontmatter", "markdown")


def _harness(name: str) -> Callable[[bytes], None]:
    sys.path.insert(0, str(FUZZ))  # the harnesses import their sibling _common
    try:
        spec = importlib.util.spec_from_file_location(f"fuzz_{name}", FUZZ / f"fuzz_{name}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(FUZZ))
    return module.check


def _inputs(name: str) -> list[Path]:
    folders = [FUZZ / "seeds" / name, FUZZ / "regressions" / name]
    folders += {"wire": [SHARED_WIRE], "frontmatter": [REPO / "content", REPO / "tests/security/broken"],
                "markdown": [REPO / "content"]}[name]  # fmt: skip
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())


def test_the_importer_is_really_fuzzed() -> None:
    """fuzz_wire skips when the importer is missing; make sure that is not what happens here."""
    if (REPO / "broadsheet" / "ingest" / "wire.py").exists():
        importlib.import_module("broadsheet.ingest.wire")


@pytest.mark.parametrize("name", NAMES)
def test_seeds_and_regressions_pass(name: str) -> None:
    check = _harness(name)
    inputs = _inputs(name)
    assert len(inputs) >= 2
    for path in inputs:
        check(path.read_bytes())


# Inputs made of the characters these parsers care about find more than uniform random bytes.
_MARKDOWN = st.text(alphabet="[]()<>!*_`#>-|\\&#;:xjavascript \n\t\"'=/", max_size=400)
_YAML_TOKENS = (
    "---\n", "title: ", "date: ", "2024-05-01", "T12:00+14:00", "0001-01-01", "tags: ", "[", "]", "{", "}", ", ",
    "&a ", "*a", "!!python/name:os.system", "!!str ", "!!int", "!!bool ", "!!timestamp ", "!!float ", "\n", "  ",
    "'", '"', "slug: ", "../", "image: ", "src: ", "x", "\u2215", "\x00", "\ufeff", "? ", ": ", "- ",
)  # fmt: skip
_YAML = st.lists(st.sampled_from(_YAML_TOKENS), max_size=40).map("".join)


def _bytes_strategies(name: str) -> st.SearchStrategy[bytes]:
    text = {"markdown": _MARKDOWN, "frontmatter": _YAML, "wire": st.text(max_size=600)}[name]
    return st.one_of(st.binary(max_size=2000), text.map(lambda t: t.encode("utf-8", "surrogatepass")))


@pytest.mark.parametrize("name", NAMES)
def test_hypothesis_inputs_pass(name: str) -> None:
    check = _harness(name)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(_bytes_strategies(name))
    def run(data: bytes) -> None:
        check(data)

    run()


def test_the_harnesses_catch_what_they_should() -> None:
    """The markdown harness's judge is not a no-op: it rejects unsafe HTML the renderer never makes."""
    sys.path.insert(0, str(FUZZ))
    try:
        from _common import body_html_problems
    finally:
        sys.path.remove(str(FUZZ))
    assert body_html_problems('<a href="java\tscript:x">x</a>')
    assert body_html_problems("<img src=x onerror=alert(1)>")
    assert body_html_problems("<script>x</script>")
    assert body_html_problems('<td style="background:red">x</td>')
    assert body_html_problems('<p><a href="https://example.org" rel="noopener">ok</a></p>') == []


def test_fuzz_command_runs_under_atheris(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="the `fuzz` extra is not installed")
    result = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), "--runs", "150", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in NAMES:
        assert f"== fuzz_{name}" in result.stdout
    assert result.stderr.count("Done 150 runs") == 3 or result.stderr.count("DONE") >= 3, result.stderr[-2000:]
    assert not list((tmp_path / "crashes").iterdir())

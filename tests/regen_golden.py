"""Build the golden fixture site and compare it with (or rewrite) the checked-in expected tree.

Regenerate after an intended change to templates or rendering:

    python -m tests.regen_golden          # or: UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

then review `git diff tests/fixtures/golden/expected/` before committing it.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import re
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from broadsheet.builder import BuildOptions, build
from broadsheet.config import load_config
from broadsheet.manifest import MANIFEST

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
SITE = GOLDEN / "site"
EXPECTED = GOLDEN / "expected"
REGEN_COMMAND = "python -m tests.regen_golden"

# Left out of the comparison: the manifest is the writer's bookkeeping (digests of everything else);
# search/*.json is the search index (data shards, tested with the search feature); pagefind/ an older
# search bundle; static/ and any other file copied byte for byte from templates/ (web app icons) are theme
# files, not rendering results. test_pages checks that every asset a page links to is published.
IGNORED = (MANIFEST, "static/*", "pagefind/*", "search/*.json")
# Theme assets are linked under content-hashed names (static/style.<10 hex>.css); compared pages use the
# plain name, so a CSS edit does not change every page of the golden tree.
_HASHED_ASSET = re.compile(rb"(static/[\w./-]*?)\.[0-9a-f]{10}((?:\.[A-Za-z0-9]+)?)(?![\w.])")


def build_golden(workdir: Path, *, drafts: bool = False) -> Path:
    """Build the fixture site with the repository's templates into `workdir`/site; return that folder."""
    # The config's root moves to workdir so that locks and caches never land in the repository.
    config = replace(load_config(SITE / "site.toml"), root=workdir)
    output = workdir / "site"
    build(
        config,
        BuildOptions(
            content_dir=SITE / "content",
            output_dir=output,
            templates_dir=ROOT / "templates",
            drafts=drafts,
            cache=False,
            jobs=1,
        ),
    )
    return output


def _theme_files(templates: Path) -> set[bytes]:
    return {hashlib.sha256(p.read_bytes()).digest() for p in templates.rglob("*") if p.is_file()}


def tree(folder: Path, templates: Path = ROOT / "templates") -> dict[str, bytes]:
    """Every compared file under `folder`: posix relative path -> bytes."""
    theme = _theme_files(templates)
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(fnmatch.fnmatch(rel.as_posix(), pattern) for pattern in IGNORED):
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).digest() not in theme:
            files[rel.as_posix()] = _HASHED_ASSET.sub(rb"\1\2", data)
    return files


def differences(actual: dict[str, bytes], expected: dict[str, bytes], *, max_lines: int = 60) -> list[str]:
    """Human-readable report of how `actual` differs from `expected` (empty when they are equal)."""
    report: list[str] = []
    for name in sorted(expected.keys() - actual.keys()):
        report.append(f"missing from the build: {name}")
    for name in sorted(actual.keys() - expected.keys()):
        report.append(f"not in the expected tree: {name}")
    for name in sorted(actual.keys() & expected.keys()):
        if actual[name] == expected[name]:
            continue
        report.append(f"differs: {name}")
        diff = difflib.unified_diff(
            expected[name].decode("utf-8", "replace").splitlines(),
            actual[name].decode("utf-8", "replace").splitlines(),
            f"expected/{name}",
            f"built/{name}",
            lineterm="",
            n=1,
        )
        lines = list(diff)
        report.extend(lines[:max_lines] + (["  ..."] if len(lines) > max_lines else []))
    return report


def regenerate() -> Path:
    """Rewrite EXPECTED from a fresh build. The new tree is complete before the old one is removed."""
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        built = tree(build_golden(Path(tmp)))
        staging = EXPECTED.with_name(EXPECTED.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        for name, data in built.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        shutil.rmtree(EXPECTED, ignore_errors=True)
        staging.rename(EXPECTED)
    return EXPECTED


def main() -> int:
    path = regenerate()
    rel = path.relative_to(ROOT)
    print(f"wrote {len(tree(path))} files to {rel}; review them with `git diff {rel}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())

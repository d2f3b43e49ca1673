"""The Nu HTML Checker (npm vnu-jar, run with Java) finds no errors in any page of the built sample site."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sitetools import ROOT, build_sample_site

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def _missing_tools() -> str | None:
    if shutil.which("java") is None:
        return "java not found: install a Java runtime (apt-get install default-jre-headless)"
    if not VNU.is_file():
        return f"{VNU} not found: run `npm ci` (package.json pins vnu-jar)"
    return None


def test_every_page_is_valid_html(tmp_path: Path) -> None:
    missing = _missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    site = build_sample_site(tmp_path)
    pages = list(site.rglob("*.html"))
    assert len(pages) > 20, "the sample site should have many pages to check"
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--skip-non-html", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = (result.stdout + result.stderr).replace(site.as_uri(), "").replace(str(site), "")
    assert result.returncode == 0 and not report.strip(), f"vnu found errors in {len(pages)} pages:\n{report}"

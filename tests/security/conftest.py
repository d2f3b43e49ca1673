"""Fixtures shared by the security tests."""

from __future__ import annotations

import pytest

from .helpers import build, make_project


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a hostile.HostileSite
    """The XSS site: every vector in every field, built once through the CLI for all XSS tests."""
    from .hostile import generate

    root = make_project(tmp_path_factory.mktemp("hostile"), base_url="https://example.org/", extra="feed_size = 1000\n")
    site = generate(root / "content")
    result = build(root, output=root / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    site.output = root / "site"
    return site

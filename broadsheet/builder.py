"""The build as one top-down recipe: load everything, render everything, then write once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from broadsheet.config import SiteConfig
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.load import load_site
from broadsheet.markdown import Rendered, render_markdown
from broadsheet.render import render_site
from broadsheet.write import WriteStats, build_lock, check_output_dir, recover, write_site

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    content_dir: Path | None = None
    output_dir: Path | None = None
    templates_dir: Path | None = None
    base_url: str | None = None
    drafts: bool = False
    keep_going: bool = False


@dataclass(frozen=True)
class BuildResult:
    articles: int
    stats: WriteStats
    seconds: float
    errors: list[BroadsheetError] = field(default_factory=list)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def build(config: SiteConfig, options: BuildOptions = BuildOptions(), progress: Progress = _no_progress) -> BuildResult:
    """Build the site. Raises BuildFailed on input errors (unless keep_going) and leaves the
    previous output untouched; with keep_going, builds what it can and returns the errors."""
    started = time.perf_counter()
    if options.base_url:
        config = replace(config, base_url=options.base_url)
    content_dir = (options.content_dir or config.path("content_dir")).resolve()
    output_dir = (options.output_dir or config.path("output_dir")).resolve()
    templates_dir = (options.templates_dir or config.path("templates_dir")).resolve()
    output_dir = check_output_dir(output_dir, project_root=config.root, content_dir=content_dir)

    site, errors = load_site(content_dir, config.tz, drafts=options.drafts)
    if errors and not options.keep_going:
        raise BuildFailed(errors)
    progress("parse", 0, len(site.articles))
    rendered: dict[str, Rendered] = {}
    for i, article in enumerate(site.articles, 1):
        rendered[article.path] = render_markdown(article.body)
        if i % 200 == 0:
            progress("parse", i, len(site.articles))

    with build_lock(output_dir):
        recover(output_dir)
        outputs = render_site(site, config, rendered, templates_dir, content_dir)
        stats = write_site(outputs, output_dir)
    return BuildResult(len(site.articles), stats, time.perf_counter() - started, errors)

"""Command-line parsing only: each subcommand calls one function."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from broadsheet import __version__
from broadsheet.builder import BuildOptions, BuildResult, build
from broadsheet.config import SiteConfig, load_config
from broadsheet.errors import BroadsheetError, BuildFailed


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="broadsheet", description="Static-site news reader generator.")
    parser.add_argument("--version", action="version", version=f"broadsheet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="build the site from content/ into site/")
    _site_options(b)
    b.add_argument("--drafts", action="store_true", help="include articles marked draft: true")
    b.add_argument("--keep-going", action="store_true", help="build what can be built; report failures at the end")
    b.add_argument("--precompress", action="store_true", help="also write .gz (and .br) copies of text files")
    b.add_argument("--quiet", "-q", action="store_true", help="print only errors and the summary line")
    b.add_argument("--jobs", "-j", type=int, metavar="N", help="worker processes (default: one per core)")
    b.add_argument(
        "--executor", metavar="KIND", help="where Markdown is rendered: process (default), inline, dask://HOST:PORT"
    )
    b.add_argument("--no-cache", action="store_true", help="ignore and do not update .broadsheet-cache/")

    i = sub.add_parser("import", help="import articles (.txt, saved .html pages, feed files or URLs) into content/")
    i.add_argument(
        "paths", nargs="+", metavar="PATH", help="a .txt/.html/feed file, a folder of them, or an http(s) URL"
    )
    i.add_argument("--content", type=Path, help="content folder (default: from site.toml, else content/)")
    i.add_argument("--config", type=Path, help="site.toml to read (default: ./site.toml if present)")
    i.add_argument("--date", type=_date, help="publication date for articles whose text has none")
    i.add_argument("--full-text", action="store_true", help="for feeds: fetch each entry's page and extract it")
    i.add_argument("--allow-loopback", action="store_true", help="allow URLs on this machine (127.0.0.1, ::1)")

    f = sub.add_parser("fetch", help="update every [[feeds]] subscription in site.toml")
    f.add_argument("--content", type=Path, help="content folder (default: from site.toml, else content/)")
    f.add_argument("--config", type=Path, help="site.toml to read (default: ./site.toml if present)")
    f.add_argument("--workers", type=int, default=4, help="feeds fetched at once (default: 4)")
    f.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per request (default: 30)")
    f.add_argument("--allow-loopback", action="store_true", help="allow feeds on this machine (127.0.0.1, ::1)")
    f.add_argument("--quiet", "-q", action="store_true", help="print only failures and the summary")

    s = sub.add_parser("serve", help="build, serve on 127.0.0.1, rebuild on change and reload open pages")
    _site_options(s)
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free port)")
    s.add_argument("--bind", default="127.0.0.1", metavar="ADDR", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--drafts", action="store_true", help="include articles marked draft: true")

    p = sub.add_parser("publish", help="send the built site to a git branch, a folder or an rsync target")
    p.add_argument("--to", required=True, metavar="TARGET", help="git | DIR | rsync://HOST/MOD/PATH | [USER@]HOST:PATH")
    p.add_argument("--output", type=Path, help="built site folder (default: from site.toml, else site/)")
    p.add_argument("--config", type=Path, help="site.toml to read (default: ./site.toml if present)")
    p.add_argument("--repo", metavar="PATH_OR_URL", help="git: remote name, repository path or URL (default: origin)")
    p.add_argument("--branch", default="gh-pages", help="git: branch to publish to (default: gh-pages)")
    p.add_argument("--cname", metavar="DOMAIN", help="git: custom domain written to CNAME (GitHub Pages)")
    p.add_argument("--message", "-m", help="git: commit message")
    return parser


def _site_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--content", type=Path, help="content folder (default: content/)")
    p.add_argument("--output", type=Path, help="output folder (default: site/)")
    p.add_argument("--templates", type=Path, help="templates folder (default: templates/)")
    p.add_argument("--config", type=Path, help="site.toml to read (default: ./site.toml if present)")
    p.add_argument("--base-url", help="override base_url, e.g. https://example.org/news/")


def _progress_printer(quiet: bool):  # noqa: ANN202 - a Progress callable
    if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
        return lambda stage, done, total: None

    def show(stage: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r{stage}: {done}/{total} {'articles' if stage == 'parse' else 'pages'}")
        sys.stderr.flush()
        if done == total:
            sys.stderr.write("\r\033[K")

    return show


def _summary(result: BuildResult) -> str:
    s = result.stats
    state = f"{s.written} written, {s.unchanged} unchanged, {s.removed} removed"
    return f"built {result.articles} articles into {s.files} files ({state}) in {result.seconds:.2f}s"


def run_build(args: argparse.Namespace) -> int:
    config: SiteConfig = load_config(args.config)
    options = BuildOptions(
        content_dir=args.content,
        output_dir=args.output,
        templates_dir=args.templates,
        base_url=args.base_url,
        drafts=args.drafts,
        keep_going=args.keep_going,
        precompress=args.precompress,
        jobs=args.jobs,
        executor=args.executor,
        cache=not args.no_cache,
    )
    try:
        result = build(config, options, progress=_progress_printer(args.quiet))
    except BuildFailed as failed:
        for error in failed.errors:
            print(f"error: {error}", file=sys.stderr)
        print(
            f"build failed: {len(failed.errors)} error(s); site/ left unchanged (use --keep-going to build the rest)",
            file=sys.stderr,
        )
        return 1
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    print(_summary(result))
    if result.errors:
        print(f"{len(result.errors)} file(s) failed and were left out", file=sys.stderr)
        return 1
    return 0


def run_import(args: argparse.Namespace) -> int:
    from broadsheet.ingest.webimport import import_any

    config = load_config(args.config)
    content = args.content or config.path("content_dir")
    return import_any(
        args.paths,
        content,
        config.tz,
        date=args.date,
        tag_aliases=config.tag_aliases,
        full_text=args.full_text,
        allow_loopback=args.allow_loopback,
    )


def run_fetch(args: argparse.Namespace) -> int:
    from broadsheet.ingest.pull import fetch_command

    config = load_config(args.config)
    return fetch_command(
        config,
        content_dir=args.content,
        workers=args.workers,
        timeout=args.timeout,
        allow_loopback=args.allow_loopback,
        quiet=args.quiet,
    )


def run_serve(args: argparse.Namespace) -> int:
    from broadsheet.serve import ServeOptions, serve

    options = ServeOptions(
        bind=args.bind,
        port=args.port,
        content_dir=args.content,
        output_dir=args.output,
        templates_dir=args.templates,
        config_file=args.config,
        base_url=args.base_url,
        drafts=args.drafts,
    )
    return serve(lambda: load_config(args.config), options)


def run_publish(args: argparse.Namespace) -> int:
    from broadsheet.publish import PublishOptions, publish

    config = load_config(args.config)
    options = PublishOptions(args.to, args.repo, args.branch, args.cname, args.message)
    result = publish(args.output or config.path("output_dir"), options, project_root=config.root)
    print(result.summary)
    return 0


COMMANDS = {"build": run_build, "import": run_import, "serve": run_serve, "fetch": run_fetch, "publish": run_publish}


def entry() -> NoReturn:
    """The `broadsheet` command. Exits without tearing down the heap: after a build of a large site
    that is hundreds of thousands of objects freed one by one, a tenth of a second of nothing."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BroadsheetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        # The machine's trouble (a full disk, a read-only folder), not the input's: its words and the
        # file, not a traceback. A build that stops so leaves the site as it was (write.SpareTree).
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

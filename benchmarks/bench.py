#!/usr/bin/env python3
"""Build benchmark: a seeded synthetic corpus, then cold, no-op, one-edit and template-change builds
(and an edit after the template change, and a template change with the project's files out of memory).

    python benchmarks/bench.py --articles 10000 [--workdir DIR] [--seed N] [--keep] [--build-arg=--jobs=1]

Each build runs as its own `broadsheet build` subprocess, so its wall time and peak memory (PSS of the
process tree: pages forked workers share are counted once) are what a user sees. Prints a Markdown
table. A benchmark, not a test: run on demand.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Container
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "government minister council city harbour rail energy price market river storm school hospital court police "
    "election budget union strike vote report plan project company shares bank rate growth climate water power "
    "fire road bridge airport port ship factory workers talks deal law tax health doctors patients museum film "
    "music festival club season match coach league mayor residents officials statement week month year morning"
).split()


def make_corpus(root: Path, n: int, seed: int = 1, words: tuple[int, int] = (500, 1001), tags: int = 300) -> None:
    """n articles with 2-5 tags from a vocabulary of `tags`, dates over three years, seeded."""
    rng = random.Random(seed)
    vocabulary = [f"Topic {i:03d}" for i in range(tags)]
    sources = [f"Outlet {i}" for i in range(25)]
    start = date(2021, 1, 1)
    for i in range(n):
        day = start + timedelta(days=rng.randrange(3 * 365))
        paragraphs = []
        left = rng.randrange(*words)
        while left > 0:
            k = min(left, rng.randrange(40, 90))
            text = " ".join(rng.choice(WORDS) for _ in range(k))
            paragraphs.append(text[0].upper() + text[1:] + ".")
            left -= k
        if rng.random() < 0.3:
            paragraphs.insert(2, "## " + " ".join(rng.choice(WORDS) for _ in range(4)).title())
        if rng.random() < 0.3:
            paragraphs.insert(1, "\n".join(f"- {rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in range(4)))
        tags = rng.sample(vocabulary, rng.randrange(2, 6))
        folder = root / f"{day.year:04d}" / f"{day.month:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        hour, minute = rng.randrange(24), rng.randrange(60)
        (folder / f"story-{i:06d}.md").write_text(
            "---\n"
            f"title: Story {i} about {rng.choice(WORDS)} and {rng.choice(WORDS)}\n"
            f"date: {day.isoformat()}T{hour:02d}:{minute:02d}:00+00:00\n"
            f"authors: [Reporter {rng.randrange(120)}]\n"
            f"source: {rng.choice(sources)}\n"
            f"tags: [{', '.join(tags)}]\n"
            "---\n" + "\n\n".join(paragraphs) + "\n",
            encoding="utf-8",
        )


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages (forked workers) are split between the processes sharing
    them, so the sum over a process tree is the memory the tree really occupies."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_pss_kib(root: int) -> int:
    """Memory of a process and all its descendants (Linux /proc), in KiB."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kib(pid)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def wait_measured(proc: subprocess.Popen, started: float) -> tuple[float, int]:
    """Wait for `proc`; return (wall seconds since `started`, peak memory (PSS, MB) of its process tree).

    Memory is sampled on a thread, so the wall time ends when the process does, not at the next
    sample. Reading a process's PSS walks its page tables, which costs CPU the measured build would
    otherwise have (a sixth of a core at 100,000 articles if sampled every 50 ms): samples come every
    20 ms at first and every 250 ms in a long build, whose memory changes slowly."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_kib(proc.pid))
            done.wait(min(0.25, 0.02 + (time.perf_counter() - started) / 40))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return wall, peak[0] // 1024


def run_build(site: Path, extra: list[str]) -> tuple[float, int, str]:
    """Run one build; return (wall seconds, peak memory (PSS, MB) of the build's process tree, summary)."""
    # As an installed command runs: with Python's bytecode cache, even where the environment turns
    # it off (PYTHONDONTWRITEBYTECODE would compile Broadsheet's modules again on every build).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "broadsheet", "build", "--quiet", *extra], cwd=site, stdout=out, stderr=err, env=env
        )
        wall, peak = wait_measured(proc, started)
        out.seek(0)
        err.seek(0)
        output, errors = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{output}\n{errors}")
    return wall, peak, output.strip().splitlines()[-1]


def out_of_memory(root: Path, but: Container[str] = ()) -> None:
    """Drop every file under `root` from the page cache (written out first), as a day of other work
    would (Linux: posix_fadvise); not those under its folders named in `but`."""
    os.sync()
    for folder, subfolders, names in os.walk(root):
        if folder == str(root):
            subfolders[:] = [name for name in subfolders if name not in but]
        for name in names:
            try:
                fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the generated site folder")
    parser.add_argument("--build-arg", action="append", default=[], help="extra argument for broadsheet build")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))
    site = work / f"site-{args.articles}"
    if site.exists():
        shutil.rmtree(site)
    (site / "content").mkdir(parents=True)
    shutil.copytree(REPO / "templates", site / "templates")
    t = time.perf_counter()
    make_corpus(site / "content", args.articles, args.seed)
    print(f"generated {args.articles} articles in {time.perf_counter() - t:.1f}s under {site}", file=sys.stderr)
    os.sync()  # the corpus goes to disk now, not during the cold build

    rows = []
    extra = list(args.build_arg)
    rows.append(("cold (no cache)", *run_build(site, extra)))
    rows.append(("no-op rebuild", *run_build(site, extra)))
    articles = sorted((site / "content").rglob("*.md"))

    def edited(label: str, victim: Path) -> None:
        victim.write_text(victim.read_text("utf-8").replace("\n---\n", "\n---\nAn edited first line.\n\n", 1), "utf-8")
        rows.append((label, *run_build(site, extra)))

    edited("one article edited (the first after the cold build)", articles[7 % args.articles])
    edited("one article edited", articles[len(articles) // 2])
    base = site / "templates" / "base.html"
    base.write_text(base.read_text("utf-8").replace("</footer>", "<!-- edited --></footer>"), "utf-8")
    rows.append(("template changed", *run_build(site, extra)))
    # After a build that rewrote every page, the spare tree holds the version before each: the first
    # edit's build links it in step with the live tree (write.TreeCheck).
    edited("one article edited (the first after the template change)", articles[len(articles) // 3])
    # As a day later: what the build reads (the cache) and rewrites (the spare tree's pages) comes from
    # the disk, not from memory.
    if hasattr(os, "posix_fadvise"):
        base.write_text(base.read_text("utf-8").replace("<!-- edited -->", "<!-- edited again -->"), "utf-8")
        out_of_memory(site)
        rows.append(("template changed again, the project's files out of memory", *run_build(site, extra)))

    print(f"\n{args.articles} articles, {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| build | wall s | ms/article | peak MB (PSS) | files written | result |")
    print("|---|---:|---:|---:|---:|---|")
    for name, wall, peak, summary in rows:
        written = re.search(r"\((\d+) written", summary)
        shown = written.group(1) if written else "?"
        print(f"| {name} | {wall:.2f} | {wall * 1000 / args.articles:.2f} | {peak} | {shown} | {summary} |")
    if not args.keep and not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

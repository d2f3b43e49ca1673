"""Run the fuzz harnesses under atheris (libFuzzer) for a while:

    python fuzz/run.py --minutes 10              # all harnesses, the time split between them
    python fuzz/run.py --minutes 30 --only wire  # one harness
    python fuzz/run.py --runs 200                # a quick smoke run (what the test suite does)

Needs the `fuzz` extra (pip install -e '.[fuzz]'). Each harness starts from its seeds (fuzz/seeds/<name>,
fuzz/regressions/<name>, the sample content/ and the shared wire corpus) and keeps what it learns in
test-artifacts/fuzz/<name>/ (git-ignored), so later runs continue where earlier ones stopped.

A crash is saved as test-artifacts/fuzz/crashes/<name>-crash-*: fix the bug, then copy the file into
fuzz/regressions/<name>/, where tests/security/test_fuzz.py replays it on every test run.
Exit status: 0 when no harness crashed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HARNESSES = {
    "wire": {"dict": None, "seeds": [REPO.parent / "shared" / "corpus" / "wire"]},
    "frontmatter": {"dict": HERE / "frontmatter.dict", "seeds": [REPO / "content", REPO / "tests/security/broken"]},
    "markdown": {"dict": HERE / "markdown.dict", "seeds": [REPO / "content"]},
}


def _command(name: str, seconds: int | None, runs: int | None, work: Path, crashes: Path) -> list[str]:
    spec = HARNESSES[name]
    corpus = work / name
    corpus.mkdir(parents=True, exist_ok=True)
    folders = [corpus, HERE / "seeds" / name, HERE / "regressions" / name, *spec["seeds"]]  # type: ignore[misc]
    command = [
        sys.executable, str(HERE / f"fuzz_{name}.py"),
        f"-artifact_prefix={crashes}/{name}-",
        "-max_len=65536", "-timeout=20", "-rss_limit_mb=2048", "-print_final_stats=1",
    ]  # fmt: skip
    if spec["dict"]:
        command.append(f"-dict={spec['dict']}")
    command.append(f"-max_total_time={seconds}" if seconds else f"-runs={runs}")
    return command + [str(f) for f in folders if f.is_dir()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=10, help="total time, split between harnesses (default 10)")
    budget.add_argument("--runs", type=int, help="inputs per harness instead of a time budget")
    parser.add_argument("--only", choices=sorted(HARNESSES), action="append", help="run just this harness (repeatable)")
    parser.add_argument("--work", type=Path, default=REPO / "test-artifacts" / "fuzz", help="corpus and crash folder")
    args = parser.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2

    names = args.only or list(HARNESSES)
    seconds = None if args.runs else max(1, int(args.minutes * 60 / len(names)))
    crashes = args.work / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names:
        print(f"== fuzz_{name}: {f'{seconds}s' if seconds else f'{args.runs} runs'}", flush=True)
        result = subprocess.run(_command(name, seconds, args.runs, args.work, crashes), cwd=REPO, check=False)
        if result.returncode != 0:
            failed.append(name)
    found = sorted(crashes.glob("*"))
    if found:
        print("crash inputs (fix, then copy into fuzz/regressions/<harness>/):", *found, sep="\n  ", file=sys.stderr)
    if failed:
        print(f"harnesses that crashed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

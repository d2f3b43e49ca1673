"""`publish --to git`: commit the built site to a branch (gh-pages) and push it.

Everything goes through git plumbing with a temporary index (hash-object, update-index,
write-tree, commit-tree, update-ref), so the user's working tree, index and current branch are
never touched. Where the commit is made:

- no `--repo`: in the project's own repository; the local branch is updated and pushed to
  `origin` if there is one (the branch's history continues from origin's copy);
- `--repo` naming one of the project's remotes: the same, with that remote;
- `--repo PATH_OR_URL`: in a throw-away repository that fetches the branch's last commit from
  there and pushes the new one back, so the project's repository is not involved at all.

A site whose files equal the branch's last commit makes no commit.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.publish.result import PublishResult
from broadsheet.publish.site import BuiltSite

DEFAULT_BRANCH = "gh-pages"
DEFAULT_MESSAGE = "Publish site"
# Variables that would point our git commands at some other repository, index or work tree
# (set, for instance, when publish runs from inside a git hook).
_REPO_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_ZERO = "0" * 40


@dataclass(frozen=True)
class GitTarget:
    repo: str | None = None  # a remote's name, a path to a repository, or any git URL
    branch: str = DEFAULT_BRANCH
    cname: str | None = None  # custom domain for GitHub Pages, written to CNAME
    message: str | None = None


class Git:
    """Runs git in one repository with a clean environment; failures become BroadsheetErrors."""

    def __init__(self, cwd: Path, environ: Mapping[str, str]) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in environ.items() if k not in _REPO_VARIABLES}
        self.env["GIT_TERMINAL_PROMPT"] = "0"  # fail instead of waiting for a password nobody types

    def run(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
        result = self.try_run(*args, input=input, env=env)
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip() or f"exit status {result.returncode}"
            raise BroadsheetError(f"git {args[0]} failed: {message}", path=str(self.cwd))
        return result.stdout.decode("utf-8", "surrogateescape").strip()

    def try_run(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.cwd,
                input=input,
                env={**self.env, **(env or {})},
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise BroadsheetError("git is not installed: install git to publish with --to git") from None


def publish_git(
    site: BuiltSite, target: GitTarget, *, project_root: Path, environ: Mapping[str, str] | None = None
) -> PublishResult:
    environ = os.environ if environ is None else environ
    _check_options(target)
    project = _project_repo(project_root, environ)
    if target.repo is None and project is None:
        raise BroadsheetError(
            "the project is not in a git repository: give --repo PATH_OR_URL to publish somewhere else",
            path=str(project_root),
        )
    if project is not None and (target.repo is None or target.repo in _remotes(project)):
        remote = target.repo if target.repo is not None else ("origin" if "origin" in _remotes(project) else None)
        return _publish(site, target, project, remote, own_repo=True)
    assert target.repo is not None
    url = str(Path(target.repo).resolve()) if Path(target.repo).exists() else target.repo
    with tempfile.TemporaryDirectory(prefix="broadsheet-git-") as tmp:
        scratch = Git(Path(tmp), environ)
        scratch.run("init", "--quiet", "--bare")
        return _publish(site, target, scratch, url, own_repo=False)


def _check_options(target: GitTarget) -> None:
    if target.cname is not None and not _HOST_NAME.match(target.cname):
        raise BroadsheetError(f"--cname takes a bare host name such as example.org, not {target.cname!r}")
    valid = Git(Path.cwd(), os.environ).try_run("check-ref-format", "--branch", target.branch).returncode == 0
    if target.branch.startswith("-") or not valid:
        raise BroadsheetError(f"not a valid branch name: {target.branch!r}")


def _project_repo(root: Path, environ: Mapping[str, str]) -> Git | None:
    probe = Git(root, environ)
    result = probe.try_run("rev-parse", "--show-toplevel")
    if result.returncode != 0:
        return None
    return Git(Path(result.stdout.decode().strip()), environ)


def _remotes(repo: Git) -> list[str]:
    return repo.run("remote").split()


def _publish(site: BuiltSite, target: GitTarget, repo: Git, remote: str | None, *, own_repo: bool) -> PublishResult:
    ref = f"refs/heads/{target.branch}"
    if own_repo:
        _refuse_checked_out(repo, ref)
    local = _resolve(repo, ref) if own_repo else None
    remote_tip = _remote_tip(repo, remote, ref) if remote else None
    if remote and remote_tip:
        if own_repo:  # keep the history: the remote-tracking branch, as `git fetch` would
            repo.run("fetch", "--quiet", "--no-tags", remote, f"+{ref}:refs/remotes/{remote}/{target.branch}")
        else:  # only the last commit is needed as the parent
            repo.run("fetch", "--quiet", "--no-tags", "--depth=1", remote, ref)
    parent = remote_tip or local
    tree = _write_tree(repo, site, target.cname)
    if parent and repo.run("rev-parse", f"{parent}^{{tree}}") == tree:
        commit, changed = parent, ((), ())
    else:
        commit = _commit(repo, tree, parent, target.message or DEFAULT_MESSAGE)
        changed = _changed_files(repo, parent, commit)
    if own_repo and local != commit:
        # The old value guards against a concurrent update of the branch.
        repo.run("update-ref", "-m", "broadsheet publish", ref, commit, local or _ZERO)
    where = target.branch + (f" of {remote}" if remote else f" in {repo.cwd}")
    if remote and remote_tip != commit:
        result = repo.try_run("push", "--quiet", remote, f"{commit}:{ref}")
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()
            hint = " (the branch changed there while publishing: publish again)" if "rejected" in detail else ""
            raise BroadsheetError(f"git push to {remote} failed{hint}: {detail}")
        if changed == ((), ()):  # the commit existed (locally) but had not reached the remote yet
            changed = _changed_files(repo, remote_tip, commit)
    return PublishResult(where, changed[0], changed[1], (), commit)


def _refuse_checked_out(repo: Git, ref: str) -> None:
    """Moving a branch that a work tree has checked out would make its files look changed."""
    for line in repo.run("worktree", "list", "--porcelain").splitlines():
        if line == f"branch {ref}":
            raise BroadsheetError(
                f"{ref.removeprefix('refs/heads/')} is checked out in a work tree of this repository; "
                "switch that work tree to another branch, or publish to another --branch",
                path=str(repo.cwd),
            )


def _resolve(repo: Git, ref: str) -> str | None:
    result = repo.try_run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _remote_tip(repo: Git, remote: str, ref: str) -> str | None:
    out = repo.run("ls-remote", "--refs", remote, ref)
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


def _write_tree(repo: Git, site: BuiltSite, cname: str | None) -> str:
    """The site's files as a tree object, built in a temporary index (the user's is never read)."""
    paths = "\n".join(str(site.root / rel) for rel in site.files) + "\n"
    # --no-filters: the bytes as built, whatever .gitattributes (eol, lfs) the repository has.
    listing = paths.encode("utf-8", "surrogateescape")
    shas = repo.run("hash-object", "-w", "--no-filters", "--stdin-paths", input=listing)
    entries = dict(zip(site.files, shas.split(), strict=True))
    extras = {".nojekyll": b""}  # GitHub Pages: serve the files as they are, no Jekyll run
    if cname:
        extras["CNAME"] = f"{cname}\n".encode()
    for name, data in extras.items():
        entries[name] = repo.run("hash-object", "-w", "--no-filters", "--stdin", input=data)
    records = b"".join(f"100644 {sha}\t{path}\0".encode("utf-8", "surrogateescape") for path, sha in entries.items())
    with tempfile.TemporaryDirectory(prefix="broadsheet-index-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        repo.run("update-index", "-z", "--add", "--index-info", input=records, env=index)
        return repo.run("write-tree", env=index)


def _commit(repo: Git, tree: str, parent: str | None, message: str) -> str:
    env: dict[str, str] = {}
    if repo.try_run("var", "GIT_COMMITTER_IDENT").returncode != 0:
        # No identity configured (a CI box, a fresh server): sign the deploy commit as Broadsheet.
        env = {
            "GIT_AUTHOR_NAME": "Broadsheet",
            "GIT_AUTHOR_EMAIL": "broadsheet@localhost",
            "GIT_COMMITTER_NAME": "Broadsheet",
            "GIT_COMMITTER_EMAIL": "broadsheet@localhost",
        }
    args = ["commit-tree", tree, "-F", "-"] + (["-p", parent] if parent else [])
    return repo.run(*args, input=message.encode("utf-8"), env=env)


def _changed_files(repo: Git, old: str | None, new: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(files added or modified, files deleted) from commit `old` (None: nothing) to `new`."""
    if old is None:
        names = repo.run("ls-tree", "-r", "-z", "--name-only", new).split("\0")
        return tuple(sorted(n for n in names if n)), ()
    fields = repo.run("diff-tree", "-r", "-z", "--no-renames", "--name-status", old, new).split("\0")
    pairs = list(zip(fields[0::2], fields[1::2], strict=False))
    sent = tuple(sorted(path for status, path in pairs if status != "D"))
    removed = tuple(sorted(path for status, path in pairs if status == "D"))
    return sent, removed

"""`broadsheet publish`: send the built site to a host. The publisher is chosen by the target's form
(as in Lektor's publisher.py): `git`, an rsync target (`rsync://…`, `[user@]host:path`, `rsync:/path`)
or a folder. Publishing reads the built site only; it never builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.locks import reading_lock
from broadsheet.publish.gitpub import DEFAULT_BRANCH, GitTarget, publish_git
from broadsheet.publish.mirror import publish_dir
from broadsheet.publish.result import PublishResult
from broadsheet.publish.rsync import is_rsync_target, publish_rsync
from broadsheet.publish.site import BuiltSite, load_built_site

__all__ = ["BuiltSite", "PublishOptions", "PublishResult", "load_built_site", "publish", "target_kind"]


@dataclass(frozen=True)
class PublishOptions:
    to: str  # "git", an rsync target, or a folder
    repo: str | None = None
    branch: str = DEFAULT_BRANCH
    cname: str | None = None
    message: str | None = None


def target_kind(to: str) -> str:
    """ "git", "rsync" or "dir". A folder literally named `git` or containing `:` is written `./git`."""
    if to == "git":
        return "git"
    if is_rsync_target(to):
        return "rsync"
    return "dir"


def publish(
    site_dir: Path, options: PublishOptions, *, project_root: Path, environ: Mapping[str, str] | None = None
) -> PublishResult:
    if not options.to:
        raise BroadsheetError("--to needs a target: git, a folder, or an rsync destination")
    kind = target_kind(options.to)
    git_only = [
        flag
        for flag, value in (("--repo", options.repo), ("--cname", options.cname), ("--message", options.message))
        if value is not None
    ] + (["--branch"] if options.branch != DEFAULT_BRANCH else [])
    if kind != "git" and git_only:
        raise BroadsheetError(f"{', '.join(git_only)} only apply to --to git")
    with reading_lock(site_dir.resolve()):  # no build swaps the site away while it is sent
        site = load_built_site(site_dir)
        if kind == "git":
            target = GitTarget(options.repo, options.branch, options.cname, options.message)
            return publish_git(site, target, project_root=project_root, environ=environ)
        if kind == "rsync":
            return publish_rsync(site, options.to)
        return publish_dir(site, Path(options.to))

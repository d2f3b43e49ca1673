"""`broadsheet publish --to git` against real git: a bare repository on disk, the project's own
repository with an `origin`, and one with no remote. The user's checkout, index and current
branch must never change; an unchanged site makes no commit; a changed article makes a commit
touching exactly the files whose bytes changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from publish_support import GIT_ENV, build_project, changed_between, git, make_project, site_files, snapshot

from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.publish import PublishOptions, publish

ARTICLE = "content/2024/03/harbour-dredging-plan-approved.md"


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project under git on `main`, with a staged change, an unstaged change and an untracked file."""
    proj = make_project(tmp_path / "project")
    (proj / ".gitignore").write_text("/site/\n/.site.lock\n/.broadsheet-cache/\n", encoding="utf-8")
    git(proj, "init", "--quiet", "--initial-branch=main")
    git(proj, "add", "-A")
    git(proj, "commit", "--quiet", "-m", "content")
    (proj / "notes.txt").write_text("staged, not committed\n", encoding="utf-8")
    git(proj, "add", "notes.txt")
    with (proj / "site.toml").open("a", encoding="utf-8") as handle:
        handle.write('description = "Unstaged edit."\n')
    (proj / "scratch.txt").write_text("untracked\n", encoding="utf-8")
    return proj


def user_state(repo: Path) -> dict[str, str]:
    """Everything about the user's checkout that publishing must leave as it was."""
    return {
        "head": git(repo, "symbolic-ref", "HEAD"),
        "head_commit": git(repo, "rev-parse", "HEAD"),
        "status": git(repo, "status", "--porcelain=v2", "--branch", "--untracked-files=all"),
        "index": (repo / ".git" / "index").read_bytes().hex(),
        "staged": git(repo, "diff", "--cached"),
        "unstaged": git(repo, "diff"),
    }


def bare_repo(path: Path) -> Path:
    git(path.parent, "init", "--quiet", "--bare", path.name)
    return path


def publish_git(project: Path, **options: str | None) -> object:
    return publish(project / "site", PublishOptions("git", **options), project_root=project)  # type: ignore[arg-type]


def branch_tree(repo: Path, branch: str, dest: Path) -> dict[str, bytes]:
    git(dest.parent, "clone", "--quiet", "--branch", branch, str(repo), dest.name)
    return snapshot(dest)


def test_publish_into_bare_repo_holds_the_site_and_leaves_the_checkout_alone(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    build_project(project)
    before = user_state(project)
    refs_before = git(project, "for-each-ref")

    result = publish_git(project, repo=str(remote), cname="news.example.org")

    assert user_state(project) == before
    assert git(project, "for-each-ref") == refs_before  # --repo URL: the project's repository is not involved
    published = branch_tree(remote, "gh-pages", tmp_path / "clone")
    expected = site_files(project / "site")
    assert published.pop(".nojekyll") == b""
    assert published.pop("CNAME") == b"news.example.org\n"
    assert published == expected
    assert "index.html" in published and any(p.startswith("static/style.") for p in published)
    assert git(tmp_path / "clone", "rev-list", "--count", "HEAD") == "1"
    assert result.commit == git(remote, "rev-parse", "gh-pages")  # type: ignore[attr-defined]
    assert git(remote, "log", "-1", "--format=%an <%ae>", "gh-pages") == "Test Author <author@example.org>"


def test_publishing_an_unchanged_site_makes_no_commit(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    build_project(project)
    first = publish_git(project, repo=str(remote))
    tip = git(remote, "rev-parse", "gh-pages")
    build_project(project)  # a rebuild of the same content

    again = publish_git(project, repo=str(remote))

    assert git(remote, "rev-parse", "gh-pages") == tip
    assert git(remote, "rev-list", "--count", "gh-pages") == "1"
    assert again.sent == () and again.commit == tip  # type: ignore[attr-defined]
    assert "up to date" in again.summary  # type: ignore[attr-defined]
    assert len(first.sent) > 100  # type: ignore[attr-defined]


def test_a_changed_article_makes_a_commit_touching_only_the_changed_files(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    build_project(project)
    before = site_files(project / "site")
    publish_git(project, repo=str(remote))
    old_tip = git(remote, "rev-parse", "gh-pages")

    article = project / ARTICLE
    article.write_text(article.read_text("utf-8").replace("about five months", "about six months"), "utf-8")
    build_project(project)
    after = site_files(project / "site")
    result = publish_git(project, repo=str(remote))

    expected = changed_between(before, after)
    assert "2024/03/04/harbour-dredging-plan-approved/index.html" in expected
    assert "index.html" not in expected  # the front page shows the summary, which did not change
    assert len(expected) < len(after) / 5
    touched = git(remote, "diff-tree", "-r", "--name-only", "--no-commit-id", old_tip, "gh-pages").splitlines()
    assert set(touched) == expected
    assert set(result.sent) == expected  # type: ignore[attr-defined]
    assert git(remote, "rev-parse", "gh-pages^") == old_tip  # history continues
    page = git(remote, "show", "gh-pages:2024/03/04/harbour-dredging-plan-approved/index.html")
    assert "about six months" in page


def test_a_dropped_article_is_deleted_from_the_branch(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    build_project(project)
    before = site_files(project / "site")
    publish_git(project, repo=str(remote))

    (project / "content/2024/07/observatory-open-night.md").unlink()
    build_project(project)
    after = site_files(project / "site")
    result = publish_git(project, repo=str(remote))

    gone = set(before) - set(after)
    assert "2024/07/09/observatory-open-night/index.html" in gone
    assert set(result.removed) == gone  # type: ignore[attr-defined]
    assert set(result.sent) == {p for p in after if before.get(p) != after[p]}  # type: ignore[attr-defined]
    on_branch = set(git(remote, "ls-tree", "-r", "--name-only", "gh-pages").splitlines())
    assert on_branch == set(after) | {".nojekyll"}


def test_default_target_is_the_projects_origin(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "origin.git")
    git(project, "remote", "add", "origin", str(remote))
    build_project(project)
    before = user_state(project)

    result = publish_git(project, message="Deploy from test")

    assert user_state(project) == before
    local = git(project, "rev-parse", "refs/heads/gh-pages")
    assert local == git(remote, "rev-parse", "gh-pages") == result.commit  # type: ignore[attr-defined]
    assert git(remote, "log", "-1", "--format=%s", "gh-pages") == "Deploy from test"
    # The site's tree, not the project's: no content/ on the branch.
    listing = git(project, "ls-tree", "--name-only", "gh-pages").splitlines()
    assert "index.html" in listing and "content" not in listing and ".nojekyll" in listing

    # A second publish from a checkout that lost the local branch continues origin's history.
    git(project, "update-ref", "-d", "refs/heads/gh-pages")
    (project / ARTICLE).write_text((project / ARTICLE).read_text("utf-8") + "\nOne more line.\n", "utf-8")
    build_project(project)
    second = publish_git(project)
    assert git(remote, "rev-parse", "gh-pages^") == local
    assert git(project, "rev-parse", "gh-pages") == second.commit  # type: ignore[attr-defined]


def test_without_a_remote_only_the_local_branch_is_updated(project: Path) -> None:
    build_project(project)
    before = user_state(project)

    result = publish_git(project, branch="site-pages")

    assert user_state(project) == before
    assert git(project, "rev-parse", "site-pages") == result.commit  # type: ignore[attr-defined]
    on_branch = set(git(project, "ls-tree", "-r", "--name-only", "site-pages").splitlines())
    assert on_branch == set(site_files(project / "site")) | {".nojekyll"}
    assert "of " not in result.target  # type: ignore[attr-defined]


def test_refuses_to_move_the_branch_that_is_checked_out(project: Path) -> None:
    build_project(project)
    git(project, "commit", "--quiet", "-m", "notes")
    before = git(project, "rev-parse", "main")
    with pytest.raises(BroadsheetError, match="checked out"):
        publish_git(project, branch="main")
    assert git(project, "rev-parse", "main") == before


def test_refuses_a_site_whose_build_had_errors(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    broken = project / "content/2024/07/broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")
    result = build_project(project, keep_going=True)
    assert result.errors

    with pytest.raises(BroadsheetError, match=r"(?s)last build had 1 error.*broken\.md"):
        publish_git(project, repo=str(remote))
    assert git(remote, "for-each-ref") == ""  # nothing was pushed


def test_refuses_the_old_site_after_a_failed_build_until_a_good_one(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    build_project(project)
    broken = project / "content/2024/07/broken.md"
    broken.write_text("---\ntitle: No date\n---\nBody.\n", encoding="utf-8")
    with pytest.raises(BuildFailed):
        build_project(project)
    assert (project / "site" / "index.html").is_file()  # the previous pages are still there ...

    with pytest.raises(BroadsheetError, match="error"):  # ... but they are not what the content says
        publish_git(project, repo=str(remote))

    broken.unlink()
    build_project(project)
    assert publish_git(project, repo=str(remote)).commit  # type: ignore[attr-defined]


def test_refuses_without_a_built_site(project: Path, tmp_path: Path) -> None:
    with pytest.raises(BroadsheetError, match="broadsheet build"):
        publish_git(project, repo=str(bare_repo(tmp_path / "pages.git")))


def test_rejects_a_cname_that_is_not_a_host_name(project: Path, tmp_path: Path) -> None:
    build_project(project)
    with pytest.raises(BroadsheetError, match="bare host name"):
        publish_git(project, repo=str(bare_repo(tmp_path / "pages.git")), cname="https://example.org/")


def test_cli_publish_to_git(project: Path, tmp_path: Path) -> None:
    remote = bare_repo(tmp_path / "pages.git")
    build_project(project)
    env = {**os.environ, **GIT_ENV}
    command = [sys.executable, "-m", "broadsheet", "publish", "--to", "git", "--repo", str(remote), "-m", "CLI deploy"]

    first = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env, check=False)
    second = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env, check=False)

    assert first.returncode == 0, first.stderr
    assert "published to gh-pages" in first.stdout
    assert second.returncode == 0 and "nothing to publish" in second.stdout
    assert git(remote, "log", "--format=%s", "gh-pages") == "CLI deploy"

    wrong = subprocess.run(
        [sys.executable, "-m", "broadsheet", "publish", "--to", str(tmp_path / "www"), "--cname", "x.org"],
        cwd=project, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert wrong.returncode == 1 and "only apply to --to git" in wrong.stderr

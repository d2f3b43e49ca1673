"""site.toml -> SiteConfig: defaults, every setting, and each kind of mistake named precisely."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from buildkit import SiteDirs

from broadsheet.config import SiteConfig, load_config
from broadsheet.errors import BroadsheetError

ARTICLE = {"2024/05/a.md": "---\ntitle: A\ndate: 2024-05-01T23:30:00\n---\nText.\n"}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(root=tmp_path)
    assert config == SiteConfig(root=tmp_path.resolve())
    assert config.base_path == "/"
    assert config.timezone == "UTC" and config.page_size > 0 and config.feed_size > 0
    assert config.path("output_dir") == tmp_path.resolve() / "site"


def test_a_site_builds_with_no_config_at_all(make_site: Callable[..., SiteDirs]) -> None:
    site = make_site(ARTICLE)
    assert site.config is None
    result = site.build()
    assert result.articles == 1
    assert (site.output / "2024/05/01/a/index.html").is_file()
    assert b'href="/2024/05/01/a/"' in (site.output / "index.html").read_bytes()


def test_every_setting_is_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        'title = "The Daily Clip"\ndescription = "Kept."\nbase_url = "https://example.org/news"\n'
        'language = "de"\ntimezone = "Europe/Berlin"\npage_size = 7\nfeed_size = 9\nrelated_count = 0\n'
        'content_dir = "articles"\noutput_dir = "public"\ntemplates_dir = "theme"\n',
    )
    config = load_config(path)
    assert (config.title, config.description, config.language) == ("The Daily Clip", "Kept.", "de")
    assert (config.page_size, config.feed_size, config.related_count) == (7, 9, 0)
    assert config.tz.key == "Europe/Berlin"
    # A sub-path without its trailing slash still gives clean links.
    assert config.base_path == "/news/"
    assert config.site_url == "https://example.org/news/"
    # Folders are relative to the config file, not to the working directory.
    assert config.path("content_dir") == tmp_path.resolve() / "articles"
    assert config.path("output_dir") == tmp_path.resolve() / "public"
    assert config.path("templates_dir") == tmp_path.resolve() / "theme"


def test_config_next_to_content_is_found_from_its_folder(tmp_path: Path) -> None:
    write_config(tmp_path, 'title = "Found"\n')
    assert load_config(root=tmp_path).title == "Found"


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('titel = "x"\n', ["unknown setting", "'titel'"]),
        ('title = "x"\n\npage_size = = 3\n', ["site.toml:3:", "invalid TOML"]),
        ('timezone = "Mars/Olympus_Mons"\n', ["unknown timezone", "Mars/Olympus_Mons"]),
        ('timezone = "../../etc/passwd"\n', ["unknown timezone"]),
        ('page_size = "ten"\n', ["'page_size'", "integer"]),
        ("page_size = true\n", ["'page_size'", "integer"]),
        ("page_size = 0\n", ["page_size", "at least 1"]),
        ("feed_size = -1\n", ["feed_size"]),
        ("related_count = -2\n", ["related_count", "negative"]),
        ('base_url = "news/"\n', ["base_url", "absolute"]),
        ('base_url = "ftp://example.org/"\n', ["base_url"]),
        ("title = 5\n", ["'title'", "string"]),
    ],
)
def test_config_mistakes_name_the_file_and_the_setting(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(BroadsheetError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path.resolve())), message
    for needle in needles:
        assert needle in message, message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(BroadsheetError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(BroadsheetError, match="UTF-8"):
        load_config(path)


def test_timezone_decides_the_day_of_an_article(make_site: Callable[..., SiteDirs]) -> None:
    # 23:30 naive: in Tokyo it stays 1 May; the URL follows the site zone, whatever the machine's.
    tokyo = make_site(ARTICLE, 'timezone = "Asia/Tokyo"\n', name="tokyo")
    tokyo.build()
    assert (tokyo.output / "2024/05/01/a/index.html").is_file()
    # The same instant with an offset, read in a zone ahead of it, moves to the next day.
    shifted = {"2024/05/a.md": "---\ntitle: A\ndate: 2024-05-01T23:30:00+00:00\n---\nText.\n"}
    berlin = make_site(shifted, 'timezone = "Europe/Berlin"\n', name="berlin")
    berlin.build()
    assert (berlin.output / "2024/05/02/a/index.html").is_file()


def test_page_size_and_base_url_reach_the_pages(make_site: Callable[..., SiteDirs]) -> None:
    articles = {f"2024/05/a{i}.md": f"---\ntitle: A{i}\ndate: 2024-05-0{i}\n---\nText.\n" for i in range(1, 6)}
    site = make_site(articles, 'page_size = 2\nbase_url = "https://example.org/deep/path/"\ntitle = "Deep"\n')
    site.build()
    assert (site.output / "page/3/index.html").is_file() and not (site.output / "page/4").exists()
    front = (site.output / "index.html").read_text("utf-8")
    assert 'href="/deep/path/page/2/"' in front
    assert "<title>Deep" in front
    assert 'href="https://example.org/deep/path/"' in front  # canonical

"""Pelican settings for benchmarks/compare.py: the corpus converted to Pelican's metadata format, built with
the default theme (notmyidea) plus prev/next links, with the pages, feeds and page size Broadsheet has."""

AUTHOR = "Broadsheet"
SITENAME = "Broadsheet"
SITEURL = "http://localhost:8000"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
PATH = "content"

# A cold build: no content or template caches read or written.
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False

# The source outlet is the category, so category pages are Broadsheet's source pages.
USE_FOLDER_AS_CATEGORY = False
DEFAULT_CATEGORY = "misc"
SLUGIFY_SOURCE = "basename"

# Broadsheet's URL layout: articles under their day, date archives, one folder per tag/source/author.
ARTICLE_URL = "{date:%Y}/{date:%m}/{date:%d}/{slug}/"
ARTICLE_SAVE_AS = ARTICLE_URL + "index.html"
YEAR_ARCHIVE_URL = "{date:%Y}/"
YEAR_ARCHIVE_SAVE_AS = YEAR_ARCHIVE_URL + "index.html"
MONTH_ARCHIVE_URL = "{date:%Y}/{date:%m}/"
MONTH_ARCHIVE_SAVE_AS = MONTH_ARCHIVE_URL + "index.html"
DAY_ARCHIVE_URL = "{date:%Y}/{date:%m}/{date:%d}/"
DAY_ARCHIVE_SAVE_AS = DAY_ARCHIVE_URL + "index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = TAG_URL + "index.html"
CATEGORY_URL = "sources/{slug}/"
CATEGORY_SAVE_AS = CATEGORY_URL + "index.html"
AUTHOR_URL = "authors/{slug}/"
AUTHOR_SAVE_AS = AUTHOR_URL + "index.html"
TAGS_SAVE_AS = "tags/index.html"
CATEGORIES_SAVE_AS = "sources/index.html"
AUTHORS_SAVE_AS = "authors/index.html"
ARCHIVES_SAVE_AS = "archive/index.html"

# Broadsheet's page_size: the front page and every tag, source and author list, 20 to a page.
DEFAULT_PAGINATION = 20
PAGINATED_TEMPLATES = {"index": None, "tag": None, "category": None, "author": None}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

# Feeds as Broadsheet writes them: the site and each tag, newest 20 entries (Atom, full text).
FEED_ALL_ATOM = "feed.xml"
TAG_FEED_ATOM = "tags/{slug}/feed.xml"
CATEGORY_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
FEED_MAX_ITEMS = 20

# pelican-sitemap (sitemap.xml) and pelican-neighbors (prev/next, shown by overrides/article.html).
PLUGINS = ["pelican.plugins.sitemap", "pelican.plugins.neighbors"]
SITEMAP = {"format": "xml"}
THEME_TEMPLATES_OVERRIDES = ["overrides"]

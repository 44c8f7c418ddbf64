"""The demo news site's articles, read from `articles.toml` and, for crawled pages, the text importer."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from townsquare.importers.text import TextThread, parse_text

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    section: str
    published: str  # ISO date
    byline: str | None
    paragraphs: tuple[str, ...]
    alerts_line: str | None = None
    source: Path | None = None  # a crawled page whose comments come with it

    @property
    def teaser(self) -> str:
        """The opening paragraph for the front page (crawled pages start with an image caption)."""
        return next((p for p in self.paragraphs if len(p.split()) > 12), self.paragraphs[0])

    @property
    def uri(self) -> str:
        """The page path, which the embed uses as the thread URI."""
        return f"/articles/{self.slug}"


@cache
def demo_articles() -> tuple[Article, ...]:
    with (HERE / "articles.toml").open("rb") as f:
        entries = tomllib.load(f)["article"]
    return tuple(_article(e) for e in entries)


def article_by_slug(slug: str) -> Article | None:
    return next((a for a in demo_articles() if a.slug == slug), None)


def seed_thread(article: Article) -> TextThread:
    assert article.source is not None
    return parse_text(article.source)


def _article(entry: dict) -> Article:
    common = {"slug": entry["slug"], "section": entry["section"], "published": entry["published"],
              "byline": entry.get("byline")}
    if "source" in entry:
        source = HERE / entry["source"]
        page = parse_text(source)
        return Article(title=page.title, paragraphs=tuple(page.body_paragraphs), alerts_line=page.alerts_line,
                       source=source, **common)
    paragraphs = tuple(" ".join(p.split()) for p in entry["body"].split("\n\n") if p.strip())
    return Article(title=entry["title"], paragraphs=paragraphs, **common)

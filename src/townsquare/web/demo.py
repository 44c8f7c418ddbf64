"""The demo news site's pages: a front page with comment counts and article pages with the embed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from townsquare.demo import SITE
from townsquare.demo.articles import article_by_slug, demo_articles
from townsquare.web.pages import noscript_html, templates

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def front_page() -> HTMLResponse:
    return HTMLResponse(templates.get_template("demo/index.html").render(articles=demo_articles(), site=SITE))


@router.get("/articles/{slug}", response_class=HTMLResponse)
def article_page(request: Request, slug: str) -> HTMLResponse:
    article = article_by_slug(slug)
    if article is None:
        return HTMLResponse(templates.get_template("demo/not_found.html").render(), status_code=404)
    page = templates.get_template("demo/article.html").render(
        article=article,
        site=SITE,
        noscript=noscript_html(request.app.state.core, SITE, article.uri),
        whatsapp=request.app.state.settings.whatsapp.enabled,
    )
    return HTMLResponse(page)

"""Plain-HTML thread pages, the <noscript> block and the demo site, through the real app on SQLite."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select
from starlette.testclient import TestClient

from townsquare import accounts
from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.demo import load_demo
from townsquare.demo.articles import demo_articles
from townsquare.moderation import actions, queue
from townsquare.moderation.auth import Actor
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import comments, threads
from townsquare.web.pages import noscript_html

SEED = "/articles/putin-accuses-us-of-direct-contacts-with-north-caucasus-militants"
SEED_AUTHORS = ["MirM", "oberts mail", "Jiri Klouda", "oberts mail", "Jiri Klouda", "oberts mail", "Julie Harbinger",
                "Jiri Klouda", "Marcus Grant", "Charles Smyth", "Marcus Grant", "ezimako"]


@pytest.fixture
def demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    settings = load_settings(None, db=url, rate_limits="off", demo=True, alerts={"worker_in_serve": False})
    engine = make_engine(url)
    migrate(engine)
    load_demo(engine, settings)
    with engine.begin() as conn:  # these tests post many similar comments from one address
        site = site_store.by_name(conn, "demo")
        site_store.update_site(conn, site.id, settings={"moderation_rules": {
            "min_submit_seconds": 0, "author_rate": 1000, "ip_rate": 1000, "repeat_window": 0}})
        held = [item["id"] for item in queue.page(conn, frozenset({site.id}), "pending", limit=100).items]
    # The demo holds the seed's hate and insults (test_demo.py); a moderator has approved them
    # here, so the pages show the origin page's whole thread.
    user_id = accounts.create_user(engine, email="mod@demo.example", password="correct horse battery")
    actions.review_many(engine, Actor(user_id, "mod@demo.example", "admin", frozenset({site.id})), "approve", held)
    app = create_app(settings, engine)
    with TestClient(app) as client:
        client.engine, client.core = engine, app.state.core
        yield client
    engine.dispose()


def post(client, uri: str, text: str, parent_id: int | None = None, **author) -> int:
    r = client.post("/api/v1/comments", json={"site": "demo", "uri": uri, "text": text, "parent_id": parent_id,
                                               "author": {"name": "Page Reader", **author}})
    assert r.status_code == 201 and r.json()["comment"]["status"] == "published", r.text
    return r.json()["comment"]["id"]


def doc(response):
    return lxml_html.fromstring(response.text)


def test_thread_page_shows_the_seed_thread_nested(demo):
    r = demo.get("/t/demo" + SEED)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = doc(r)
    assert page.xpath("//ul[@class='comments']//article/header/b/text()") == SEED_AUTHORS
    # depth = the number of <ul> around a comment: five levels, as on the original page
    depths = [len(li.xpath("ancestor::ul")) for li in page.xpath("//ul[@class='comments']//li")]
    assert depths == [1, 1, 2, 3, 4, 5, 5, 5, 2, 1, 2, 1]
    quote = page.xpath("//li[article/header/b='Marcus Grant'][1]//blockquote")[0].text_content()
    assert "oberts mail wrote:" in quote
    assert "12 comments" in page.xpath("//main/p")[0].text_content()
    assert page.xpath("//nav[@aria-label='Sort comments']//a/@href") == [
        "/t/demo" + SEED + "?sort=newest", "/t/demo" + SEED + "?sort=top", "/t/demo" + SEED + "?sort=replies",
        "/t/demo" + SEED + "?sort=picks"]


def test_thread_page_sorts(demo):
    post(demo, SEED, "Thanks for the update on the river road.")
    page = doc(demo.get("/t/demo" + SEED, params={"sort": "newest"}))
    assert page.xpath("//ul[@class='comments']/li[1]//p/text()") == ["Thanks for the update on the river road."]
    assert page.xpath("//strong[@aria-current='true']/text()") == ["Newest"]


def test_thread_page_pages_top_level_comments_and_replies(demo):
    uri = "/long-read"
    first = [post(demo, uri, f"Thanks for the update on the river road, part {i}.") for i in range(1, 53)]
    for i in range(1, 23):
        post(demo, uri, f"Thanks for the update on the river road, answer {i}.", first[0])

    page = doc(demo.get("/t/demo" + uri))
    assert len(page.xpath("//ul[@class='comments']/li")) == 50
    more = page.xpath("//a[contains(., 'more replies')]")[0]
    assert more.text_content().strip() == "2 more replies"
    next_link = page.xpath("//a[@rel='next']/@href")[0]

    second = doc(demo.get(next_link))
    texts = second.xpath("//ul[@class='comments']/li/article/p/text()")
    assert texts == ["Thanks for the update on the river road, part 51.", "Thanks for the update on the river road, part 52."]
    assert second.xpath("//a[@rel='first']/@href") == ["/t/demo" + uri]
    assert second.xpath("//meta[@name='robots']/@content") == ["noindex, follow"]

    replies = doc(demo.get(more.get("href")))
    assert replies.xpath("//ul[@class='comments']/li/article/p/text()") == [
        "Thanks for the update on the river road, answer 21.", "Thanks for the update on the river road, answer 22."]
    assert replies.xpath("//a[contains(., 'Back to the whole discussion')]/@href") == ["/t/demo" + uri]


def test_deep_chains_continue_on_their_own_page(demo):
    uri = "/deep"
    parent = None
    ids = []
    for depth in range(1, 10):
        parent = post(demo, uri, f"Thanks for the update on the river road, level {depth}.", parent)
        ids.append(parent)
    page = doc(demo.get("/t/demo" + uri))
    assert len(page.xpath("//ul[@class='comments']//article")) == 6
    link = page.xpath("//a[starts-with(., 'Continue this thread')]")[0]
    assert link.get("href") == f"/t/demo{uri}?parent={ids[5]}"
    deeper = doc(demo.get(link.get("href")))
    assert deeper.xpath("//ul[@class='comments']//article/p/text()") == [
        f"Thanks for the update on the river road, level {d}." for d in (7, 8, 9)]


def test_user_text_is_escaped_and_only_web_links_are_links(demo):
    name = '<script>alert("name")</script>'
    post(demo, SEED, "<img src=x onerror=alert(1)> [x](javascript:alert(2))", name=name, website="https://example.org/me")
    r = demo.get("/t/demo" + SEED)
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    page = doc(r)
    author = page.xpath("//article/header/b/a[@href='https://example.org/me']")[0]
    assert author.text_content() == name and author.get("rel") == "nofollow ugc noopener"
    assert not [h for h in page.xpath("//main//a/@href") if h.lower().startswith("javascript")]


def test_errors_are_pages_too(demo):
    r = demo.get("/t/nosuchsite/articles/x")
    assert r.status_code == 404 and "There is no site named" in r.text
    r = demo.get("/t/demo" + SEED, params={"cursor": "not-a-cursor"})
    assert r.status_code == 400
    assert doc(r).xpath("//a/@href") == ["/t/demo" + SEED]


def test_noscript_block(demo):
    block = noscript_html(demo.core, "demo", SEED)
    page = lxml_html.fromstring(str(block))
    assert page.xpath("//article/header/b/text()") == SEED_AUTHORS
    assert page.xpath("//a[contains(., 'Read the whole discussion')]/@href") == ["/t/demo" + SEED]
    assert str(noscript_html(demo.core, "nosuchsite", SEED)) == ""


def test_demo_front_page_and_articles(demo):
    front = doc(demo.get("/"))
    marked = front.xpath("//*[@data-townsquare-count]/@data-townsquare-count")
    assert marked == [a.uri for a in demo_articles()]
    assert front.xpath("//script[@src='/count.js']/@data-site") == ["demo"]

    r = demo.get(SEED)
    page = doc(r)
    assert page.xpath("//h1/text()") == ["Putin accuses US of direct contacts with North Caucasus militants"]
    # No WhatsApp account is configured: the box says so instead of offering what cannot be sent.
    assert page.xpath("//aside[@id='news-alerts']//h2/text()") == ["Receive News Alerts"]
    assert "WhatsApp alerts are not set up" in page.xpath("//aside[@id='news-alerts']")[0].text_content()
    assert "+2348136370421" not in r.text
    assert page.xpath("//script[@src='/embed.js']/@data-site") == ["demo"]
    # Inside <noscript> the thread is there for readers without JavaScript and for search engines.
    assert len(re.findall(r"<article>", r.text)) == 13  # the story and its 12 comments
    for article in demo_articles()[1:]:
        other = demo.get(article.uri)
        assert other.status_code == 200 and article.title in other.text
    assert demo.get("/articles/no-such-story").status_code == 404


def test_load_demo_is_idempotent_and_follows_the_port(demo, tmp_path):
    settings = load_settings(None, db="sqlite://", port=8123)
    load_demo(demo.engine, settings)
    load_demo(demo.engine, settings)
    with demo.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(comments)).scalar() == 12
        assert conn.execute(select(func.count()).select_from(threads)).scalar() == 3
        origins = site_store.by_name(conn, "demo").origins
    assert {"http://127.0.0.1:8000", "http://localhost:8000", "http://127.0.0.1:8123", "http://localhost:8123"} <= set(origins)

"""Sites' word lists changed by moderators: the admin page and the moderator API, on the real app
over SQLite and PostgreSQL, and once in a real browser."""

from __future__ import annotations

import html
from dataclasses import asdict
import re

import pytest
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare.moderation import audit
from townsquare.store import sites as site_store

from .conftest import LENIENT
from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, post
from .test_moderation_ui import MODERATOR, chromium, server  # noqa: F401 - fixtures for the browser test

OTHER = "mod@other.example"


@pytest.fixture
def keys(client, engine):
    """API keys of daily's moderator and of a moderator of another site only."""
    add_site(engine, "other")
    _, mine = add_moderator(engine)
    _, theirs = add_moderator(engine, OTHER, sites=("other",))
    return {"mine": mine, "theirs": theirs}


def textarea(text: str, name: str) -> str:
    return html.unescape(re.search(rf'<textarea id="{name}"[^>]*>(.*?)</textarea>', text, re.S).group(1))


def sign_in(client, email="mod@daily.example") -> str:
    """Sign in and answer the CSRF token of the word-lists page."""
    form = client.get("/admin/login")
    resp = client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf": csrf_of(form.text),
                                             "next": "/admin/words"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/words"
    return csrf_of(client.get("/admin/words").text)


def save(client, csrf, banned="", suspect="", site="daily", **extra):
    return client.post("/admin/words", data={"csrf": csrf, "site": site, "banned_words": banned,
                                             "suspect_words": suspect, **extra}, follow_redirects=False)


def stored(engine, site="daily") -> dict:
    with engine.connect() as conn:
        return site_store.by_name(conn, site).settings


def entries(engine) -> list[dict]:
    return [asdict(e) for e in audit.entries(engine, audit.Filters(action="word_lists"))]


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_page_shows_the_lists_and_saving_applies_to_the_next_comment(client, engine, settings, keys):
    assert client.get("/admin/words", follow_redirects=False).status_code == 303  # signed out: to the login
    csrf = sign_in(client)
    page = client.get("/admin/words?site=daily")
    assert 'href="/admin/words"' in page.text and "How entries match" in page.text
    assert textarea(page.text, "banned_words") == "" and textarea(page.text, "suspect_words") == ""

    resp = save(client, csrf, banned="idiot*\n\n  IDIOT* \nmoron\r\n", suspect=" refund \n")
    assert resp.status_code == 303 and "Saved+the+word+lists+of+daily" in resp.headers["location"]
    page = client.get(resp.headers["location"])
    assert "Saved the word lists of daily" in page.text
    assert textarea(page.text, "banned_words") == "idiot*\nmoron"
    assert textarea(page.text, "suspect_words") == "refund"

    # Only the two lists changed: the site's other settings are as they were.
    assert stored(engine) == {"posts_per_minute": 10_000,
                              "moderation_rules": {**LENIENT, "banned_words": ["idiot*", "moron"],
                                                   "suspect_words": ["refund"]}}
    # Another server process (its own app on the same database) applies them to the next comment.
    with TestClient(create_app(settings, engine), base_url="http://testserver") as elsewhere:
        assert post(elsewhere, "What 1d10ts they are.")["moderation"]["status"] == "rejected"
        assert post(elsewhere, "I want a refund, please.")["comment"]["status"] == "pending"
        assert post(elsewhere, "A calm and friendly remark.")["comment"]["status"] == "published"

    [entry] = entries(engine)
    assert (entry["actor"], entry["target"]) == ("mod@daily.example", "site:1")
    assert entry["details"] == {"banned_words_added": ["idiot*", "moron"], "suspect_words_added": ["refund"]}
    save(client, csrf, banned="moron", suspect="refund")
    assert entries(engine)[0]["details"] == {"banned_words_removed": ["idiot*"]}
    save(client, csrf, banned="moron", suspect="refund")  # nothing changed: nothing recorded
    assert len(entries(engine)) == 2
    assert "word_lists" in client.get("/admin/audit?action=word_lists").text


def test_bad_input_comes_back_on_the_page_and_nothing_is_stored(client, engine, keys):
    csrf = sign_in(client)
    before = stored(engine)
    resp = save(client, csrf, banned="fine\nid*iot", suspect="x" * 101)
    assert resp.status_code == 422
    assert "put * only at the start or the end" in html.unescape(resp.text)
    assert "longer than 100 characters" in resp.text
    assert textarea(resp.text, "banned_words") == "fine\nid*iot"  # as typed
    assert stored(engine) == before and entries(engine) == []


def test_the_largest_lists_fit_through_the_page_and_the_api(client, engine, keys):
    """2 × 1,000 entries of 100 characters: the most a site may keep, saved both ways."""
    banned = [f"{n:04d}" + "b" * 96 for n in range(1000)]
    suspect = [f"{n:04d}" + "s" * 96 for n in range(1000)]
    csrf = sign_in(client)
    resp = save(client, csrf, banned="\n".join(banned), suspect="\n".join(suspect))
    assert resp.status_code == 303, resp.text[:300]
    rules = stored(engine)["moderation_rules"]
    assert rules["banned_words"] == banned and rules["suspect_words"] == suspect
    resp = client.put("/api/v1/moderation/sites/daily/words", headers=auth(keys["mine"]),
                      json={"banned_words": suspect, "suspect_words": banned})
    assert resp.status_code == 200, resp.text[:300]
    assert stored(engine)["moderation_rules"]["banned_words"] == suspect


def test_the_form_needs_the_csrf_token(client, engine, keys):
    sign_in(client)
    before = stored(engine)
    assert save(client, "", banned="moron").status_code == 403
    assert save(client, "forged", banned="moron").status_code == 403
    assert stored(engine) == before and entries(engine) == []


def test_a_moderator_of_another_site_is_refused(client, engine, keys):
    csrf = sign_in(client, OTHER)
    page = client.get("/admin/words")
    assert '<input type="hidden" name="site" value="other">' in page.text  # their own site
    assert client.get("/admin/words?site=daily").status_code == 403
    assert save(client, csrf, banned="moron", site="daily").status_code == 403
    assert client.get("/admin/words?site=nowhere").status_code == 404
    assert stored(engine)["moderation_rules"] == LENIENT and entries(engine) == []


def test_api_reads_and_replaces_the_lists(client, engine, keys):
    url = "/api/v1/moderation/sites/daily/words"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth(keys["theirs"])).status_code == 403
    assert client.get("/api/v1/moderation/sites/nowhere/words", headers=auth(keys["mine"])).status_code == 404
    assert client.get(url, headers=auth(keys["mine"])).json() == {"banned_words": [], "suspect_words": []}

    resp = client.put(url, json={"banned_words": ["moron", " moron ", ""], "suspect_words": ["refund*"]},
                      headers=auth(keys["mine"]))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"banned_words": ["moron"], "suspect_words": ["refund*"]}
    assert client.get(url, headers=auth(keys["mine"])).json() == resp.json()
    assert post(client, "Refunds now!")["comment"]["status"] == "pending"
    [entry] = entries(engine)
    assert entry["actor"] == "mod@daily.example" and entry["details"]["suspect_words_added"] == ["refund*"]

    refused = client.put(url, json={"banned_words": ["moron"], "suspect_words": []}, headers=auth(keys["theirs"]))
    assert refused.status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"banned_words": ["a*b"], "suspect_words": []}, "banned_words"),
    ({"banned_words": [], "suspect_words": ["* *"]}, "suspect_words"),
    ({"banned_words": [f"w{n}" for n in range(1001)], "suspect_words": []}, "banned_words"),
    ({"banned_words": ["moron"]}, "suspect_words"),
    ({"banned_words": "moron", "suspect_words": []}, "banned_words"),
])
def test_api_refuses_bad_lists_with_a_problem(client, engine, keys, body, field):
    before = stored(engine)
    resp = client.put("/api/v1/moderation/sites/daily/words", json=body, headers=auth(keys["mine"]))
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["status"] == 422 and field in problem.get("field", "") + str(problem.get("errors", ""))
    assert stored(engine) == before and entries(engine) == []


def test_word_lists_in_a_browser(server, chromium):  # noqa: F811
    base, engine = server
    page = chromium.new_page(base_url=base)
    page.set_default_timeout(15_000)
    page.goto("/admin/words")
    page.fill('input[name="email"]', MODERATOR)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.click("text=Word lists")
    page.wait_for_url("**/admin/words")
    page.fill("#banned_words", "scoundrel*")
    page.click("text=Save")
    page.wait_for_selector(".notice:has-text('Saved the word lists of daily')")
    assert page.input_value("#banned_words") == "scoundrel*"
    with engine.connect() as conn:
        assert site_store.by_name(conn, "daily").settings["moderation_rules"]["banned_words"] == ["scoundrel*"]

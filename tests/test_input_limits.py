"""Input limits: every bad value is a 4xx problem, never a 5xx, on SQLite and PostgreSQL alike.

One test per way a request used to crash the server: a bad cursor on the thread list, ids past
the id columns' range, NUL and other control characters, `true` for an integer, a ban of 2^64
seconds, a signed value other than a form token in an admin form's `csrf`.
"""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare.domain import tree

from .conftest import LENIENT
from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, post

ORIGIN = {"Origin": "https://daily.example"}
# Past PostgreSQL's INTEGER, past SQLite's 64-bit INTEGER, and past both.
BIG_IDS = [2**31, 2**31 + 1, 2**63, 2**64]


@pytest.fixture
def api(engine, settings):
    add_site(engine, moderation_rules=LENIENT)
    _user, key = add_moderator(engine)
    # Server errors come back as answers, as a client would see them, not as test exceptions.
    with TestClient(create_app(settings, engine), base_url="https://testserver", follow_redirects=False,
                    raise_server_exceptions=False) as client:
        client.moderator = {"Authorization": f"Bearer {key}"}
        client.first = post(client, "The first comment.")["comment"]["id"]
        yield client


def refused(resp, *statuses: int) -> dict:
    assert resp.status_code in statuses, (resp.status_code, resp.text)
    assert resp.headers["content-type"] == "application/problem+json"
    return resp.json()


def comment(text="Hello there", **extra) -> dict:
    return {"site": "daily", "uri": "/a", "text": text, "author": {"name": "Ann"}, **extra}


def test_a_bad_cursor_on_the_thread_list_is_a_400(api):
    for cursor in ("garbage!", "bm90IGpzb24", tree.encode_cursor((1.0, 2**40)), tree.encode_cursor((1.0,))):
        problem = refused(api.get("/api/v1/threads", params={"site": "daily", "cursor": cursor}), 400)
        assert problem["field"] == "cursor"
    refused(api.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "cursor": "garbage!"}), 400)
    # An id past the column inside a well-formed cursor of a thread page.
    refused(api.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "cursor": tree.encode_cursor((1.0, 2**63))}), 400)


@pytest.mark.parametrize("big", BIG_IDS)
def test_ids_past_the_column_range_are_refused(api, big):
    auth = {"Authorization": "Bearer not-a-token"}
    refused(api.get(f"/api/v1/comments/{big}", headers=auth), 404, 422)
    refused(api.patch(f"/api/v1/comments/{big}", json={"text": "Changed"}, headers=auth), 404, 422)
    refused(api.delete(f"/api/v1/comments/{big}", headers=auth), 404, 422)
    refused(api.post(f"/api/v1/comments/{big}/vote", json={"value": 1}), 404, 422)
    refused(api.post(f"/api/v1/comments/{big}/report", json={"reason": "spam"}), 404, 422)
    refused(api.post("/api/v1/comments", json=comment(parent_id=big), headers=ORIGIN), 404, 422)
    refused(api.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "parent": big}), 404, 422)
    mod = api.moderator
    for path in ("approve", "reject", "trust"):
        refused(api.post(f"/api/v1/moderation/comments/{big}/{path}", json={"reason": "x"}, headers=mod), 404, 422)
    refused(api.patch(f"/api/v1/moderation/comments/{big}", json={"text": "x"}, headers=mod), 404, 422)
    refused(api.post("/api/v1/moderation/bans", json={"comment_id": big}, headers=mod), 404, 422)
    refused(api.delete(f"/api/v1/moderation/bans/{big}", headers=mod), 404, 422)
    refused(api.post(f"/api/v1/moderation/threads/{big}/close", json={}, headers=mod), 404, 422)
    refused(api.post(f"/api/v1/moderation/threads/{big}/slow-mode", json={"seconds": 5}, headers=mod), 404, 422)
    refused(api.get("/api/v1/moderation/queue", params={"before": big}, headers=mod), 422)
    refused(api.get("/api/v1/moderation/audit", params={"before": big}, headers=mod), 422)
    assert api.get(f"/t/daily/a?parent={big}").status_code in (404, 422)


def test_control_characters_are_refused_everywhere(api):
    for body in (comment("Hi\x00there"), comment(uri="/a\x00"), comment(site="dai\x00ly"),
                 comment(author={"name": "A\x00nn"}), comment(author={"name": "Ann\x01"}),
                 comment(author={"name": "Ann", "email": "ann@x.example\x00"}), comment(title="T\x00")):
        problem = refused(api.post("/api/v1/comments", json=body, headers=ORIGIN), 422)
        assert "Control characters" in problem["detail"]
    refused(api.patch(f"/api/v1/comments/{api.first}", json={"text": "x\x00"}), 422)
    refused(api.post("/api/v1/counts", json={"site": "daily", "uris": ["/a\x00"]}), 422)  # the fast path
    refused(api.post("/api/v1/moderation/check", json={"site": "daily", "text": "Hi\x00"}), 422)
    refused(api.post("/api/v1/privacy/requests", json={"site": "daily", "email": "a@b.example\x00", "action": "export"}), 422)
    refused(api.put("/api/v1/moderation/sites/daily/words", json={"banned_words": ["a\x00"], "suspect_words": []},
                    headers=api.moderator), 422)
    # In the address: query (the fast path's own and the app's) and path.
    for params in ({"site": "daily", "uri": "/a\x00"}, {"site": "dai\x00ly", "uri": "/a"}, {"site": "daily\x00"}):
        refused(api.get("/api/v1/threads", params=params), 422)
    refused(api.get("/api/v1/privacy/authors/export", params={"site": "daily", "email": "a\x00"}, headers=api.moderator), 422)
    refused(api.get("/t/daily/a%00b"), 422)
    refused(api.get("/feeds/dai%00ly/recent.atom"), 422)
    # Text keeps its line breaks and tabs.
    created = api.post("/api/v1/comments", json=comment("Line one\r\nline two\tand\nthree"), headers=ORIGIN)
    assert created.status_code == 201, created.text


def test_values_longer_than_their_columns_are_refused(api):
    # threads.uri holds 1,000 characters; PostgreSQL refuses a longer value rather than cutting it.
    follow = {"site": "daily", "kind": "thread", "address": "reader@daily.example", "uri": "/" + "a" * 1500}
    refused(api.post("/api/v1/subscriptions", json=follow, headers=ORIGIN), 422)
    refused(api.post("/api/v1/comments", json=comment(uri="/" + "a" * 1500), headers=ORIGIN), 422)


def test_fast_path_parameters_are_ascii_digits(api):
    for limit in ("²", "1" * 5000, "-1", "1e3"):
        assert 400 <= api.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "limit": limit}).status_code < 500


def test_json_true_is_not_an_integer(api):
    refused(api.post(f"/api/v1/comments/{api.first}/vote", json={"value": True}), 422)
    refused(api.post(f"/api/v1/comments/{api.first}/vote", json={"value": "1"}), 422)
    refused(api.post("/api/v1/comments", json=comment(parent_id=True), headers=ORIGIN), 422)
    refused(api.post("/api/v1/comments", json=comment(notify_replies=1), headers=ORIGIN), 422)
    assert api.post(f"/api/v1/comments/{api.first}/vote", json={"value": 1}).status_code == 200


@pytest.mark.parametrize("seconds", [2**64, 2**63, 10**12])
def test_ban_seconds_are_bounded(api, seconds):
    refused(api.post("/api/v1/moderation/bans", json={"comment_id": api.first, "seconds": seconds},
                     headers=api.moderator), 422)
    refused(api.post("/api/v1/moderation/bans", json={"kind": "email", "site": "daily", "email": "a@b.example",
                                                       "seconds": seconds}, headers=api.moderator), 422)
    done = api.post("/api/v1/moderation/bans", json={"comment_id": api.first, "kind": "ip", "seconds": 86400},
                    headers=api.moderator)
    assert done.status_code == 201, done.text


def _signed_in(api) -> None:
    form = api.get("/admin/login")
    resp = api.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD,
                                          "csrf": csrf_of(form.text), "next": "/admin/queue/pending"})
    assert resp.status_code == 303


def test_an_admin_form_refuses_any_signed_value_but_its_token(api):
    _signed_in(api)
    core = api.app.state.core
    signer = URLSafeTimedSerializer(core.signer.hash("admin", "session-and-csrf"), salt="townsquare.admin")
    session_cookie = api.cookies.get("ts_admin")
    for csrf in (session_cookie, signer.dumps([1, 2]), signer.dumps(7), signer.dumps({"csrf": 5}), signer.dumps(None)):
        resp = api.post(f"/admin/comments/{api.first}/approve", data={"csrf": csrf, "back": "/admin/queue/pending"})
        assert resp.status_code == 403, resp.text
    # The other way round: a form token as the session cookie is no session.
    fresh = TestClient(api.app, base_url="https://testserver", follow_redirects=False, raise_server_exceptions=False)
    fresh.cookies.set("ts_admin", signer.dumps({"csrf": "x"}))
    assert fresh.get("/admin/queue/pending").status_code == 303
    # Numbers in admin forms are bounded too.
    csrf = csrf_of(api.get("/admin/queue/pending").text)
    for big in BIG_IDS:
        assert api.post(f"/admin/comments/{big}/approve", data={"csrf": csrf}).status_code in (303, 404, 422)
        assert api.post("/admin/bulk", data={"csrf": csrf, "action": "approve", "ids": [big]}).status_code in (303, 422)
        assert api.post(f"/admin/threads/1/slow-mode", data={"csrf": csrf, "seconds": big}).status_code in (303, 422)
    assert api.post("/admin/bans", data={"csrf": csrf, "site": "daily", "email": "a\x00@b.example"}).status_code == 422


def test_the_openapi_document_describes_problem_answers(api):
    spec = api.get("/api/openapi.json").json()
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    answers = spec["paths"]["/api/v1/comments"]["post"]["responses"]
    assert "application/problem+json" in answers["4XX"]["content"] and "422" not in answers
    text = spec["components"]["schemas"]["NewComment"]["properties"]["text"]
    assert text["pattern"] and text["maxLength"] == 1_000_000


def test_a_wrong_method_says_which_are_allowed(api):
    resp = api.request("TRACE", "/api/v1/counts")
    assert resp.status_code == 405 and resp.headers["allow"] == "POST"
    assert resp.headers["content-type"] == "application/problem+json"

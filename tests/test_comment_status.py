"""A comment's status as a state machine: the table itself, and the API paths that follow it."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from townsquare.domain import status
from townsquare.store.moderation import audit_log

from .moderation_support import add_moderator, add_site, moderation_app, post

# Every move the product allows, written out: (actor, from, to). Anything else is refused.
ALLOWED = {
    ("pipeline", None, "published"), ("pipeline", None, "pending"), ("pipeline", None, "rejected"),
    ("author", "published", "pending"),
    ("reports", "published", "pending"),
    ("rescore", "published", "pending"),
    ("moderator", "pending", "published"), ("moderator", "pending", "rejected"),
    ("moderator", "published", "rejected"), ("moderator", "rejected", "published"),
    ("moderator", "published", "pending"), ("moderator", "rejected", "pending"),  # undoing a decision
    ("author", "published", "deleted"), ("author", "pending", "deleted"), ("author", "rejected", "deleted"),
    ("erasure", "published", "deleted"), ("erasure", "pending", "deleted"), ("erasure", "rejected", "deleted"),
}
ACTORS = ("pipeline", "author", "moderator", "reports", "rescore", "erasure")


@pytest.mark.parametrize("actor,old,new", list(itertools.product(ACTORS, (None, *status.STATUSES), status.STATUSES)))
def test_transition_table(actor, old, new):
    expected = old == new or (actor, old, new) in ALLOWED
    assert status.may(actor, old, new) is expected
    if expected:
        status.require(actor, old, new)
    else:
        with pytest.raises(status.TransitionError):
            status.require(actor, old, new)


@pytest.mark.parametrize("old,decided,becomes", [
    ("published", "published", "published"),
    ("published", "pending", "pending"),
    ("published", "rejected", "pending"),  # an edit never rejects outright: a moderator decides
    ("pending", "published", "pending"),  # a held comment stays held, whatever the new words
    ("pending", "pending", "pending"),
    ("pending", "rejected", "pending"),
])
def test_what_an_authors_edit_leads_to(old, decided, becomes):
    assert status.after_author_edit(old, decided) == becomes


@pytest.mark.parametrize("old", ["rejected", "deleted"])
def test_an_author_cannot_edit_a_rejected_or_deleted_comment(old):
    with pytest.raises(status.TransitionError):
        status.after_author_edit(old, "published")


@pytest.fixture
def app_client(engine, settings):
    add_site(engine, posts_per_minute=10_000, moderation_rules={"min_submit_seconds": 0})
    settings = settings.model_copy(update={"trust_proxy_headers": True})
    with TestClient(moderation_app(settings, engine), base_url="http://testserver", client=("127.0.0.1", 50000)) as c:
        yield c


def _post(client, text):
    out = post(client, text, email="ann@readers.example")
    return out["comment"]["id"], {"Authorization": f"Bearer {out['edit_token']}"}


def _audit(engine, comment_id):
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.details)
                            .where(audit_log.c.target == f"comment:{comment_id}").order_by(audit_log.c.id)).all()
    return [(r.action, r.actor) for r in rows]


def test_a_rejected_comment_stays_rejected_and_its_author_is_told_why(app_client, engine):
    _, key = add_moderator(engine)
    cid, token = _post(app_client, "An ordinary remark about the council budget.")
    app_client.post(f"/api/v1/moderation/comments/{cid}/reject", json={"reason": "off topic"},
                    headers={"Authorization": f"Bearer {key}"}).raise_for_status()

    edit = app_client.patch(f"/api/v1/comments/{cid}", json={"text": "Something else entirely."}, headers=token)
    assert edit.status_code == 409 and "not published" in edit.json()["detail"]

    mine = app_client.get(f"/api/v1/comments/{cid}", headers=token).json()
    assert mine["comment"]["status"] == "rejected"
    assert mine["moderation"]["reason"] == "off topic"
    assert app_client.get(f"/api/v1/comments/{cid}").status_code == 401
    thread = app_client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()
    assert thread["total"] == 0


def test_a_reported_comment_stays_held_when_its_author_edits_it(app_client, engine):
    cid, token = _post(app_client, "A perfectly ordinary remark about the weather.")
    for n, ip in enumerate(["1.1.1.1", "2.2.2.2", "3.3.3.3"]):
        app_client.post(f"/api/v1/comments/{cid}/report", json={"reason": "abuse"},
                        headers={"x-forwarded-for": ip}).raise_for_status()
    edit = app_client.patch(f"/api/v1/comments/{cid}", json={"text": "A perfectly ordinary remark."}, headers=token)
    assert edit.status_code == 200, edit.text
    assert edit.json()["comment"]["status"] == "pending"
    labels = [r["label"] for r in edit.json()["moderation"]["reasons"]]
    assert "reported" in labels  # the readers' reports still stand
    assert app_client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()["total"] == 0


def test_an_edit_that_fails_moderation_goes_to_the_queue_and_the_log(app_client, engine):
    _, key = add_moderator(engine)
    cid, token = _post(app_client, "A remark about the train timetable.")
    edit = app_client.patch(f"/api/v1/comments/{cid}", json={"text": "Call me on +2348136370421 about it."},
                            headers=token)
    assert edit.status_code == 200, edit.text
    assert edit.json()["comment"]["status"] == "pending"
    queue = app_client.get("/api/v1/moderation/queue", headers={"Authorization": f"Bearer {key}"}).json()
    assert [i["id"] for i in queue["items"]] == [cid]
    assert _audit(engine, cid) == [("author_edit", "author")]
    assert app_client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()["total"] == 0

    # Editing it back does not publish it: a moderator decides.
    again = app_client.patch(f"/api/v1/comments/{cid}", json={"text": "A remark about the timetable."}, headers=token)
    assert again.json()["comment"]["status"] == "pending"


def test_an_authors_delete_is_logged(app_client, engine):
    cid, token = _post(app_client, "A remark I will take back.")
    assert app_client.delete(f"/api/v1/comments/{cid}", headers=token).status_code == 204
    assert _audit(engine, cid) == [("author_delete", "author")]
    assert app_client.get(f"/api/v1/comments/{cid}", headers=token).json()["comment"]["status"] == "deleted"


def test_a_held_comment_with_published_replies_shows_readers_no_words(app_client, engine):
    words = "A remark the readers went on to report."
    cid, token = _post(app_client, words)
    reply = post(app_client, "A reply that stays published.", parent_id=cid, name="Bo")["comment"]
    for ip in ["1.1.1.1", "2.2.2.2", "3.3.3.3"]:
        app_client.post(f"/api/v1/comments/{cid}/report", json={"reason": "abuse"},
                        headers={"x-forwarded-for": ip}).raise_for_status()

    thread = app_client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()
    held = thread["comments"][0]
    assert held["id"] == cid and held["status"] == "deleted" and held["author"]["name"] != "Ann"
    assert "report" not in held["html"]
    assert [r["id"] for r in held["replies"]] == [reply["id"]]
    page = app_client.get("/t/daily/a")
    assert page.status_code == 200 and "A reply that stays published." in page.text
    assert words not in page.text
    # Its author still sees their own words and that it is held.
    mine = app_client.get(f"/api/v1/comments/{cid}", headers=token).json()
    assert mine["comment"]["status"] == "pending" and "report" in mine["comment"]["html"]

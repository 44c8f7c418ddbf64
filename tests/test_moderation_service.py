"""Moderation through the core and the JSON API on real databases: facts, decisions stored with
comments, the nudge check, reader reports, and the moderator API with its audit log."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pytest
from sqlalchemy import event, select
from starlette.testclient import TestClient

from townsquare.moderation import facts, queue, service
from townsquare.moderation.inputs import Draft
from townsquare.moderation.settings import ModerationRules, ModerationSettings
from townsquare.moderation.toxicity import ToxicityResult
from townsquare.store import comments as comment_store
from townsquare.store import thread_state
from townsquare.store import threads as thread_store
from townsquare.store.alerts import alert_outbox
from townsquare.store.tables import comments, threads

from .moderation_support import add_moderator, add_site, moderation_app, post
from .store_support import insert_comment
from .test_alerts_support import follower

LABELS = {"toxicity", "insult", "identity_attack", "threat", "profanity"}


@pytest.fixture
def app_client(engine, settings):
    add_site(engine, posts_per_minute=10_000)
    # Reports are counted per reader address: let the tests say which address they come from.
    settings = settings.model_copy(update={"trust_proxy_headers": True})
    with TestClient(moderation_app(settings, engine), base_url="http://testserver", client=("127.0.0.1", 50000)) as c:
        yield c


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def thread_row(client, uri="/a"):
    with client.app.state.core.engine.connect() as conn:
        return conn.execute(select(threads).where(threads.c.uri == uri)).mappings().one()


def comment_row(client, comment_id):
    with client.app.state.core.engine.connect() as conn:
        return conn.execute(select(comments).where(comments.c.id == comment_id)).mappings().one()


def test_decision_and_reasons_are_stored_with_the_comment(app_client):
    out = post(app_client, "Call me on +2348136370421 about the article.")
    assert out["comment"]["status"] == "pending"
    decision = orjson.loads(comment_row(app_client, out["comment"]["id"])["moderation"])
    assert decision["decision"] == "hold"
    [reason] = [r for r in decision["reasons"] if r["phase"] == "personal_data"]
    assert reason["label"] == "phone_number" and reason["spans"] == [[11, 25]]
    assert set(decision["scores"]) >= LABELS
    assert thread_row(app_client)["comment_count"] == 0


def test_facts_take_a_constant_number_of_queries(engine):
    site_id = add_site(engine)
    statements = []

    def count(*_args):
        statements.append(1)

    def gather_for_depth(depth: int) -> int:
        with engine.begin() as conn:
            thread = thread_store.get_or_create(conn, site_id, f"/deep{depth}", "", "")
            parent = None
            for i in range(depth):
                parent = insert_comment(conn, {
                    "thread_id": thread.id, "parent_id": parent, "author_name": f"a{i % 2}", "author_key": f"k{depth}-{i % 2}",
                    "text": f"reply {i}", "html": "", "status": "published", "created": 1000.0 + i})
            draft = Draft(text="x", created=2000.0, author_key=f"k{depth}-0", ip_hash="ip", parent_id=parent, thread_id=thread.id)
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                found = facts.gather(conn, site_id=site_id, thread=thread, draft=draft, settings=ModerationSettings())
            finally:
                event.remove(engine, "before_cursor_execute", count)
            assert len(found.ancestors) == depth and found.ancestors[0].id == parent
            assert found.author_total == (depth + 1) // 2
            return len(statements)

    assert gather_for_depth(3) == gather_for_depth(30) <= 8


def test_posts_from_one_address_are_counted_in_the_window_up_to_the_limit(engine):
    site_id = add_site(engine)
    with engine.begin() as conn:
        thread = thread_store.get_or_create(conn, site_id, "/ip", "", "")
        for i, (ip, created) in enumerate([("ip", 1990.0)] * 6 + [("ip", 1000.0), ("other", 1995.0)]):
            insert_comment(conn, {"thread_id": thread.id, "parent_id": None, "author_name": "a",
                                          "ip_hash": ip, "text": f"t{i}", "html": "", "status": "published",
                                          "created": created})
        draft = Draft(text="x", created=2000.0, ip_hash="ip", thread_id=thread.id)

        def counted(limit: int) -> int:
            rules = ModerationSettings(ip_rate=limit, rate_window=60)
            return facts.gather(conn, site_id=site_id, thread=thread, draft=draft, settings=rules).ip_posts

        assert counted(100) == 6  # the old one and the other address's are outside
        assert counted(4) == 4  # enough to decide: no more rows are read than the limit


def test_check_answers_what_a_new_author_would_get(app_client):
    resp = app_client.post("/api/v1/moderation/check", json={"site": "daily", "text": "Thanks, a useful summary."})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["decision"] == "publish" and set(body["scores"]) >= LABELS
    assert all(0 <= v <= 1 for v in body["scores"].values())
    held = app_client.post("/api/v1/moderation/check", json={"site": "daily", "text": "ring +2348136370421"}).json()
    assert held["decision"] == "hold"
    assert {"phase": "personal_data", "label": "phone_number", "spans": [[5, 19]]}.items() <= held["reasons"][0].items()
    missing = app_client.post("/api/v1/moderation/check", json={"site": "nope", "text": "x"})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_reports_hold_a_comment_at_the_threshold(app_client):
    cid = post(app_client, "A perfectly ordinary remark about the weather.")["comment"]["id"]
    assert thread_row(app_client)["comment_count"] == 1
    for ip in ["1.1.1.1", "2.2.2.2"]:
        app_client.headers["x-forwarded-for"] = ip
        resp = app_client.post(f"/api/v1/comments/{cid}/report", json={"reason": "abuse"})
        assert resp.status_code == 200, resp.text
    # The same reader twice counts once.
    assert app_client.post(f"/api/v1/comments/{cid}/report", json={"reason": "spam"}).json()["status"] == "published"
    bad = app_client.post(f"/api/v1/comments/{cid}/report", json={"reason": "boring"})
    assert bad.status_code == 422
    voter = app_client.post(f"/api/v1/comments/{cid}/vote", json={"value": 1}).json()["voter_token"]
    app_client.headers["x-forwarded-for"] = "3.3.3.3"  # a third address (tests/test_anonymous_readers.py)
    third = app_client.post(f"/api/v1/comments/{cid}/report", json={"reason": "hate"},
                            headers={"X-Townsquare-Voter": voter})
    assert third.json()["status"] == "pending"
    row = comment_row(app_client, cid)
    assert row["status"] == "pending"
    assert orjson.loads(row["moderation"])["reasons"][-1]["label"] == "reported"
    assert thread_row(app_client)["comment_count"] == 0


def test_moderator_api_approve_reject_edit_and_audit(app_client, engine):
    _, key = add_moderator(engine)
    held = post(app_client, "Reach me at +2348136370421")["comment"]["id"]
    ok = post(app_client, "An ordinary comment that went straight up.")["comment"]["id"]
    assert app_client.get("/api/v1/moderation/queue").status_code == 401

    queue = app_client.get("/api/v1/moderation/queue", headers=auth(key)).json()
    assert [i["id"] for i in queue["items"]] == [held]
    one_site = app_client.get("/api/v1/moderation/queue", params={"site": "daily"}, headers=auth(key))
    assert one_site.status_code == 200 and [i["id"] for i in one_site.json()["items"]] == [held]
    assert queue["items"][0]["decision"]["reasons"][0]["spans"] == [[12, 26]]

    version = thread_row(app_client)["version"]
    follower(engine, thread_row(app_client)["site_id"], "reader@example.org")  # someone to alert
    with engine.connect() as conn:
        outbox_before = len(conn.execute(select(alert_outbox.c.id)).all())
    resp = app_client.post(f"/api/v1/moderation/comments/{held}/approve", json={}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    row = thread_row(app_client)
    assert row["comment_count"] == 2 and row["version"] > version
    with engine.connect() as conn:
        assert len(conn.execute(select(alert_outbox.c.id)).all()) == outbox_before + 1

    no_reason = app_client.post(f"/api/v1/moderation/comments/{ok}/reject", json={"reason": ""}, headers=auth(key))
    assert no_reason.status_code == 422
    assert app_client.post(f"/api/v1/moderation/comments/{ok}/reject", json={"reason": "off topic"},
                           headers=auth(key)).json()["comment"]["status"] == "rejected"
    assert thread_row(app_client)["comment_count"] == 1

    edited = app_client.patch(f"/api/v1/moderation/comments/{held}", json={"text": "Reach me here", "reason": "phone"},
                              headers=auth(key)).json()["comment"]
    assert edited["html"] == "<p>Reach me here</p>\n"

    log = app_client.get("/api/v1/moderation/audit", headers=auth(key)).json()["entries"]
    assert [(e["action"], e["target"], e["actor"]) for e in log] == [
        ("edit", f"comment:{held}", "mod@daily.example"),
        ("reject", f"comment:{ok}", "mod@daily.example"),
        ("approve", f"comment:{held}", "mod@daily.example"),
    ]
    assert log[1]["reason"] == "off topic"
    only = app_client.get("/api/v1/moderation/audit", params={"action": "reject"}, headers=auth(key)).json()["entries"]
    assert [e["action"] for e in only] == ["reject"]


def test_a_deleted_comment_cannot_be_approved_or_rejected(app_client, engine):
    _, key = add_moderator(engine)
    held = post(app_client, "Reach me at +2348136370421")["comment"]["id"]
    with engine.begin() as conn:
        comment_store.update_comment(conn, held, status="deleted")
    for verb, body in (("approve", {}), ("reject", {"reason": "spam"})):
        resp = app_client.post(f"/api/v1/moderation/comments/{held}/{verb}", json=body, headers=auth(key))
        assert resp.status_code == 409 and resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["detail"] == "This comment was deleted."
    assert comment_row(app_client, held)["status"] == "deleted"
    assert app_client.get("/api/v1/moderation/audit", headers=auth(key)).json()["entries"] == []


def test_api_reads_take_no_write_lock(app_client, engine):
    """The queue, the audit log and the word lists are read without opening a write transaction
    (once the key's last use is recorded, which happens at most once a minute)."""
    _, key = add_moderator(engine)
    assert app_client.get("/api/v1/moderation/queue", headers=auth(key)).status_code == 200
    read_only = []

    def on_begin(conn):
        read_only.append(conn.get_execution_options().get("townsquare_readonly", False))

    event.listen(engine, "begin", on_begin)
    try:
        for path in ("/api/v1/moderation/queue", "/api/v1/moderation/audit", "/api/v1/moderation/sites/daily/words"):
            assert app_client.get(path, headers=auth(key)).status_code == 200, path
    finally:
        event.remove(engine, "begin", on_begin)
    assert read_only and all(read_only)


def test_moderators_act_only_on_their_sites(app_client, engine):
    add_site(engine, "other")
    _, key = add_moderator(engine, "other@x.example", sites=("other",))
    cid = post(app_client, "Reach me at +2348136370421")["comment"]["id"]
    resp = app_client.post(f"/api/v1/moderation/comments/{cid}/approve", json={}, headers=auth(key))
    assert resp.status_code == 403
    assert app_client.get("/api/v1/moderation/queue", headers=auth(key)).json()["items"] == []


def test_ban_trust_close_and_slow_mode(app_client, engine):
    _, key = add_moderator(engine, role="admin")
    first = post(app_client, "First words here.", email="troll@x.example", name="Troll")["comment"]["id"]
    resp = app_client.post("/api/v1/moderation/bans", json={"comment_id": first, "kind": "author", "reason": "abuse"},
                           headers=auth(key))
    assert resp.status_code == 201, resp.text
    banned = post(app_client, "Back again.", email="troll@x.example", name="Troll 2")
    assert banned["moderation"]["status"] == "rejected"
    assert banned["moderation"]["reasons"][0]["label"] == "banned"
    # An e-mail ban from a typed address matches the author key made from the same address.
    app_client.post("/api/v1/moderation/bans", json={"site": "daily", "kind": "email", "email": "Other@X.example",
                                                     "seconds": 3600}, headers=auth(key))
    assert post(app_client, "Hello.", email="other@x.example")["moderation"]["status"] == "rejected"
    ban_id = resp.json()["ban_id"]
    assert app_client.delete(f"/api/v1/moderation/bans/{ban_id}", headers=auth(key)).status_code == 200
    assert post(app_client, "Reformed now.", email="troll@x.example")["comment"]["status"] == "published"

    thread_id = thread_row(app_client)["id"]
    app_client.post(f"/api/v1/moderation/threads/{thread_id}/slow-mode", json={"seconds": 600}, headers=auth(key))
    slowed = post(app_client, "Another thought entirely.", email="troll@x.example")
    assert slowed["moderation"]["status"] == "rejected"
    assert slowed["moderation"]["reasons"][0]["label"] == "slow_mode"

    app_client.post(f"/api/v1/moderation/threads/{thread_id}/close", json={"closed": True}, headers=auth(key))
    assert thread_row(app_client)["closed"]
    actions = [e["action"] for e in app_client.get("/api/v1/moderation/audit", headers=auth(key)).json()["entries"]]
    assert actions == ["close", "slow_mode", "unban", "ban", "ban"]


class HostileWhenAsked:
    """Scores a text hostile when it contains "you fool" (a stand-in scorer for the heat logic only)."""

    def score_many(self, texts, spans=True):
        return [self.score(t) for t in texts]

    def score(self, text):
        hostile = 0.9 if "you fool" in text else 0.02
        scores = {"toxicity": hostile, "insult": hostile, "identity_attack": 0.01, "threat": 0.01, "profanity": 0.01}
        return ToxicityResult(scores, [])


def test_heated_branch_is_flagged_held_and_slowed(engine):
    site_id = add_site(engine)
    rules = ModerationRules(heat_slow_mode=120, hold_thresholds={"threat": 0.99})
    site_settings = SimpleNamespace(moderation="post", min_length=1, max_length=10_000, reports_to_hold=3,
                                    moderation_rules=rules)
    with engine.begin() as conn:
        thread = thread_store.get_or_create(conn, site_id, "/heated", "", "")
    turns = [("A", "you fool, wrong again"), ("B", "no, you fool"), ("A", "you fool, read a book")]
    parent, ids, decisions = None, [], []
    for who, text in turns:
        draft = Draft(text=text, created=1000.0 + len(ids), parent_id=parent, author_name=who, author_key=f"key-{who}",
                      ip_hash=who, thread_id=thread.id)
        with engine.begin() as conn:
            decision = service.decide(conn, site_id=site_id, rules=site_settings, thread=thread, draft=draft,
                                      scorer=HostileWhenAsked())
            parent = insert_comment(conn, {
                "thread_id": thread.id, "parent_id": parent, "author_name": who, "author_key": f"key-{who}",
                "ip_hash": who, "text": text, "html": text, "status": decision.status, "created": 1000.0 + len(ids),
                "moderation": orjson.dumps(decision.as_json()).decode()})
        ids.append(parent)
        decisions.append(decision)
    assert [d.status for d in decisions] == ["published", "published", "pending"]
    [heat] = [r for r in decisions[-1].as_json()["reasons"] if r["phase"] == "heat"]
    assert heat["comments"] == ids[1::-1] and "A and B" in heat["detail"]
    with engine.begin() as conn:
        state = thread_state.get(conn, thread.id)
        assert state.slow_mode == 120 and set(state.heated_comments) == set(ids[:2])
        page = queue.page(conn, frozenset({site_id}), "all")
    assert {i["id"]: i["heated"] for i in page.items} == dict.fromkeys(ids, True)

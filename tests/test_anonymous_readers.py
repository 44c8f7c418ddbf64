"""Anonymous readers on real databases: a vote or a report counts once per comment per address
and per voter token, tokens come only with a vote that counted, and trust and bans follow the
address a comment came from, never the e-mail address its author typed."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from townsquare.store.db import make_engine, migrate
from townsquare.store.moderation import bans, reports, trusted_authors
from townsquare.store.tables import comments, sites, threads, votes

from .conftest import LENIENT
from .moderation_support import ORIGIN, add_moderator, add_site, moderation_app

HOME = "198.51.100.7"  # the trusted author's own address
ELSEWHERE = "203.0.113.66"
OFFICE = "192.0.2.10"  # one address many readers share


@pytest.fixture
def app(engine, settings):
    add_site(engine, "daily", posts_per_minute=10_000, moderation_rules=LENIENT)
    add_site(engine, "pre", posts_per_minute=10_000, moderation="pre", moderation_rules=LENIENT)
    # The reader's address comes from X-Forwarded-For, written by the trusted proxy on loopback,
    # so each request says which address it is.
    settings = settings.model_copy(update={"trust_proxy_headers": True})
    with TestClient(moderation_app(settings, engine), base_url="http://testserver",
                    client=("127.0.0.1", 50000)) as c:
        yield c


def post(client, text, *, address, site="daily", email=None, uri="/a") -> dict:
    author = {"name": "Ann", **({"email": email} if email else {})}
    resp = client.post("/api/v1/comments", json={"site": site, "uri": uri, "text": text, "author": author},
                       headers={**ORIGIN, "X-Forwarded-For": address})
    assert resp.status_code == 201, resp.text
    out = resp.json()
    # A rejected comment shows as a placeholder; the decision says what became of it.
    return {**out["comment"], "status": (out["moderation"] or {}).get("status", out["comment"]["status"])}


def vote(client, comment_id, value, *, address, token=None):
    headers = {"X-Forwarded-For": address, **({"X-Townsquare-Voter": token} if token else {})}
    resp = client.post(f"/api/v1/comments/{comment_id}/vote", json={"value": value}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp


def report(client, comment_id, *, address, token=None) -> str:
    headers = {"X-Forwarded-For": address, **({"X-Townsquare-Voter": token} if token else {})}
    resp = client.post(f"/api/v1/comments/{comment_id}/report", json={"reason": "abuse"}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["status"]


def tokens_from(client, address, n) -> list[str]:
    """Voter tokens one address collects by voting on n comments of their own thread."""
    found = []
    for i in range(n):
        cid = post(client, f"Filler {i}", address=address, uri=f"/filler-{address}-{i}")["id"]
        found.append(vote(client, cid, 1, address=address).json()["voter_token"])
    assert len(set(found)) == n and all(found)
    return found


def test_sixty_likes_from_one_address_without_a_token_count_once(app):
    cid = post(app, "Like me", address=HOME)["id"]
    answers = [vote(app, cid, 1, address=OFFICE) for _ in range(60)]
    assert [a.json()["likes"] for a in answers] == [1] * 60
    first, *rest = answers
    assert first.json()["counted"] and first.json()["voter_token"] == first.headers["x-townsquare-voter"]
    # A vote that did not count brings no token, so there is nothing to vote again with.
    assert all(not a.json()["counted"] and a.json()["voter_token"] is None for a in rest)
    assert all("x-townsquare-voter" not in a.headers for a in rest)
    with app.app.state.core.engine.connect() as conn:
        assert conn.execute(select(comments.c.likes).where(comments.c.id == cid)).scalar_one() == 1
        assert len(conn.execute(select(votes.c.voter).where(votes.c.comment_id == cid)).all()) == 1
        # No address is stored as it came: only a keyed hash, different for every comment.
        assert OFFICE not in str(conn.execute(select(votes)).all())


def test_a_withdrawal_without_a_token_gets_no_token(app):
    cid = post(app, "Zero", address=HOME)["id"]
    resp = vote(app, cid, 0, address=OFFICE)
    assert resp.json()["voter_token"] is None and "x-townsquare-voter" not in resp.headers
    assert resp.json()["counted"] is False and resp.json()["votes"] == 0


def test_fresh_tokens_from_one_address_count_once(app):
    cid = post(app, "Target", address=HOME)["id"]
    first, second, third = tokens_from(app, OFFICE, 3)
    assert vote(app, cid, 1, address=OFFICE, token=first).json()["counted"]
    for token in (second, third):
        assert vote(app, cid, 1, address=OFFICE, token=token).json() | {"voter_token": None} == {
            "id": cid, "votes": 1, "likes": 1, "dislikes": 0, "value": None, "counted": False, "voter_token": None}
    # The vote that counted belongs to its token, wherever its holder goes next.
    assert vote(app, cid, -1, address=ELSEWHERE, token=first).json()["votes"] == -1
    # Another address is another reader.
    assert vote(app, cid, -1, address=HOME).json()["votes"] == -2
    assert vote(app, cid, 0, address=OFFICE, token=first).json()["votes"] == -1


def test_three_tokens_from_one_address_cannot_hold_a_comment_three_addresses_can(app):
    cid = post(app, "An ordinary remark about the weather.", address=HOME)["id"]
    for token in tokens_from(app, OFFICE, 3):
        assert report(app, cid, address=OFFICE, token=token) == "published"
    assert report(app, cid, address=OFFICE) == "published"
    assert report(app, cid, address="192.0.2.11") == "published"
    assert report(app, cid, address="192.0.2.12") == "pending"
    with app.app.state.core.engine.connect() as conn:
        assert len(conn.execute(select(reports.c.id).where(reports.c.comment_id == cid)).all()) == 3


def test_an_impostor_typing_a_trusted_e_mail_is_held_on_a_pre_moderated_site(app, engine):
    _, key = add_moderator(engine, role="admin")
    mine = post(app, "First words from the regular.", address=HOME, site="pre", email="regular@x.example")
    assert mine["status"] == "pending"
    resp = app.post(f"/api/v1/moderation/comments/{mine['id']}/trust", json={"trusted": True},
                    headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.text
    assert post(app, "Back again.", address=HOME, site="pre", email="regular@x.example")["status"] == "published"
    impostor = post(app, "Pretending to be the regular.", address=ELSEWHERE, site="pre", email="regular@x.example")
    assert impostor["status"] == "pending"
    # The queue marks the trusted address's comments, not every comment signed with the e-mail.
    items = {i["id"]: i["author"]["trusted"]
             for i in app.get("/api/v1/moderation/queue", headers={"Authorization": f"Bearer {key}"}).json()["items"]}
    assert items == {mine["id"]: True, impostor["id"]: False}


def test_trust_by_e_mail_from_before_is_not_honoured(app, engine):
    signer = app.app.state.core.signer
    with engine.begin() as conn:
        site_id = conn.execute(select(sites.c.id).where(sites.c.name == "pre")).scalar_one()
        conn.execute(insert(trusted_authors).values(site_id=site_id, kind="email", created=0.0,
                                                    author_key=signer.hash("email", "regular@x.example")))
    assert post(app, "Hello.", address=HOME, site="pre", email="regular@x.example")["status"] == "pending"


def test_an_established_e_mail_skips_new_author_holds_only_from_its_address(engine, settings):
    add_site(engine, "daily", posts_per_minute=10_000, moderation_rules={**LENIENT, "new_author_holds": 1})
    _, key = add_moderator(engine, role="admin")
    settings = settings.model_copy(update={"trust_proxy_headers": True})
    with TestClient(moderation_app(settings, engine), base_url="http://testserver",
                    client=("127.0.0.1", 50000)) as app:
        first = post(app, "My first comment here.", address=HOME, email="regular@x.example")
        assert first["status"] == "pending"
        approved = app.post(f"/api/v1/moderation/comments/{first['id']}/approve", json={},
                            headers={"Authorization": f"Bearer {key}"})
        assert approved.status_code == 200, approved.text
        assert post(app, "My second comment.", address=HOME, email="regular@x.example")["status"] == "published"
        assert post(app, "Not really the regular.", address=ELSEWHERE, email="regular@x.example")["status"] == "pending"


def test_a_ban_from_a_comment_follows_its_address_an_e_mail_ban_still_refuses(app, engine):
    _, key = add_moderator(engine, role="admin")
    auth = {"Authorization": f"Bearer {key}"}
    troll = post(app, "Trolling.", address=ELSEWHERE, email="victim@x.example")
    resp = app.post("/api/v1/moderation/bans", json={"comment_id": troll["id"], "kind": "author"}, headers=auth)
    assert resp.status_code == 201, resp.text
    with engine.connect() as conn:
        assert conn.execute(select(bans.c.kind)).scalars().all() == ["ip"]
    # Whatever the troll types, their address is banned; the owner of the e-mail they typed is not.
    assert post(app, "Again.", address=ELSEWHERE, email="someone@x.example")["status"] == "rejected"
    assert post(app, "It was not me.", address=HOME, email="victim@x.example")["status"] == "published"
    app.post("/api/v1/moderation/bans", json={"site": "daily", "kind": "email", "email": "victim@x.example"},
             headers=auth)
    assert post(app, "Now banned by e-mail.", address=HOME, email="victim@x.example")["status"] == "rejected"


def test_the_migration_keeps_earlier_votes_and_trust(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0002_outbox_subscription_ix")
        site_id = add_site(engine, "daily")
        with engine.begin() as conn:
            thread_id = conn.execute(insert(threads).values(site_id=site_id, uri="/a", title="", url="", created=0.0,
                                                            comment_count=1)).inserted_primary_key[0]
            cid = conn.execute(insert(comments).values(thread_id=thread_id, author_name="a", text="t", html="t",
                                                       status="published", created=0.0, likes=2,
                                                       dislikes=0)).inserted_primary_key[0]
            for voter in ("v1", "v2"):
                conn.execute(insert(votes).values(comment_id=cid, voter=voter, value=1, created=0.0))
            conn.execute(insert(trusted_authors).values(site_id=site_id, author_key="k", created=0.0))
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(select(votes.c.voter, votes.c.address)).all() == [("v1", None), ("v2", None)]
            assert conn.execute(select(trusted_authors.c.kind)).scalar_one() == "email"
    finally:
        engine.dispose()

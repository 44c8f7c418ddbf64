"""Verified readers on real databases: the publisher's sign-on tokens (and the forged, expired,
other-site and unsigned ones refused with nothing stored), sessions and sign-out, comments by
signed-in readers, and moderation keyed on the identity rather than an address or a typed e-mail."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from townsquare.store.tables import comments, identities, reader_sessions

from .conftest import LENIENT
from .moderation_support import ORIGIN, add_moderator, add_site, moderation_app

SECRET = "publisher-shared-secret-of-at-least-32-chars"
HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.66"


def sso_token(sub="u-1", name="Mia Editor", *, site="daily", secret=SECRET, badges=("staff",), exp_in=600,
              iat_shift=0, alg="HS256", **extra) -> str:
    claims = {"sub": sub, "name": name, "aud": site, "iat": int(time.time()) + iat_shift,
              "exp": int(time.time()) + exp_in, "badges": list(badges), **extra}
    return jwt.encode(claims, secret, algorithm=alg)


@pytest.fixture
def app(engine, settings):
    add_site(engine, "daily", posts_per_minute=10_000, moderation_rules=LENIENT, sso_secret=SECRET)
    add_site(engine, "pre", posts_per_minute=10_000, moderation="pre", moderation_rules=LENIENT, sso_secret=SECRET)
    add_site(engine, "other", posts_per_minute=10_000, moderation_rules=LENIENT, sso_secret=SECRET + "-other")
    settings = settings.model_copy(update={"trust_proxy_headers": True})
    with TestClient(moderation_app(settings, engine), base_url="http://testserver",
                    client=("127.0.0.1", 50000)) as c:
        yield c


def sign_in(app, token, site="daily"):
    return app.post("/api/v1/auth/sso", json={"site": site, "token": token})


def session_of(app, **claims) -> str:
    resp = sign_in(app, sso_token(**claims), claims.get("site", "daily"))
    assert resp.status_code == 200, resp.text
    return resp.json()["session_token"]


def post(app, text, *, session=None, address=HOME, site="daily", email=None, name="Ann", expect=201, **extra):
    author = {"name": name, **({"email": email} if email else {})}
    headers = {**ORIGIN, "X-Forwarded-For": address}
    if session:
        headers["X-Townsquare-Session"] = session
    resp = app.post("/api/v1/comments", json={"site": site, "uri": "/a", "text": text, "author": author, **extra},
                    headers=headers)
    assert resp.status_code == expect, resp.text
    out = resp.json()
    if "comment" in out:
        # A rejected comment shows as a placeholder; the decision says what became of it.
        out["status"] = (out["moderation"] or {}).get("status", out["comment"]["status"])
    return out


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(identities)).scalar_one(),
                conn.execute(select(func.count()).select_from(reader_sessions)).scalar_one())


def test_a_signed_token_signs_in_and_only_the_token_hash_is_kept(app, engine):
    resp = sign_in(app, sso_token(email="mia@daily.example"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["user"] == {"id": body["user"]["id"], "name": "Mia Editor", "verified": True, "badges": ["staff"],
                            "kind": "sso"}
    with engine.connect() as conn:
        stored = conn.execute(select(reader_sessions.c.id)).scalars().all()
        subject = conn.execute(select(identities.c.subject)).scalar_one()
    assert len(stored) == 1 and stored[0] != body["session_token"] and body["session_token"] not in stored[0]
    assert subject == "u-1"
    me = app.get("/api/v1/auth/session", headers={"X-Townsquare-Session": body["session_token"]})
    assert me.status_code == 200 and me.json()["user"]["name"] == "Mia Editor" and me.json()["site"] == "daily"


@pytest.mark.parametrize("token", [
    pytest.param(lambda: sso_token(secret="not-the-publisher-secret-but-long-enough"), id="forged"),
    pytest.param(lambda: sso_token(exp_in=-3600), id="expired"),
    pytest.param(lambda: sso_token(site="other"), id="other-site"),
    pytest.param(lambda: sso_token(iat_shift=3600), id="issued-in-the-future"),
    pytest.param(lambda: jwt.encode({"sub": "u-1", "name": "Mia", "aud": "daily", "iat": int(time.time()),
                                     "exp": int(time.time()) + 600}, None, algorithm="none"), id="alg-none"),
    pytest.param(lambda: sso_token(alg="HS512"), id="other-algorithm"),
    pytest.param(lambda: jwt.encode({"sub": "u-1", "name": "Mia", "aud": "daily", "iat": int(time.time())},
                                    SECRET, algorithm="HS256"), id="no-exp"),
    pytest.param(lambda: sso_token(badges=("owner",)), id="unknown-badge"),
    pytest.param(lambda: sso_token(name=""), id="no-name"),
    pytest.param(lambda: "not.a.jwt", id="malformed"),
])
def test_refused_tokens_get_a_401_problem_and_store_nothing(app, engine, token):
    resp = sign_in(app, token())
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["detail"].startswith(("The sign-on token", "'", "Unknown badge"))
    assert counts(engine) == (0, 0)


def test_a_site_without_a_secret_refuses_sign_on(engine, settings):
    add_site(engine, "plain", moderation_rules=LENIENT)
    with TestClient(moderation_app(settings, engine)) as app:
        resp = sign_in(app, sso_token(site="plain"), "plain")
    assert resp.status_code == 403 and "sso_secret" in resp.json()["detail"]


def test_a_signed_in_reader_posts_as_verified_with_badges_and_guests_are_not(app):
    session = session_of(app)
    mine = post(app, "Signed in and posting.", session=session, name="Someone Else")
    assert mine["comment"]["author"] == {"name": "Mia Editor", "website": None, "verified": True, "badges": ["staff"],
                                         "id": mine["comment"]["author"]["id"]}
    guest = post(app, "A guest's words.")
    assert guest["comment"]["author"]["verified"] is False and guest["comment"]["author"]["badges"] == []
    thread = app.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()
    authors = {c["id"]: c["author"] for c in thread["comments"]}
    assert authors[mine["comment"]["id"]]["verified"] is True
    assert authors[mine["comment"]["id"]]["badges"] == ["staff"]
    assert authors[guest["comment"]["id"]] == {"name": "Ann", "website": None, "verified": False, "badges": [], "id": None}


def test_the_author_edits_and_deletes_from_another_device_while_signed_in(app):
    first_device = session_of(app)
    cid = post(app, "Typed on the phone.", session=first_device)["comment"]["id"]
    second_device = session_of(app)
    edited = app.patch(f"/api/v1/comments/{cid}", json={"text": "Fixed on the laptop."},
                       headers={**ORIGIN, "X-Townsquare-Session": second_device})
    assert edited.status_code == 200, edited.text
    assert "laptop" in edited.json()["comment"]["html"]
    # Another reader's session is not the author's.
    stranger = session_of(app, sub="u-2", name="Someone")
    assert app.delete(f"/api/v1/comments/{cid}", headers={**ORIGIN, "X-Townsquare-Session": stranger}).status_code == 401
    assert app.delete(f"/api/v1/comments/{cid}", headers={**ORIGIN, "X-Townsquare-Session": second_device}).status_code == 204


def test_sign_out_revokes_this_session_and_sign_out_everywhere_all(app):
    phone, laptop, tablet = session_of(app), session_of(app), session_of(app)
    assert app.post("/api/v1/auth/signout", headers={"X-Townsquare-Session": phone}).json() == {"signed_out": 1}
    refused = post(app, "After signing out.", session=phone, expect=401)
    assert "session has ended" in refused["detail"]
    assert app.get("/api/v1/auth/session", headers={"X-Townsquare-Session": phone}).status_code == 401
    assert post(app, "Still signed in here.", session=laptop)["comment"]["author"]["verified"] is True
    everywhere = app.post("/api/v1/auth/signout/everywhere", headers={"X-Townsquare-Session": laptop})
    assert everywhere.json() == {"signed_out": 2}
    for token in (laptop, tablet):
        assert app.get("/api/v1/auth/session", headers={"X-Townsquare-Session": token}).status_code == 401


def test_a_session_of_another_site_does_not_post_here(app):
    other = session_of(app, site="other", secret=SECRET + "-other")
    assert "another site" in post(app, "Cross-site.", session=other, expect=401)["detail"]


def test_a_site_requiring_identity_tells_guests_how_to_sign_in(engine, settings):
    add_site(engine, "members", moderation_rules=LENIENT, sso_secret=SECRET, require_identity="sso")
    with TestClient(moderation_app(settings, engine)) as app:
        resp = app.post("/api/v1/comments", json={"site": "members", "uri": "/a", "text": "Guest here.",
                                                  "author": {"name": "Guest"}})
        assert resp.status_code == 401
        assert "sign in" in resp.json()["detail"] and resp.json()["require_identity"] == "sso"
        session = session_of(app, site="members")
        ok = app.post("/api/v1/comments", json={"site": "members", "uri": "/a", "text": "Member here.",
                                                "author": {}}, headers={"X-Townsquare-Session": session})
        assert ok.status_code == 201, ok.text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(comments)).scalar_one() == 1


def test_a_guest_typing_a_trusted_members_e_mail_gets_nothing_of_theirs(app, engine):
    _, key = add_moderator(engine, role="admin", sites=("daily", "pre"))
    member = session_of(app, site="pre", email="member@x.example", badges=())
    mine = post(app, "A member's first comment.", session=member, site="pre", email="member@x.example")
    assert mine["status"] == "pending"
    resp = app.post(f"/api/v1/moderation/comments/{mine['comment']['id']}/trust", json={"trusted": True},
                    headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.text
    # Trusted as a reader: published from anywhere.
    assert post(app, "From a café.", session=member, site="pre", address=ELSEWHERE)["status"] == "published"
    # A guest typing the member's e-mail, even from the member's own address, is not trusted.
    impostor = post(app, "Pretending.", site="pre", email="member@x.example", address=HOME, name="Member")
    assert impostor["status"] == "pending"
    assert impostor["comment"]["author"]["verified"] is False
    # Nor does the guest share the member's history: their comments have another author key.
    with engine.connect() as conn:
        keys = dict(conn.execute(select(comments.c.id, comments.c.author_key)).all())
    assert keys[impostor["comment"]["id"]] != keys[mine["comment"]["id"]]
    queue = app.get("/api/v1/moderation/queue", headers={"Authorization": f"Bearer {key}"}).json()["items"]
    # The queue marks the member's comment trusted, not the one signed with their e-mail.
    assert {i["id"]: i["author"]["trusted"] for i in queue} == {mine["comment"]["id"]: True,
                                                                impostor["comment"]["id"]: False}


def test_a_ban_from_a_signed_in_readers_comment_follows_the_identity(app, engine):
    _, key = add_moderator(engine, role="admin")
    troll = session_of(app, sub="troll", name="Troll", badges=())
    cid = post(app, "Trolling.", session=troll)["comment"]["id"]
    resp = app.post("/api/v1/moderation/bans", json={"comment_id": cid, "kind": "author"},
                    headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 201, resp.text
    assert post(app, "Again, from elsewhere.", session=troll, address=ELSEWHERE)["status"] == "rejected"
    # The address it came from is not banned: another reader there posts.
    assert post(app, "A neighbour.", address=HOME)["status"] == "published"


def test_a_staff_badge_skips_moderation_only_where_the_site_allows(engine, settings):
    add_site(engine, "pre", moderation="pre", moderation_rules=LENIENT, sso_secret=SECRET)
    add_site(engine, "pre2", moderation="pre", moderation_rules=LENIENT, sso_secret=SECRET,
             staff_skip_moderation=True)
    with TestClient(moderation_app(settings, engine)) as app:
        held = post(app, "Staff on a strict site.", session=session_of(app, site="pre"), site="pre")
        skipped = post(app, "Staff where allowed.", session=session_of(app, site="pre2"), site="pre2")
        reader = post(app, "Subscriber where allowed.", session=session_of(app, site="pre2", sub="u-9",
                                                                           badges=("subscriber",)), site="pre2")
    assert (held["status"], skipped["status"], reader["status"]) == ("pending", "published", "pending")


def test_the_plain_thread_page_marks_verified_readers_in_words(app):
    post(app, "Verified words.", session=session_of(app))
    post(app, "Guest words.", name="Gus")
    page = app.get("/t/daily/a")
    assert page.status_code == 200
    html = page.text
    mine = html[html.index("Mia Editor"):html.index("Verified words.")]
    assert "✓ verified reader, staff" in mine
    guest = html[html.index("Gus"):html.index("Guest words.")]
    assert "verified" not in guest


def test_after_signing_out_the_edit_token_still_proves_authorship(app):
    session = session_of(app)
    posted = post(app, "Posted while signed in.", session=session)
    app.post("/api/v1/auth/signout", headers={"X-Townsquare-Session": session})
    resp = app.patch(f"/api/v1/comments/{posted['comment']['id']}", json={"text": "Fixed with the edit token."},
                     headers={**ORIGIN, "X-Townsquare-Session": session,
                              "Authorization": f"Bearer {posted['edit_token']}"})
    assert resp.status_code == 200, resp.text


def test_the_queue_page_offers_the_signed_in_reader_to_trust_and_ban(app, engine):
    from .moderation_support import PASSWORD, csrf_of

    add_moderator(engine, role="admin", sites=("pre",))
    member = post(app, "A member's words.", session=session_of(app, site="pre", badges=()), site="pre")
    guest = post(app, "A guest's words.", site="pre")
    form = app.get("/admin/login")
    app.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD, "csrf": csrf_of(form.text)})
    html = app.get("/admin/queue/pending", params={"site": "pre"}).text
    mine = html[html.index(f'id="c{member["comment"]["id"]}"'):]
    mine = mine[:mine.index("</article>")]
    theirs = html[html.index(f'id="c{guest["comment"]["id"]}"'):]
    theirs = theirs[:theirs.index("</article>")]
    assert "signed in" in mine and 'value="identity"' in mine and "Trust author (signed-in reader)" in mine
    assert 'value="email"' not in mine  # a member's comment has no typed e-mail to ban by
    assert 'value="identity"' not in theirs and "Trust author (their address)" in theirs

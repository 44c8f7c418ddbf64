"""Personal data of one author: export as JSON and erasure (delete or anonymise)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, insert, select

from tests.test_import_support import (
    FIXTURES,
    SECRET,
    SIGNER,
    all_threads,
    by_author,
    run_import,
    sqlite_database,
    stored,
)
from townsquare import privacy
from townsquare.store import sites as site_store
from townsquare.store import comments as comment_store
from townsquare.store import thread_events as thread_event_store
from townsquare.store.tables import thread_events
from townsquare.store.alerts import alert_outbox, alert_subscriptions
from townsquare.store.moderation import audit_log


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_database(tmp_path)
    with engine.begin() as conn:
        site_store.create(conn, "blog", "Blog", [], {})
    run_import(engine, "disqus", FIXTURES / "disqus.xml")
    run_import(engine, "wxr", FIXTURES / "wordpress.xml", site="blog")
    with engine.begin() as conn:
        sub = conn.execute(insert(alert_subscriptions).values(
            site_id=1, kind="reply", channel="email", target="MirM@Example.org", scope="comment:1",
            delivery="immediate", confirmed=1.0, consent='{"source": "form"}', created=1.0)).inserted_primary_key[0]
        conn.execute(insert(alert_outbox).values(
            key="k1", site_id=1, kind="reply", channel="email", target="MirM@Example.org", subscription_id=sub,
            status="pending", attempts=0, next_attempt_at=1.0, cursor=0, created=1.0))
        conn.execute(insert(alert_subscriptions).values(
            site_id=1, kind="news", channel="email", target="someone@example.org", scope="",
            delivery="daily", confirmed=1.0, consent="{}", created=1.0))
    yield engine
    engine.dispose()


def test_export_holds_the_authors_comments_and_subscriptions_only(engine):
    with engine.connect() as conn:
        data = privacy.export_author(conn, SIGNER, "  MIRM@example.org ")
    assert data["email"] == "mirm@example.org"
    assert [c["author"]["name"] for c in data["comments"]] == ["MirM"]
    assert data["comments"][0]["thread"]["uri"] == "/world/putin-documentary/" and data["comments"][0]["site"] == "news"
    assert [(s["kind"], s["scope"]) for s in data["subscriptions"]] == [("reply", "comment:1")]
    assert data["account"] is None


def test_export_can_be_limited_to_one_site(engine):
    with engine.connect() as conn:
        assert privacy.export_author(conn, SIGNER, "ohai@example.org", site_id=1)["comments"] == []
        assert len(privacy.export_author(conn, SIGNER, "ohai@example.org", site_id=2)["comments"]) == 1


def test_erasure_by_deletion(engine):
    before = {t["uri"]: t for t in all_threads(engine)}
    with engine.begin() as conn:
        done = privacy.erase_author(conn, SIGNER, "mirm@example.org", mode="delete")
    assert done == {"comments": 1, "votes": 0, "subscriptions": 1, "identities": 0}
    people = by_author(stored(engine))
    assert "MirM" not in people
    erased = [r for r in stored(engine) if r["author_name"] == privacy.DELETED_NAME and r["edited"]]
    assert len(erased) == 1
    row = erased[0]
    assert (row["status"], row["text"], row["html"], row["author_email"], row["author_key"], row["ip_hash"]) == (
        "deleted", "", "", None, None, None)
    assert people["Jiří Klouda"]["parent_id"] == row["id"]  # the reply keeps its place
    page = {t["uri"]: t for t in all_threads(engine)}["/world/putin-documentary/"]
    assert page["comment_count"] == before["/world/putin-documentary/"]["comment_count"] - 1
    assert page["version"] > before["/world/putin-documentary/"]["version"]
    with engine.connect() as conn:
        assert conn.execute(select(alert_subscriptions.c.target)).scalars().all() == ["someone@example.org"]
        assert conn.execute(select(func.count()).select_from(alert_outbox)).scalar() == 0
        assert privacy.export_author(conn, SIGNER, "mirm@example.org")["comments"] == []


def test_erasure_by_anonymisation_keeps_the_words(engine):
    with engine.begin() as conn:
        privacy.erase_author(conn, SIGNER, "ohai@example.org", mode="anonymise")
    row = [r for r in stored(engine) if "Turnout looks" in r["text"]][0]
    assert row["author_name"] == privacy.ANONYMOUS_NAME and row["status"] == "published"
    assert row["author_email"] is None and row["author_website"] is None and row["ip_hash"] is None
    blog = {t["uri"]: t for t in all_threads(engine)}["/2024/11/election-night/"]
    assert blog["comment_count"] == 2


def test_votes_proven_by_the_author_are_removed(engine):
    target = by_author(stored(engine))["Late"]
    with engine.begin() as conn:
        comment_store.set_vote(conn, target["id"], voter="voter-1", address="address-1", value=1)
        comment_store.set_vote(conn, target["id"], voter="voter-2", address="address-2", value=-1)
        comment_store.set_vote(conn, target["id"], voter="voter-3", address="address-3", value=1)
    with engine.begin() as conn:
        done = privacy.erase_author(conn, SIGNER, "nobody@example.org", mode="delete", voters=("voter-1", "voter-2"))
    assert done["votes"] == 2
    row = by_author(stored(engine))["Late"]
    assert (row["likes"], row["dislikes"]) == (1, 0)


# -- the API: staff with a key, authors with a signed link ---------------------------------------------
@pytest.fixture
def api(engine):
    from starlette.testclient import TestClient

    from townsquare.accounts import create_user
    from townsquare.app import create_app
    from townsquare.config import load_settings
    from townsquare.moderation.auth import create_api_key

    settings = load_settings(None, environ={}, db=str(engine.url), secret=SECRET, public_url="https://comments.example")
    user_id = create_user(engine, email="editor@news.example", password="correct horse battery", role="admin")
    with engine.begin() as conn:
        key = create_api_key(conn, user_id, "privacy tests")
    app = create_app(settings, engine)
    with TestClient(app, base_url="http://testserver") as c:
        yield c, {"Authorization": f"Bearer {key}"}


def test_staff_export_and_erase_need_a_key(api, engine):
    c, headers = api
    assert c.get("/api/v1/privacy/authors/export", params={"site": "news", "email": "mirm@example.org"}).status_code == 401
    r = c.get("/api/v1/privacy/authors/export", params={"site": "news", "email": "mirm@example.org"}, headers=headers)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert [x["author"]["name"] for x in r.json()["comments"]] == ["MirM"]
    r = c.post("/api/v1/privacy/authors/erase", json={"site": "news", "email": "mirm@example.org", "mode": "anonymise"},
               headers=headers)
    assert r.json() == {"erased": {"comments": 1, "votes": 0, "subscriptions": 1, "identities": 0}}
    assert "MirM" not in by_author(stored(engine))
    with engine.connect() as conn:
        logged = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.target, audit_log.c.details)
                              .order_by(audit_log.c.id)).all()
    assert [(a, who) for a, who, _, _ in logged] == [("privacy_export", "editor@news.example"),
                                                     ("privacy_erase", "editor@news.example")]
    assert all(t.startswith("author:") and "mirm" not in t for _, _, t, _ in logged)  # no address in the log
    assert orjson.loads(logged[1][3])["mode"] == "anonymise"


def test_the_sites_erasure_setting_is_the_default(api, engine):
    c, headers = api
    with engine.begin() as conn:
        site = site_store.by_name(conn, "news")
        site_store.update_site(conn, site.id, settings={**site.settings, "erasure": "anonymise"})
    before = by_author(stored(engine))["MirM"]
    r = c.post("/api/v1/privacy/authors/erase", json={"site": "news", "email": "mirm@example.org"}, headers=headers)
    assert r.status_code == 200
    after = next(row for row in stored(engine) if row["id"] == before["id"])
    assert after["text"] == before["text"] and after["status"] == before["status"]  # the words stay...
    assert after["author_name"] != "MirM" and after["author_email"] is None  # ...unsigned


def test_author_gets_a_signed_link_by_mail_and_erases_after_confirming(api, engine):
    c, _ = api
    r = c.post("/api/v1/privacy/requests", json={"site": "news", "email": "MirM@example.org", "action": "erase"})
    assert r.status_code == 202
    with engine.connect() as conn:
        row = conn.execute(select(alert_outbox).where(alert_outbox.c.kind == "privacy")).mappings().one()
    assert row["target"] == "mirm@example.org" and row["channel"] == "email"
    url = orjson.loads(row["payload"])["url"]
    assert url.startswith("https://comments.example/api/v1/privacy/erase?token=")
    token = url.split("token=", 1)[1]
    page = c.get("/api/v1/privacy/erase", params={"token": token})
    assert page.status_code == 200 and "<form" in page.text
    assert "MirM" in by_author(stored(engine))  # opening the link erased nothing
    assert c.get("/api/v1/privacy/export", params={"token": token}).status_code == 401  # an erase link exports nothing
    done = c.post("/api/v1/privacy/erase", data={"token": token})
    assert done.status_code == 200 and "1 comment(s) deleted" in done.text
    assert "MirM" not in by_author(stored(engine))
    assert c.post("/api/v1/privacy/erase", data={"token": token + "x"}).status_code == 401
    with engine.connect() as conn:  # the statuses it changed are in the audit log, by author key
        logged = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.target)).all()
    assert [(a, who) for a, who, _ in logged] == [("privacy_erase", "author")]
    assert "mirm" not in logged[0][2].lower()


def test_author_export_link(api, engine):
    c, _ = api
    c.post("/api/v1/privacy/requests", json={"site": "news", "email": "mirm@example.org", "action": "export"})
    with engine.connect() as conn:
        payload = conn.execute(select(alert_outbox.c.payload).where(alert_outbox.c.kind == "privacy")).scalar_one()
    token = orjson.loads(payload)["url"].split("token=", 1)[1]
    data = c.get("/api/v1/privacy/export", params={"token": token}).json()
    assert data["email"] == "mirm@example.org" and len(data["comments"]) == 1 and len(data["subscriptions"]) == 1


@pytest.mark.parametrize("mode", ["delete", "anonymise"])
def test_erasure_removes_the_comments_live_events(engine, mode):
    """A live event keeps a comment's public shape (its author's name and words) for the
    retention window; erasing the author removes those events at once."""
    mine = next(r for r in stored(engine) if r["author_name"] == "MirM")
    other = next(r for r in stored(engine) if r["author_name"] != "MirM")
    with engine.begin() as conn:
        for row in (mine, other):
            thread_event_store.append(conn, row["thread_id"], "comment",
                                      {"id": row["id"], "author": {"name": row["author_name"]}, "html": row["html"]})
        thread_event_store.append(conn, mine["thread_id"], "status", {"closed": True})
    with engine.begin() as conn:
        privacy.erase_author(conn, SIGNER, "mirm@example.org", mode=mode)
    with engine.connect() as conn:
        left = conn.execute(select(thread_events.c.comment_id, thread_events.c.kind)).all()
    # Deleted, the comment leaves open streams with a `delete` event: its id, nothing of its author.
    gone = [(mine["id"], "delete")] if mode == "delete" and mine["status"] == "published" else []
    assert sorted(left, key=str) == sorted([(other["id"], "comment"), (None, "status"), *gone], key=str)

"""Email alerts through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from townsquare.alerts import events, outbox, subscriptions
from townsquare.store import sites as site_store
from townsquare.store import comments as comment_store
from townsquare.store import threads as thread_store
from townsquare.store.tables import comments as comments_table
from townsquare.store.alerts import alert_outbox
from townsquare.store.db import make_engine, migrate, now
from townsquare.alerts.worker import Worker

from tests.test_alerts_support import (
    SmtpSink, config, core_for, deliver_all, follower, free_port, make_site, post, sqlite_engine, statuses,
)

READERS = ["ann@example.org", "bob@example.org", "cy@example.org"]


@pytest.fixture
def setup(db_url):
    """SQLite and PostgreSQL (conftest's `db_url`)."""
    engine = make_engine(db_url)
    migrate(engine)
    site = make_site(engine)
    core = core_for(engine, db_url)
    yield engine, site, core
    engine.dispose()


async def test_smtp_down_then_back_every_alert_arrives_once(setup):
    engine, site, core = setup
    port = free_port()
    cfg = config(port)
    for reader in READERS:
        follower(engine, site.id, reader)
    first = post(core, "A thoughtful article, thank you.")
    post(core, "The documentary airs in western Russia this evening.", parent_id=first["id"], name="Jiri Klouda")

    worker = Worker(engine, cfg)
    for _ in range(4):  # expand both fan-outs, then try to deliver while no server listens
        await worker.run_once()
    down = statuses(engine)
    assert down.get("pending") == 2 * len(READERS) and "sent" not in down
    with engine.connect() as conn:
        errors = conn.execute(select(alert_outbox.c.last_error, alert_outbox.c.attempts)
                              .where(alert_outbox.c.channel == "email")).all()
    assert all("unavailable" in e.last_error and e.attempts >= 1 for e in errors)

    sink = SmtpSink(port).start()
    try:
        await deliver_all(engine, cfg)
    finally:
        sink.stop()
    assert statuses(engine) == {"sent": 2 * len(READERS)}
    for reader in READERS:
        got = sink.to(reader)
        assert len(got) == 2
        assert len({m["Message-ID"] for m in got}) == 2
        assert {m["Subject"] for m in got} == {
            "New comment by MirM on “Putin accuses US”", "New comment by Jiri Klouda on “Putin accuses US”"}
    # Every message is delivered under its own idempotency key.
    with engine.connect() as conn:
        keys = set(conn.execute(select(alert_outbox.c.key).where(alert_outbox.c.channel == "email")).scalars())
    assert {m["Message-ID"].strip("<>").split("@")[0] for m in sink.messages} == keys


async def test_message_format_one_click_unsubscribe_and_both_parts(setup):
    engine, site, core = setup
    sink = SmtpSink().start()
    cfg = config(sink.port)
    follower(engine, site.id, "ann@example.org")
    post(core, "A thoughtful article, thank you for the **careful** reporting.")
    try:
        await deliver_all(engine, cfg)
    finally:
        sink.stop()
    [msg] = sink.to("ann@example.org")
    assert msg["From"] == "News <alerts@daily.example>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = msg["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://testserver/alerts/unsubscribe?token=")
    sub_id = cfg.links.read_unsubscribe(url.split("token=")[1])
    assert sub_id > 0
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "careful reporting" in text and "https://daily.example/2015/putin#comment-" in text
    assert "careful reporting" in html and url in html


async def test_reply_alert_goes_to_the_parent_author_only_not_to_repliers_themselves(setup):
    engine, site, core = setup
    sink = SmtpSink().start()
    cfg = config(sink.port)
    parent = post(core, "Where can I watch the documentary?", name="oberts mail",
                  email_address="oberts@example.org")
    with engine.begin() as conn:
        subscribed = subscriptions.subscribe_replies(conn, site_id=site.id, comment_id=parent["id"],
                                                     email="oberts@example.org", now=now())
    assert subscribed.state == "confirming"
    try:
        await deliver_all(engine, cfg)  # only the confirmation goes out
        [confirmation] = sink.to("oberts@example.org")
        assert confirmation["Subject"] == "Confirm your alerts from Daily"
        assert "List-Unsubscribe" not in confirmation
        post(core, "It is on Rossiya 1 tonight.", parent_id=parent["id"], name="Jiri Klouda")
        await deliver_all(engine, cfg)
        assert len(sink.to("oberts@example.org")) == 1, "nothing before the confirmation link is followed"

        token = confirmation.get_body(("plain",)).get_content().split("token=")[1].split()[0]
        with engine.begin() as conn:
            subscriptions.confirm(conn, cfg.links.read_confirm(token), now=now())
        post(core, "It was also shown in the far east already.", parent_id=parent["id"], name="Marcus Grant")
        # The parent's author answering in their own thread gets no alert about it.
        post(core, "Thank you both for the answers.", parent_id=parent["id"], name="oberts mail", email_address="oberts@example.org")
        await deliver_all(engine, cfg)
    finally:
        sink.stop()
    got = sink.to("oberts@example.org")
    assert [m["Subject"] for m in got[1:]] == ["Marcus Grant replied to your comment on “Putin accuses US”"]


async def test_held_comment_alerts_only_once_approved_and_never_if_rejected(tmp_path):
    engine = sqlite_engine(tmp_path)
    with engine.begin() as conn:
        site = site_store.by_id(conn, site_store.create(conn, "daily", "Daily", ["*"], {"moderation": "pre"}))
    core = core_for(engine, str(engine.url))
    sink = SmtpSink().start()
    cfg = config(sink.port)
    follower(engine, site.id, "ann@example.org")
    follower(engine, site.id, "mod@daily.example", kind="moderator")
    approved = post(core, "A thoughtful article, thank you.")
    rejected = post(core, "Another calm remark about the broadcast schedule.")
    # The core queued moderator alerts for both (events.comment_held), nothing for readers.
    assert approved["status"] == rejected["status"] == "pending"
    try:
        await deliver_all(engine, cfg)
        assert sink.to("ann@example.org") == []
        held = sink.to("mod@daily.example")
        assert len(held) == 2
        assert "http://testserver/admin/queue/pending?site=daily" in held[0].get_body(("plain",)).get_content()

        with engine.begin() as conn:  # a moderator approves one and rejects the other
            conn.execute(update(comments_table).where(comments_table.c.id == approved["id"]).values(status="published"))
            conn.execute(update(comments_table).where(comments_table.c.id == rejected["id"]).values(status="rejected"))
            comment = comment_store.by_id(conn, approved["id"])
            events.comment_published(conn, site=site, thread=thread_store.by_id(conn, comment.thread_id),
                                     comment=comment)
            with pytest.raises(ValueError):
                events.comment_published(conn, site=site, thread=thread_store.by_id(conn, comment.thread_id),
                                         comment=comment_store.by_id(conn, rejected["id"]))
        await deliver_all(engine, cfg)
    finally:
        sink.stop()
    [alert] = sink.to("ann@example.org")
    assert "A thoughtful article, thank you." in alert.get_body(("plain",)).get_content()
    assert len(sink.to("mod@daily.example")) == 2
    engine.dispose()


async def test_comment_removed_before_delivery_sends_nothing(setup):
    engine, site, core = setup
    sink = SmtpSink().start()
    cfg = config(sink.port)
    follower(engine, site.id, "ann@example.org")
    c = post(core, "A thoughtful article, thank you.")
    with engine.begin() as conn:
        conn.execute(update(comments_table).where(comments_table.c.id == c["id"]).values(status="rejected"))
    try:
        await deliver_all(engine, cfg)
    finally:
        sink.stop()
    assert sink.messages == []
    assert statuses(engine) == {"cancelled": 1}


async def test_daily_digest_groups_a_readers_alerts_into_one_message(setup):
    engine, site, core = setup
    sink = SmtpSink().start()
    cfg = config(sink.port)
    follower(engine, site.id, "ann@example.org", delivery="daily")
    follower(engine, site.id, "bob@example.org")
    for text in ("First comment", "Second comment", "Third comment"):
        post(core, text)
    try:
        await deliver_all(engine, cfg)
        assert len(sink.to("bob@example.org")) == 3 and sink.to("ann@example.org") == []
        with engine.begin() as conn:  # the digest's hour has come
            conn.execute(update(alert_outbox).where(alert_outbox.c.digest == "daily").values(next_attempt_at=now() - 1))
        await deliver_all(engine, cfg)
    finally:
        sink.stop()
    [digest] = sink.to("ann@example.org")
    assert digest["Subject"] == "3 new alerts from Daily"
    body = digest.get_body(("plain",)).get_content()
    assert all(t in body for t in ("First comment", "Second comment", "Third comment"))
    assert statuses(engine) == {"sent": 6}


async def test_file_backend_writes_a_mailbox_for_demos(setup, tmp_path):
    import mailbox

    engine, site, core = setup
    cfg = config(free_port())
    box_path = tmp_path / "mail" / "alerts.mbox"
    cfg = type(cfg)(email=cfg.email.model_copy(update={"backend": "file", "mailbox": box_path}),
                    whatsapp=cfg.whatsapp, alerts=cfg.alerts, links=cfg.links)
    follower(engine, site.id, "ann@example.org")
    post(core, "A thoughtful article, thank you.")
    await deliver_all(engine, cfg)
    [msg] = list(mailbox.mbox(box_path))
    assert msg["To"] == "ann@example.org"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert statuses(engine) == {"sent": 1}


async def test_direct_messages_of_other_parts_go_out_without_a_subscription(setup):
    engine, site, core = setup
    sink = SmtpSink().start()
    url = "http://testserver/api/v1/privacy/export?token=abc"
    with engine.begin() as conn:  # as the personal-data requests do
        outbox.enqueue(conn, key=f"privacy:{site.id}:export:0123abcd:493000", site_id=site.id, kind="privacy",
                       channel="email", target="ann@example.org", now=now(),
                       payload={"subject": "Your data on Daily", "url": url,
                                "text": f"Someone asked to download your data.\n\nFollow this link:\n{url}"})
    try:
        await deliver_all(engine, config(sink.port))
    finally:
        sink.stop()
    [msg] = sink.to("ann@example.org")
    assert msg["Subject"] == "Your data on Daily"
    assert msg["Message-ID"] == f"<privacy-{site.id}-export-0123abcd-493000@daily.example>"
    assert "List-Unsubscribe" not in msg
    assert url in msg.get_body(("plain",)).get_content()
    assert f'<a href="{url.replace("&", "&amp;")}">' in msg.get_body(("html",)).get_content()

"""`export --all` → `import` moves an installation: SQLite to PostgreSQL, and everything besides the
discussions (instance secret, accounts, subscriptions, bans, trusted authors, webhooks, audit log)
arrives, pointing at the same comments and threads, and a second import changes nothing."""

from __future__ import annotations

import stat

import orjson
from typer.testing import CliRunner

from tests.test_export import populated
from townsquare import accounts
from townsquare.cli import app
from townsquare.config import load_settings
from townsquare.instance_secret import instance_secret
from townsquare.moderation import audit
from townsquare.store import bans, subscriptions, threads, trusted, webhooks
from townsquare.store import export as export_store
from townsquare.store import sites as site_store
from townsquare.store.audit import Filters
from townsquare.store.db import make_engine, reading
from townsquare.store.tables import comments as comments_table

runner = CliRunner()
PASSWORD = "correct horse battery"


def with_everything(tmp_path):
    engine = populated(tmp_path)
    url = str(engine.url)
    secret = instance_secret(load_settings(None, environ={}, db=url), engine)
    accounts.create_user(engine, email="admin@news.example", password=PASSWORD, name="Ada")
    accounts.create_user(engine, email="mod@news.example", password=PASSWORD, role="moderator", site_names=("news",))
    with engine.begin() as conn:
        site = site_store.by_name(conn, "news")
        site_store.update_site(conn, site.id, api_key_hash="ab" * 32)
        admin = export_store.accounts(conn)[0]
        thread = next(export_store.site_threads(conn, site.id))
        comment = export_store.thread_comments(conn, thread.id)[0]
        consent = orjson.dumps({"source": "web"}).decode()
        subscriptions.ensure(conn, site_id=site.id, kind="thread", channel="email", target="reader@example.org",
                             scope=f"thread:{thread.id}", delivery="daily", consent=consent, now=100.0, confirmed=101.0)
        subscriptions.ensure(conn, site_id=site.id, kind="reply", channel="email", target="author@example.org",
                             scope=f"comment:{comment.id}", delivery="immediate", consent=consent, now=102.0,
                             confirmed=None)
        hook = webhooks.add(conn, site_id=site.id, url="https://cms.example/hook", now=103.0)
        webhooks.add_secret(conn, hook, "whsec_" + "x" * 32, now=103.0)
        subscriptions.ensure(conn, site_id=site.id, kind="moderator", channel="webhook", target=str(hook), scope="",
                             delivery="immediate", consent="{}", now=103.0, confirmed=103.0)
        ban = bans.add(conn, site_id=site.id, kind="author", value="k" * 64, reason="spam", created=104.0,
                       expires=None, created_by=admin.id)
        trusted.set_trusted(conn, site_id=site.id, kind="ip", value="t" * 64, trusted=True, at=105.0, by=admin.id)
        for target, action in ((f"comment:{comment.id}", "reject"), (f"thread:{thread.id}", "close"),
                               (f"ban:{ban}", "ban"), (f"site:{site.id}", "site_settings"), ("comment:999999", "edit")):
            audit.record(conn, site_id=site.id, user_id=admin.id, actor=admin.email, action=action, target=target,
                         reason="r", details={"n": 1})
    engine.dispose()
    return url, secret, comment


def export_all(db: str, path) -> str:
    r = runner.invoke(app, ["export", "--all", "--db", db, "-o", str(path)])
    assert r.exit_code == 0, r.output
    return r.output


def test_move_from_sqlite_to_postgresql(tmp_path, pg_url):
    source, secret, comment = with_everything(tmp_path)
    first = tmp_path / "all.jsonl"
    said = export_all(source, first)
    assert "Keep this file private" in said and "2 accounts" in said
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    types = {orjson.loads(line)["type"] for line in first.read_bytes().splitlines()}
    assert {"instance", "account", "subscription", "ban", "trusted", "webhook", "audit", "site_key"} <= types

    r = runner.invoke(app, ["import", "jsonl", str(first), "--db", pg_url])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert ("Also restored: 2 account, 5 audit, 1 ban, 1 site_key, 2 subscription, 1 trusted, 1 webhook" in said
            and "Already there" not in said), said
    second = tmp_path / "again.jsonl"
    export_all(pg_url, second)
    assert second.read_bytes() == first.read_bytes()

    engine = make_engine(pg_url)
    try:
        # The same secret: author keys, bans and voter ids keep matching; moderators sign in as before.
        assert instance_secret(load_settings(None, environ={}, db=pg_url), engine) == secret
        with reading(engine) as conn:
            hashed = {a.email: a for a in export_store.accounts(conn)}
            site = site_store.by_name(conn, "news")
            log = {e.action: e for e in audit_store_entries(conn)}
            target = int(log["reject"].target.split(":")[1])
            moved = conn.execute(comments_table.select().where(comments_table.c.id == target)).mappings().one()
            thread_id = int(log["close"].target.split(":")[1])
            assert threads.by_id(conn, thread_id) is not None
            assert bans.get(conn, int(log["ban"].target.split(":")[1])).reason == "spam"
            assert webhooks.active_secrets(conn, {w.id for w in webhooks.for_site(conn, site.id)}, now=200.0)
        assert accounts.verify_password(hashed["mod@news.example"].password_hash, PASSWORD)
        assert hashed["mod@news.example"].sites == ("news",)
        assert (moved["text"], moved["created"]) == (comment.text, comment.created)
        assert log["site_settings"].target == f"site:{site.id}" and log["edit"].target == "comment:#999999"
        assert site.api_key_hash == "ab" * 32

        # Importing the same file again adds nothing.
        r = runner.invoke(app, ["import", "jsonl", str(first), "--db", pg_url])
        assert r.exit_code == 0, r.output
        said = " ".join(r.output.split())
        assert "Nothing else to restore. Already there (left as they are): 2 account, 5 audit, 1 ban, 1 site_key, " \
               "2 subscription, 1 trusted, 1 webhook" in said, said
        export_all(pg_url, second)
        assert second.read_bytes() == first.read_bytes()
    finally:
        engine.dispose()


def audit_store_entries(conn):
    from townsquare.store.audit import entries

    return entries(conn, Filters(limit=1000))


def test_plain_export_holds_no_secrets(tmp_path):
    source, secret, _ = with_everything(tmp_path)
    r = runner.invoke(app, ["export", "--db", source, "-o", str(tmp_path / "plain.jsonl")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "plain.jsonl").read_text()
    assert secret not in text and "argon2" not in text and "whsec_" not in text
    r = runner.invoke(app, ["export", "--all", "--format", "disqus", "--site", "news", "--db", source])
    assert r.exit_code == 1 and "--all" in r.output

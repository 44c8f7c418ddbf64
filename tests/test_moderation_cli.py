"""`townsquare moderation api-key` and `townsquare moderation check`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from townsquare import accounts
from townsquare.cli import app
from townsquare.moderation import auth
from townsquare.store import queries
from townsquare.store.db import make_engine, migrate


def test_api_key_and_check(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        queries.create_site(conn, "daily", "Daily", [], {})
    accounts.create_user(engine, email="mod@daily.example", password="long enough pw", role="admin")
    runner = CliRunner()

    made = runner.invoke(app, ["moderation", "api-key", "mod@daily.example", "--db", url])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    with engine.begin() as conn:
        assert auth.api_key_actor(conn, key).email == "mod@daily.example"
    unknown = runner.invoke(app, ["moderation", "api-key", "nobody@x.example", "--db", url])
    assert unknown.exit_code == 1

    checked = runner.invoke(app, ["moderation", "check", "--site", "daily", "--db", url, "call +2348136370421"])
    assert checked.exit_code == 0, checked.output
    out = json.loads(checked.stdout)
    assert out["decision"] == "hold" and out["reasons"][0]["spans"] == [[5, 19]]
    assert runner.invoke(app, ["moderation", "check", "--site", "nope", "--db", url, "x"]).exit_code == 1
    engine.dispose()


def test_rescore_updates_scores_and_holds_what_now_crosses_a_threshold(tmp_path):
    from sqlalchemy import select

    from townsquare.store.moderation import audit_log
    from townsquare.store.tables import comments, threads

    url = f"sqlite:///{tmp_path}/rescore.db"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        site_id = queries.create_site(conn, "daily", "Daily", [], {})
        thread = queries.get_or_create_thread(conn, site_id, "/a", "A", "")
        texts = ["Thanks, a clear and useful article.", "You are a pathetic idiot and everyone knows it.",
                 "The council meets again on Tuesday."]
        for i, text in enumerate(texts):
            # Stored as published with no scores: as if posted before the model existed.
            queries.insert_comment(conn, {"thread_id": thread["id"], "author_name": f"A{i}", "text": text,
                                          "html": f"<p>{text}</p>", "status": "published", "created": 1.0 + i,
                                          "likes": 0, "dislikes": 0, "moderation": None})
            queries.touch_thread(conn, thread["id"], 1)
    runner = CliRunner()
    dry = runner.invoke(app, ["moderation", "rescore", "--site", "daily", "--db", url])
    assert dry.exit_code == 0, dry.output
    assert "rescored 3 comments" in dry.stdout and "1 at or over a hold threshold; 0 sent" in dry.stdout
    with engine.connect() as conn:
        stored = conn.execute(select(comments.c.text, comments.c.status, comments.c.moderation)).all()
    assert all(json.loads(m)["scores"].keys() >= {"toxicity", "insult"} for _, _, m in stored)
    assert {s for _, s, _ in stored} == {"published"}

    held = runner.invoke(app, ["moderation", "rescore", "--site", "daily", "--hold", "--db", url])
    assert held.exit_code == 0 and "1 sent to the queue" in held.stdout
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(comments.c.text, comments.c.status)).all())
        count = conn.execute(select(threads.c.comment_count)).scalar_one()
        logged = conn.execute(select(audit_log.c.action, audit_log.c.actor)).all()
    assert statuses[texts[1]] == "pending" and statuses[texts[0]] == statuses[texts[2]] == "published"
    assert count == 2 and logged == [("rescore_hold", "rescore")]
    assert runner.invoke(app, ["moderation", "rescore", "--site", "nope", "--db", url]).exit_code == 1
    engine.dispose()

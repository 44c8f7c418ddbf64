"""`townsquare moderation api-key`, `check`, `eval` and `rescore`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from townsquare import accounts
from townsquare.cli import app
from townsquare.moderation import auth
from townsquare.store import sites as site_store
from townsquare.store import comments as comment_store
from townsquare.store import threads as thread_store
from .store_support import insert_comment
from townsquare.store.db import make_engine, migrate


def test_api_key_and_check(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        site_store.create(conn, "daily", "Daily", [], {})
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
        site_id = site_store.create(conn, "daily", "Daily", [], {})
        thread = thread_store.get_or_create(conn, site_id, "/a", "A", "")
        texts = ["Thanks, a clear and useful article.", "You are a pathetic idiot and everyone knows it.",
                 "The council meets again on Tuesday."]
        for i, text in enumerate(texts):
            # Stored as published with no scores: as if posted before the model existed.
            insert_comment(conn, {"thread_id": thread.id, "author_name": f"A{i}", "text": text,
                                          "html": f"<p>{text}</p>", "status": "published", "created": 1.0 + i,
                                          "likes": 0, "dislikes": 0, "moderation": None})
            thread_store.touch(conn, thread.id, 1)
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


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_eval_prints_the_figures_and_what_the_sites_limits_decide(tmp_path):
    url = f"sqlite:///{tmp_path}/eval.db"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        site_store.create(conn, "strict", "Strict", [], {"moderation_rules": {"hold_thresholds": {"toxicity": 0}}})
    engine.dispose()
    csv_file = write(tmp_path / "rows.csv", "text,label,category\n"
                     "You are a pathetic idiot and everyone knows it.,1,insult\n"
                     "What a moron you are.,1,insult\n"
                     "The council meets again on Tuesday.,0,fine\n"
                     "\"Thanks, a clear and useful article.\",0,fine\n")
    runner = CliRunner()

    built_in = runner.invoke(app, ["moderation", "eval", csv_file])
    assert built_in.exit_code == 0, built_in.output
    assert "rows: 4 (flag 2, fine 2)" in built_in.stdout and "ROC-AUC 1.000" in built_in.stdout
    assert "insult 0.6" in built_in.stdout and "fine comments published 1.000" in built_in.stdout
    assert "flagged comments held 1.000" in built_in.stdout and "  insult   1.000   1.000  (n=2)" in built_in.stdout

    # a site whose limit holds everything: its fine comments are held too
    strict = runner.invoke(app, ["moderation", "eval", csv_file, "--site", "strict", "--db", url])
    assert strict.exit_code == 0, strict.output
    assert "(toxicity 0, insult 0.6," in strict.stdout and "fine comments published 0.000" in strict.stdout

    unknown = runner.invoke(app, ["moderation", "eval", csv_file, "--site", "nope", "--db", url])
    assert unknown.exit_code == 1 and "no site named 'nope'" in unknown.output


def test_eval_refuses_a_file_it_cannot_read_and_says_why(tmp_path):
    runner = CliRunner()
    cases = [
        (str(tmp_path / "missing.csv"), "no such file"),
        (write(tmp_path / "cols.csv", "comment,label\nhi,0\n"), "missing column(s) text"),
        (write(tmp_path / "label.csv", "text,label\nhi,0\nbye,yes\n"), "label.csv:3: label must be 0 or 1, not 'yes'"),
    ]
    for path, message in cases:
        out = runner.invoke(app, ["moderation", "eval", path])
        assert out.exit_code == 2 and message in " ".join(out.output.split()), out.output


def test_rescore_holds_only_what_is_still_published_when_the_scores_are_written(tmp_path):
    """The model runs between two transactions; a comment a moderator rejected (or its author
    deleted) meanwhile keeps that status: a rescore only moves published comments to the queue."""
    from sqlalchemy import select

    from townsquare.config import load_settings
    from townsquare.moderation import rescore
    from townsquare.moderation.toxicity import ToxicityResult
    from townsquare.store.moderation import audit_log
    from townsquare.store.tables import comments, thread_events

    url = f"sqlite:///{tmp_path}/race.db"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", [], {})
        thread = thread_store.get_or_create(conn, site_id, "/a", "A", "")
        ids = [insert_comment(conn, {"thread_id": thread.id, "author_name": "A", "text": f"text {i}",
                                             "html": "", "status": "published", "created": 1.0 + i})
               for i in range(3)]
        thread_store.touch(conn, thread.id, 3)

    class ChangesWhileScoring:
        def score_many(self, texts, spans=True):
            with engine.begin() as conn:
                comment_store.update_comment(conn, ids[0], status="rejected")
                comment_store.update_comment(conn, ids[1], status="deleted", text="")
            return [ToxicityResult({"toxicity": 0.99, "insult": 0.99}, []) for _ in texts]

    report = rescore.rescore(engine, load_settings(None, environ={}, db=url), "daily", ChangesWhileScoring(), hold=True)
    assert report.held_ids == [ids[2]]
    with engine.connect() as conn:
        statuses = [conn.execute(select(comments.c.status).where(comments.c.id == i)).scalar() for i in ids]
        logged = conn.execute(select(audit_log.c.action, audit_log.c.target)).all()
    assert statuses == ["rejected", "deleted", "pending"]
    assert logged == [("rescore_hold", f"comment:{ids[2]}")]
    # Readers' open streams drop the held comment; the moderators' queue streams are woken.
    with engine.connect() as conn:
        events = conn.execute(select(thread_events.c.kind, thread_events.c.payload)).all()
    assert [(kind, json.loads(payload)) for kind, payload in events] == [
        ("status", {"id": ids[2], "status": "removed", "reason": "pending"}), ("held", {"id": ids[2]})]
    engine.dispose()

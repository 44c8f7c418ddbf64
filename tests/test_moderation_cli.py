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

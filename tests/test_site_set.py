"""`townsquare site set` and `site show`: a site's settings changed from the shell, checked by the
same model as `site add`, recorded in the audit log, and left alone when the input is bad."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from townsquare.cli import app
from townsquare.store import audit as audit_store
from townsquare.store import sites as site_store
from townsquare.store.audit import Filters
from townsquare.store.db import make_engine, migrate, reading

runner = CliRunner()


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    r = runner.invoke(app, ["site", "add", "daily", "--origin", "https://daily.example", "--db", db_url,
                            "--settings", '{"moderation": "pre", "moderation_rules": {"banned_words": ["idiot*"]}}'])
    assert r.exit_code == 0, r.output
    return db_url


def stored(db_url):
    engine = make_engine(db_url)
    with reading(engine) as conn:
        site = site_store.by_name(conn, "daily")
        log = audit_store.entries(conn, Filters(action="site_settings"))
    engine.dispose()
    return site.settings, log


def test_set_merges_and_is_audited(db):
    r = runner.invoke(app, ["site", "set", "daily", "--db", db, "--by", "editor@daily.example",
                            "--settings", '{"edit_window": 60, "moderation_rules": {"max_links": 0}}'])
    assert r.exit_code == 0, r.output
    settings, log = stored(db)
    # Merged: the earlier mode and word list are kept beside the new values.
    assert settings == {"moderation": "pre", "edit_window": 60,
                        "moderation_rules": {"banned_words": ["idiot*"], "max_links": 0}}
    assert len(log) == 1 and log[0].actor == "editor@daily.example" and log[0].target.startswith("site:")
    assert log[0].details == {"edit_window": {"from": None, "to": 60},
                              "moderation_rules.max_links": {"from": None, "to": 0}}

    # null gives a setting back to the instance default.
    r = runner.invoke(app, ["site", "set", "daily", "--db", db, "--settings", '{"moderation": null}'])
    assert r.exit_code == 0, r.output
    settings, log = stored(db)
    assert "moderation" not in settings and len(log) == 2 and "(command line)" in log[0].actor

    shown = json.loads(runner.invoke(app, ["site", "show", "daily", "--db", db]).stdout)
    assert shown["settings"]["moderation"] == "post" and shown["settings"]["edit_window"] == 60
    assert shown["settings"]["moderation_rules"]["banned_words"] == ["idiot*"]
    assert shown["own_settings"] == settings


@pytest.mark.parametrize("given, named", [
    ('{"edit_window": "soon"}', "'edit_window'"),
    ('{"moderation": "sometimes"}', "'moderation'"),
    ('{"moderation_rules": {"banned_words": ["* *"]}}', "'moderation_rules.banned_words'"),
    ('{"moderation_rules": {"hold_thresholds": {"rudeness": 0.5}}}', "'moderation_rules.hold_thresholds'"),
    ('{"edit_windw": 60}', "unknown setting 'edit_windw'"),
    ('{"edit_window": 60', "not valid JSON"),
    ('[1, 2]', "JSON object"),
])
def test_bad_settings_change_nothing(db, given, named):
    before = stored(db)
    r = runner.invoke(app, ["site", "set", "daily", "--db", db, "--settings", given])
    assert r.exit_code == 2
    assert named in " ".join(r.output.split())
    assert stored(db) == before


def test_unknown_site(db):
    r = runner.invoke(app, ["site", "set", "weekly", "--db", db, "--settings", '{"edit_window": 60}'])
    assert r.exit_code == 1 and "no site named 'weekly'" in r.output
    r = runner.invoke(app, ["site", "show", "weekly", "--db", db])
    assert r.exit_code == 1 and "no site named 'weekly'" in r.output


def test_the_sign_on_secret_is_checked_and_never_shown_in_clear(db):
    short = runner.invoke(app, ["site", "set", "daily", "--db", db, "--settings", '{"sso_secret": "short"}'])
    assert short.exit_code == 2 and "sso_secret" in short.output
    secret = "s3cret-shared-with-the-publisher-0123456789"
    r = runner.invoke(app, ["site", "set", "daily", "--db", db, "--settings",
                            json.dumps({"sso_secret": secret, "require_identity": "email"})])
    assert r.exit_code == 0, r.output
    assert secret not in r.output and "(secret)" in r.output
    settings, log = stored(db)
    assert settings["sso_secret"] == secret  # kept, to verify tokens
    assert secret not in json.dumps(log[0].details)
    rotated = runner.invoke(app, ["site", "set", "daily", "--db", db, "--settings",
                                  json.dumps({"sso_secret": secret + "-rotated"})])
    assert rotated.exit_code == 0 and "sso_secret" in rotated.output and "rotated" not in rotated.output
    for command in (["site", "show", "daily"], ["site", "list"]):
        shown = runner.invoke(app, [*command, "--db", db])
        assert shown.exit_code == 0 and secret not in shown.output and "(secret)" in shown.output
    exported = runner.invoke(app, ["export", "--db", db])
    assert exported.exit_code == 0 and secret not in exported.output

"""Shared fixtures: real databases (SQLite files and a throw-away PostgreSQL database) and the app."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate

PG_ADMIN_URL = os.environ.get("TOWNSQUARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TOWNSQUARE_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))


def unavailable(what: str, error: Exception):
    """Outside CI a missing service skips the test with a visible reason; in CI it fails."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but unreachable: {error}")
    pytest.skip(f"{what} unreachable ({error}); set CI=true to make this a failure")


# Core tests post many comments quickly from one address; these rules keep moderation out of the way.
LENIENT = {"author_rate": 100_000, "ip_rate": 100_000, "min_submit_seconds": 0, "repeat_window": 0,
           "hold_thresholds": {"toxicity": 1.0, "insult": 1.0, "identity_attack": 1.0, "threat": 1.0, "profanity": 1.0}}


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"townsquare_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        admin.dispose()
        unavailable("PostgreSQL at 127.0.0.1:5432", e)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as e:  # noqa: BLE001
        unavailable("Redis at 127.0.0.1:6379", e)
    yield REDIS_URL
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/townsquare.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def add_site(engine, name="daily", origins=("https://daily.example",), **settings):
    with engine.begin() as conn:
        return site_store.create(conn, name, name.title(), list(origins), settings)


@pytest.fixture
def settings(db_url):
    # No in-process alert worker: these tests have no mail server, and alert tests start their own.
    return load_settings(None, environ={}, db=db_url, alerts={"worker_in_serve": False})


@pytest.fixture
def client(engine, settings):
    add_site(engine, posts_per_minute=10_000, moderation_rules=LENIENT)
    app = create_app(settings, engine)
    with TestClient(app, base_url="http://testserver") as c:
        yield c

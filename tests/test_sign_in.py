"""Sign-in lockouts, on SQLite and PostgreSQL: attempts are counted per (account, address) in one
statement, so a burst of guesses gets no more password checks than the allowance, and the
owner signing in from elsewhere is not locked out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from sqlalchemy import select, update

from townsquare.errors import TooMany
from townsquare.moderation import auth
from townsquare.store.moderation import audit_log, sign_in_failures

from .moderation_support import PASSWORD, add_moderator, add_site

EMAIL = "mod@daily.example"
GUESSES = 40


def attempt(engine, password: str, address: str) -> int:
    """The status the sign-in page would answer: 303 signed in, 401 wrong, 429 locked."""
    try:
        return 401 if auth.sign_in(engine, EMAIL, password, address) is None else 303
    except TooMany:
        return 429


def lockouts(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(audit_log).where(audit_log.c.action == "sign_in_lockout")).all()


def test_a_burst_of_wrong_passwords_gets_only_the_allowance_checked(engine):
    add_site(engine)
    user_id, _ = add_moderator(engine)
    start = threading.Barrier(GUESSES)

    def guess(_):
        start.wait()
        return attempt(engine, "wrong password!", "address-A")

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))

    # Every 401 is a password check (argon2); every 429 was refused before any check.
    assert answers.count(401) == auth.FAILURES_BEFORE_LOCK
    assert answers.count(429) == GUESSES - auth.FAILURES_BEFORE_LOCK
    # Even the right password waits at that address...
    assert attempt(engine, PASSWORD, "address-A") == 429
    # ...but the owner signs in from another one.
    assert attempt(engine, PASSWORD, "address-B") == 303

    [entry] = lockouts(engine)
    assert (entry.user_id, entry.actor, entry.target) == (user_id, EMAIL, f"user:{user_id}")
    details = orjson.loads(entry.details)
    assert details["address"] == "address-A" and details["failures"] == auth.FAILURES_BEFORE_LOCK
    assert details["locked_seconds"] == auth.LOCK_SECONDS


def test_the_wait_doubles_with_each_failure_and_a_success_clears_it(engine):
    add_site(engine)
    add_moderator(engine)
    for _ in range(auth.FAILURES_BEFORE_LOCK):
        assert attempt(engine, "wrong password!", "address-A") == 401
    with pytest.raises(TooMany) as refused:
        auth.sign_in(engine, EMAIL, PASSWORD, "address-A")
    assert 0 < refused.value.extra["retry_after"] <= auth.LOCK_SECONDS

    def lock_ends():
        with engine.begin() as conn:
            conn.execute(update(sign_in_failures).values(locked_until=0))

    lock_ends()
    assert attempt(engine, "wrong password!", "address-A") == 401  # one more check, then a longer wait
    with pytest.raises(TooMany) as refused:
        auth.sign_in(engine, EMAIL, PASSWORD, "address-A")
    assert auth.LOCK_SECONDS < refused.value.extra["retry_after"] <= 2 * auth.LOCK_SECONDS
    assert len(lockouts(engine)) == 2

    lock_ends()
    assert attempt(engine, PASSWORD, "address-A") == 303
    with engine.connect() as conn:
        assert conn.execute(select(sign_in_failures)).all() == []
    assert auth.lock_seconds(1000) == auth.LOCK_MAX_SECONDS


def test_guessing_at_an_unknown_account_is_locked_out_too(engine):
    add_site(engine)
    for _ in range(auth.FAILURES_BEFORE_LOCK):
        assert auth.sign_in(engine, "nobody@daily.example", "wrong password!", "address-A") is None
    with pytest.raises(TooMany):
        auth.sign_in(engine, "nobody@daily.example", "wrong password!", "address-A")
    assert lockouts(engine) == []  # no account, no site whose log it belongs in

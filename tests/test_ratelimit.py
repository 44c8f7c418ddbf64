"""Rate limits are shared by every process: through Redis, or through the database."""

from __future__ import annotations

from townsquare.ratelimit import DatabaseLimiter, RedisLimiter


def test_redis_limiter_is_shared_between_instances(redis_url):
    a, b = RedisLimiter(redis_url), RedisLimiter(redis_url)  # as two server processes would hold
    results = [(a if i % 2 else b).allow("site:post:ip1", 3, 60) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert a.allow("site:post:ip2", 3, 60)


def test_database_limiter_counts_across_connections(engine):
    # Two limiters on two engines over one database, as two server processes would hold.
    from townsquare.store.db import make_engine

    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    a, b = DatabaseLimiter(engine), DatabaseLimiter(other)
    results = [(a if i % 2 else b).allow("site:post:ip1", 2, 60) for i in range(4)]
    other.dispose()
    assert results == [True, True, False, False]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _burst_across_a_minute_boundary(limiter, clock: Clock) -> list[float]:
    """Twenty tries at 10/minute, ten just before a minute starts and ten just after; the times let through."""
    start = 1_800_000_000 - 0.7  # 0.7 s before a whole minute of the epoch
    allowed = []
    for i in range(20):
        clock.now = start + i * 0.065  # 20 tries in 1.3 s
        if limiter.allow("site:post:ip1", 10, 60):
            allowed.append(clock.now)
    return allowed


def _at_most(limit: int, period: float, times: list[float]) -> bool:
    return all(sum(1 for t in times if s <= t < s + period) <= limit for s in times)


def test_database_limiter_never_lets_more_than_the_limit_through_in_any_period(engine):
    clock = Clock(0)
    limiter = DatabaseLimiter(engine, clock)
    allowed = _burst_across_a_minute_boundary(limiter, clock)
    assert len(allowed) == 10
    # The window slides: 59 s after the first allowed event there is still no room; at 61 s there is.
    clock.now = allowed[0] + 59
    assert not limiter.allow("site:post:ip1", 10, 60)
    clock.now = allowed[-1] + 61
    assert limiter.allow("site:post:ip1", 10, 60)
    assert _at_most(10, 60, allowed + [clock.now])


def test_redis_limiter_never_lets_more_than_the_limit_through_in_any_period(redis_url):
    clock = Clock(0)
    limiter = RedisLimiter(redis_url, clock)
    allowed = _burst_across_a_minute_boundary(limiter, clock)
    assert len(allowed) == 10
    clock.now = allowed[0] + 59
    assert not limiter.allow("site:post:ip1", 10, 60)
    clock.now = allowed[-1] + 60.5
    assert limiter.allow("site:post:ip1", 10, 60)
    assert _at_most(10, 60, allowed + [clock.now])


def test_refused_tries_are_not_counted(engine):
    # A reader who keeps trying is let in once the period has passed since the events let through.
    clock = Clock(1_800_000_000)
    limiter = DatabaseLimiter(engine, clock)
    assert [limiter.allow("k", 2, 60) for _ in range(2)] == [True, True]
    for step in range(1, 60):
        clock.now = 1_800_000_000 + step
        assert not limiter.allow("k", 2, 60)
    clock.now = 1_800_000_000 + 61
    assert limiter.allow("k", 2, 60)


def test_twenty_posts_across_a_minute_boundary_publish_at_most_ten(engine, settings):
    from starlette.testclient import TestClient

    from townsquare.app import create_app

    from .conftest import LENIENT, add_site

    add_site(engine, posts_per_minute=10, moderation_rules=LENIENT)
    app = create_app(settings.model_copy(update={"rate_limits": "on"}), engine)
    clock = Clock(1_800_000_000 - 0.7)
    app.state.core.limiter = DatabaseLimiter(engine, clock)
    statuses = []
    with TestClient(app) as client:
        for i in range(20):
            clock.now = 1_800_000_000 - 0.7 + i * 0.065
            body = {"site": "daily", "uri": "/a", "text": f"Comment number {i}", "author": {"name": "Ann"}}
            statuses.append(client.post("/api/v1/comments", json=body, headers={"Origin": "https://daily.example"}).status_code)
    assert statuses.count(201) == 10 and statuses.count(429) == 10

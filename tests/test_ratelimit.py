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

"""Rate limits shared by every `townsquare serve` process.

Counts live in Redis when `redis_url` is set, otherwise in the database; never in one
process's memory, which several processes behind a load balancer would each count apart.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection

from townsquare.store import queries as q


class DatabaseLimiter:
    """Counts in the caller's write transaction (a second one would wait on SQLite's lock)."""

    def allow(self, key: str, limit: int, period: int, conn: Connection) -> bool:
        window = int(time.time() // period)
        return q.count_hit(conn, f"{key}:{period}", window) <= limit


class RedisLimiter:
    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url)

    def allow(self, key: str, limit: int, period: int, conn: Connection | None = None) -> bool:
        window = int(time.time() // period)
        name = f"townsquare:rate:{key}:{period}:{window}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, period * 2)
        count, _ = pipe.execute()
        return count <= limit


def make_limiter(redis_url: str | None):
    return RedisLimiter(redis_url) if redis_url else DatabaseLimiter()

"""Rate limits shared by every `townsquare serve` process.

Counts live in Redis when `redis_url` is set, otherwise in the database; never in one
process's memory, which several processes behind a load balancer would each count apart.
"""

from __future__ import annotations

import time

from townsquare.store import ratelimits
from townsquare.store.db import Engine, writing


class DatabaseLimiter:
    """Counts in a short transaction of its own, before the use case's write opens."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def allow(self, key: str, limit: int, period: int) -> bool:
        window = int(time.time() // period)
        with writing(self.engine) as conn:
            return ratelimits.count_hit(conn, f"{key}:{period}", window) <= limit


# Count and (re)set the expiry in one atomic round trip.
_HIT = "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return n"


class RedisLimiter:
    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url)
        self._hit = self.redis.register_script(_HIT)

    def allow(self, key: str, limit: int, period: int) -> bool:
        window = int(time.time() // period)
        name = f"townsquare:rate:{key}:{period}:{window}"
        return self._hit(keys=[name], args=[period * 2]) <= limit


def make_limiter(redis_url: str | None, engine: Engine):
    return RedisLimiter(redis_url) if redis_url else DatabaseLimiter(engine)

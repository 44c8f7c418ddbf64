"""Rate limits shared by every `townsquare serve` process.

Counts live in Redis when `redis_url` is set, otherwise in the database; never in one
process's memory, which several processes behind a load balancer would each count apart.
Both count in a sliding window: `limit` per `period` holds for every span of `period` seconds,
not only within each calendar minute. A refused event is not counted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from townsquare.store import ratelimits
from townsquare.store.db import Engine, writing

Clock = Callable[[], float]


class DatabaseLimiter:
    """Counts in a short transaction of its own, before the use case's write opens."""

    def __init__(self, engine: Engine, clock: Clock = time.time):
        self.engine, self.clock = engine, clock

    def allow(self, key: str, limit: int, period: int) -> bool:
        with writing(self.engine) as conn:
            return ratelimits.hit_if_under(conn, f"{key}:{period}", int(self.clock()), period, limit)


# One atomic round trip: drop the events older than the period, then add this one if there is room.
_HIT = """
local now, period = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(period))
return 1
"""


class RedisLimiter:
    def __init__(self, url: str, clock: Clock = time.time):
        import redis

        self.redis, self.clock = redis.Redis.from_url(url), clock
        self._hit = self.redis.register_script(_HIT)

    def allow(self, key: str, limit: int, period: int) -> bool:
        name = f"townsquare:rate:{key}:{period}"
        event = os.urandom(8).hex()  # each event its own member, even two in one instant
        return self._hit(keys=[name], args=[repr(float(self.clock())), period, limit, event]) == 1


def make_limiter(redis_url: str | None, engine: Engine, clock: Clock = time.time):
    return RedisLimiter(redis_url, clock) if redis_url else DatabaseLimiter(engine, clock)

"""The in-process cache of serialized thread pages."""

from townsquare.services import ThreadCache


def test_thread_cache_is_bounded_by_bytes():
    cache = ThreadCache(max_bytes=100)
    for i in range(10):
        cache.put((i,), b"x" * 30)
    kept = [i for i in range(10) if cache.get((i,)) is not None]
    assert kept == [7, 8, 9]  # the newest entries that fit in 100 bytes
    cache.put((8,), b"y" * 10)  # replacing an entry frees its old size
    assert cache.get((8,)) == b"y" * 10 and cache.get((7,)) is not None

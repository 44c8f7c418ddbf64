"""Prometheus metrics the services record (request latency is recorded by the web middleware)."""

from prometheus_client import Counter

COMMENTS_CREATED = Counter("townsquare_comments_created_total", "Comments created", ["status"])

"""Prometheus metrics: what the services record, and what /metrics reports.

Under `serve --workers N` every worker writes its counters and histograms to files in one
directory (prometheus_client's multiprocess mode, set up by `serving`), and a scrape, answered by
any one worker, adds them up. The operations figures (outbox, deliveries, moderation queue) are
read from the database at scrape time, so they are the same whichever process answers.
"""

from __future__ import annotations

import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from townsquare.store import ops_figures
from townsquare.store.db import Engine, reading

COMMENTS_CREATED = Counter("townsquare_comments_created_total", "Comments created", ["status"])
MODEL_SECONDS = Histogram(
    "townsquare_model_seconds", "Toxicity model time to score one comment",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class Operations:
    """A collector of the database's operations figures, read when scraped."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self):
        with reading(self.engine) as conn:
            f = ops_figures.figures(conn)
        yield GaugeMetricFamily("townsquare_outbox_waiting", "Alert outbox rows not yet delivered", value=f.outbox_waiting)
        yield GaugeMetricFamily("townsquare_outbox_oldest_waiting_seconds",
                                "Age of the oldest alert outbox row not yet delivered (0 when none)",
                                value=0.0 if f.oldest_waiting_since is None else max(0.0, time.time() - f.oldest_waiting_since))
        deliveries = GaugeMetricFamily("townsquare_deliveries", "Alert deliveries in the outbox by channel and status",
                                       labels=["channel", "status"])
        for d in f.deliveries:
            deliveries.add_metric([d.channel, d.status], d.count)
        yield deliveries
        queue = GaugeMetricFamily("townsquare_moderation_queue", "Comments awaiting a moderator", labels=["site"])
        for site, count in f.queue_by_site.items():
            queue.add_metric([site], count)
        yield queue


class Scrape:
    """The /metrics answer: the processes' own metrics, then the database's figures."""

    def __init__(self, engine: Engine, metrics_dir: str | None):
        if metrics_dir:
            self.processes = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.processes, path=metrics_dir)
        else:
            self.processes = REGISTRY
        self.operations = CollectorRegistry(auto_describe=False)
        self.operations.register(Operations(engine))

    def __call__(self) -> bytes:
        return generate_latest(self.processes) + generate_latest(self.operations)

"""Bulk rescoring: run the current toxicity model over stored comments (after a model update, or
when a site tightens its thresholds), store the new scores, and optionally send published
comments that now cross a hold threshold back to the queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Engine, func, select

from townsquare.alerts import events as alert_events
from townsquare.config import Settings, site_settings
from townsquare.moderation import audit
from townsquare.moderation.phases import toxicity as toxicity_phase
from townsquare.moderation.scoring import Scorer
from townsquare.moderation.settings import for_site
from townsquare.store import queries as q
from townsquare.store.db import now
from townsquare.store.tables import comments, threads
from townsquare.store.tables import sites as sites_table

ACTOR = "rescore"


@dataclass
class RescoreReport:
    scored: int = 0
    over_threshold: int = 0
    held: int = 0
    seconds: float = 0.0
    held_ids: list[int] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0


def _batches(engine: Engine, site_id: int, statuses: tuple[str, ...], size: int) -> Iterator[list[dict]]:
    """Comments of the site in id order, a batch per short read (writers are never blocked long)."""
    after = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(comments.c.id, comments.c.thread_id, comments.c.text, comments.c.status, comments.c.moderation)
                .join(threads, threads.c.id == comments.c.thread_id)
                .where(threads.c.site_id == site_id, comments.c.status.in_(statuses), comments.c.id > after)
                .order_by(comments.c.id).limit(size)
            ).mappings().all()
        if not rows:
            return
        yield [dict(r) for r in rows]
        after = rows[-1]["id"]


def count(engine: Engine, site_name: str, statuses: tuple[str, ...]) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(comments.join(threads, threads.c.id == comments.c.thread_id))
            .join(sites_table, sites_table.c.id == threads.c.site_id)
            .where(sites_table.c.name == site_name, comments.c.status.in_(statuses))
        ).scalar_one()


def rescore(engine: Engine, settings: Settings, site_name: str, scorer: Scorer, *, hold: bool = False,
            statuses: tuple[str, ...] = ("published", "pending"), batch_size: int = 2000,
            progress: Callable[[int], None] = lambda n: None) -> RescoreReport:
    with engine.connect() as conn:
        site = q.site_by_name(conn, site_name)
    if site is None:
        raise ValueError(f"There is no site named '{site_name}'.")
    limits = for_site(site_settings(settings.site_defaults, site["settings"])).hold_thresholds
    report = RescoreReport()
    started = time.perf_counter()
    for batch in _batches(engine, site["id"], statuses, batch_size):
        results = scorer.score_many([c["text"] for c in batch], spans=False)
        with engine.begin() as conn:
            for c, result in zip(batch, results, strict=True):
                decision = orjson.loads(c["moderation"]) if c["moderation"] else {}
                decision["scores"] = {k: round(v, 4) for k, v in result.scores.items()}
                decision["rescored"] = now()
                crossed = sorted(toxicity_phase.crossed(result.scores, limits))
                if crossed:
                    report.over_threshold += 1
                values = {"moderation": orjson.dumps(decision).decode()}
                if hold and crossed and c["status"] == "published":
                    values["status"] = "pending"
                    decision["rescore_hold"] = crossed
                    values["moderation"] = orjson.dumps(decision).decode()
                q.update_comment(conn, c["id"], **values)
                if values.get("status") == "pending":
                    _send_to_queue(conn, site, c, crossed)
                    report.held += 1
                    report.held_ids.append(c["id"])
        report.scored += len(batch)
        progress(len(batch))
    report.seconds = time.perf_counter() - started
    return report


def _send_to_queue(conn, site: dict, comment: dict, crossed: list[str]) -> None:
    thread = q.thread_by_id(conn, comment["thread_id"])
    q.touch_thread(conn, thread["id"], -1)
    stored = q.comment_by_id(conn, comment["id"])
    alert_events.comment_held(conn, site=site, thread=thread, comment=stored)
    audit.record(conn, site_id=site["id"], user_id=None, actor=ACTOR, action="rescore_hold",
                 target=f"comment:{comment['id']}", reason="new scores cross " + ", ".join(crossed),
                 details={"labels": crossed})

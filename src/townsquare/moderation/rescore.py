"""Bulk rescoring: run the current toxicity model over stored comments (after a model update, or
when a site tightens its thresholds), store the new scores, and optionally send published
comments that now cross a hold threshold back to the queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from townsquare.alerts import events as alert_events
from townsquare.live import events as live_events
from townsquare.config import Settings, site_settings
from townsquare.domain import status
from townsquare.moderation import audit
from townsquare.moderation.phases import toxicity as toxicity_phase
from townsquare.moderation.scoring import Scorer
from townsquare.moderation.settings import ModerationSettings, for_site
from townsquare.store import comments, threads
from townsquare.store import sites as site_store
from townsquare.store.sites import Site
from townsquare.store import rescore as stored
from townsquare.store.db import Connection, Engine, now, reading, writing

if TYPE_CHECKING:
    from townsquare.moderation.toxicity import ToxicityResult

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


def _batches(engine: Engine, site_id: int, statuses: tuple[str, ...], size: int) -> Iterator[list[stored.Scored]]:
    """Comments of the site in id order, a batch per short read (writers are never blocked long)."""
    after = 0
    while True:
        with reading(engine) as conn:
            rows = stored.batch(conn, site_id, statuses, after=after, size=size)
        if not rows:
            return
        yield rows
        after = rows[-1].id


def count(engine: Engine, site_name: str, statuses: tuple[str, ...]) -> int:
    with reading(engine) as conn:
        return stored.count(conn, site_name, statuses)


def rescore(engine: Engine, settings: Settings, site_name: str, scorer: Scorer, *, hold: bool = False,
            statuses: tuple[str, ...] = ("published", "pending"), batch_size: int = 2000,
            progress: Callable[[int], None] = lambda n: None) -> RescoreReport:
    with reading(engine) as conn:
        site = site_store.by_name(conn, site_name)
    if site is None:
        raise ValueError(f"There is no site named '{site_name}'.")
    policy = for_site(site_settings(settings.site_defaults, site.settings))
    report = RescoreReport()
    started = time.perf_counter()
    for batch in _batches(engine, site.id, statuses, batch_size):
        # The model runs between transactions; the write below reads each comment again, as a
        # moderator or its author may have changed it meanwhile.
        results = scorer.score_many([c.text for c in batch], spans=False)
        with writing(engine) as conn:
            now_stored = stored.current(conn, [c.id for c in batch])
            for c, result in zip(batch, results, strict=True):
                _store_scores(conn, site, now_stored.get(c.id), c.text, result, policy, hold, report)
        report.scored += len(batch)
        progress(len(batch))
    report.seconds = time.perf_counter() - started
    return report


def _store_scores(conn: Connection, site: Site, c: stored.Scored | None, scored_text: str,
                  result: ToxicityResult, policy: ModerationSettings, hold: bool, report: RescoreReport) -> None:
    if c is None or c.status == "deleted" or c.text != scored_text:
        return  # gone, or edited since it was scored (the edit was moderated with fresh scores)
    decision = orjson.loads(c.moderation) if c.moderation else {}
    decision["scores"] = {k: round(v, 4) for k, v in result.scores.items()}
    decision["rescored"] = now()
    # The toxicity phase's own rule (coarse swearing and very short replies included)
    action, labels = toxicity_phase.verdict(result.scores, policy, scored_text, result.lexicon_word)
    crossed = sorted(labels) if action in ("hold", "reject") else []
    if crossed:
        report.over_threshold += 1
    if not (hold and crossed and c.status == "published"):
        comments.update_comment(conn, c.id, moderation=orjson.dumps(decision).decode())
        return
    status.require(ACTOR, c.status, "pending")
    decision["rescore_hold"] = crossed
    comments.update_comment(conn, c.id, status="pending", moderation=orjson.dumps(decision).decode())
    _send_to_queue(conn, site, c, crossed)
    report.held += 1
    report.held_ids.append(c.id)


def _send_to_queue(conn: Connection, site: Site, comment: stored.Scored, crossed: list[str]) -> None:
    thread = threads.by_id(conn, comment.thread_id)
    threads.touch(conn, thread.id, -1)
    held = comments.by_id(conn, comment.id)
    alert_events.comment_held(conn, site=site, thread=thread, comment=held)
    live_events.comment_removed(conn, thread.id, comment.id, "pending")  # it was published
    live_events.comment_held(conn, thread.id, comment.id)
    audit.record(conn, site_id=site.id, user_id=None, actor=ACTOR, action="rescore_hold",
                 target=f"comment:{comment.id}", reason="new scores cross " + ", ".join(crossed),
                 details={"labels": crossed})

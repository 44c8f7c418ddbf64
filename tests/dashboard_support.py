"""Generated activity for the dashboard tests: comments on several days in every status, with stored
decisions and toxicity scores, votes and reports; and the figures that activity must give."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import orjson
from sqlalchemy import insert

from townsquare.store import threads as thread_store
from townsquare.store.moderation import reports
from townsquare.store.tables import votes

from .store_support import insert_comment

DAY = 86400
STATUSES = ("published", "pending", "rejected", "deleted")
PHASES = ("toxicity", "personal_data", "premoderation", "reports")


def _date(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


class _Expected:
    """The figures one scope (the site, or one thread) must show."""

    def __init__(self):
        self.days: dict[str, Counter] = defaultdict(Counter)
        self.commenters: dict[str, set] = defaultdict(set)
        self.held_phases: Counter = Counter()
        self.buckets = [0] * 10
        self.pending_created: list[float] = []

    def figures(self, today: int, days: int) -> dict:
        per_day = []
        for k in range(days - 1, -1, -1):
            date = _date((today - k) * DAY)
            c = self.days[date]
            per_day.append({"date": date, "published": c["published"], "held": c["held"], "rejected": c["rejected"],
                            "deleted": c["deleted"], "reports": c["reports"], "votes": c["votes"],
                            "commenters": len(self.commenters[date])})
        return {"per_day": per_day, "pending": len(self.pending_created), "oldest": min(self.pending_created, default=None),
                "held_reasons": dict(self.held_phases), "toxicity": self.buckets}


def generate(engine, site_id: int, *, days: int = 10, seed: int = 7, other_site_id: int | None = None) -> dict:
    """Write the activity of the last `days` days (and some older, and some on another site, that
    must not count); returns the expected figures for a period of `days` days: the site's, and
    each thread's under "threads" (by uri)."""
    rng = random.Random(seed)
    now = time.time()
    today = int(now // DAY)
    expected_days: dict[str, Counter] = defaultdict(Counter)
    commenters: dict[str, set] = defaultdict(set)
    held_phases: Counter = Counter()
    buckets = [0] * 10
    per_thread: Counter = Counter()
    pending_created: list[float] = []
    per_uri: dict[str, _Expected] = defaultdict(_Expected)
    with engine.begin() as conn:
        uris = [f"/story-{i}" for i in range(4)]
        thread_ids = {uri: thread_store.get_or_create(conn, site_id, uri, f"Story {uri[-1]}", "").id for uri in uris}
        other = thread_store.get_or_create(conn, other_site_id, "/elsewhere", "Elsewhere", "").id if other_site_id else None
        comment_ids = []
        for k in range(days + 2):  # two days before the period too
            day_start = (today - k) * DAY
            span = min(DAY - 1, now - day_start - 1)
            for _ in range(rng.randint(1, 6)):
                created = day_start + rng.uniform(0, span)
                status = rng.choice(STATUSES)
                uri = rng.choice(uris)
                author = f"author-{rng.randint(1, 5)}"
                phases = rng.sample(PHASES, rng.randint(0, 2))
                score = rng.choice([None, 0.0, 0.05, 0.31, 0.5, 0.99, 1.0])
                decision = {"reasons": [{"phase": p, "label": p, "detail": "", "spans": []} for p in phases]}
                if score is not None:
                    decision["scores"] = {"toxicity": score}
                cid = insert_comment(conn, {"thread_id": thread_ids[uri], "author_name": "A", "author_key": author,
                                            "text": "text", "status": status, "created": created,
                                            "moderation": orjson.dumps(decision).decode()})
                mine = per_uri[uri]
                if status == "pending":
                    pending_created.append(created)
                    mine.pending_created.append(created)
                comment_ids.append((cid, created, uri))
                if k >= days:
                    continue
                date = _date(created)
                for scope_days, scope_commenters in ((expected_days, commenters), (mine.days, mine.commenters)):
                    scope_days[date][{"pending": "held"}.get(status, status)] += 1
                    scope_commenters[date].add(author)
                if status == "pending":
                    held_phases.update(set(phases) or {"none"})
                    mine.held_phases.update(set(phases) or {"none"})
                if status != "deleted":
                    per_thread[uri] += 1
                    if score is not None:
                        buckets[min(int(score * 10), 9)] += 1
                        mine.buckets[min(int(score * 10), 9)] += 1
        if other:  # another site's activity, today
            insert_comment(conn, {"thread_id": other, "author_name": "B", "text": "x", "status": "pending",
                                  "created": now - 5})
        # Votes and reports, some on comments from before the period: they count on the day made.
        for n, (cid, created, uri) in enumerate(comment_ids):
            for v in range(rng.randint(0, 3)):
                when = rng.uniform(created, now)
                conn.execute(insert(votes).values(comment_id=cid, voter=f"v{v}", value=1, created=when))
                expected_days[_date(when)]["votes"] += 1
                per_uri[uri].days[_date(when)]["votes"] += 1
            if n % 3 == 0:
                when = rng.uniform(created, now)
                conn.execute(insert(reports).values(comment_id=cid, reporter="r", reason="spam", note="", created=when))
                expected_days[_date(when)]["reports"] += 1
                per_uri[uri].days[_date(when)]["reports"] += 1
    per_day = []
    for k in range(days - 1, -1, -1):
        date = _date((today - k) * DAY)
        c = expected_days[date]
        per_day.append({"date": date, "published": c["published"], "held": c["held"], "rejected": c["rejected"],
                        "deleted": c["deleted"], "reports": c["reports"], "votes": c["votes"],
                        "commenters": len(commenters[date])})
    return {"per_day": per_day, "pending": len(pending_created), "oldest": min(pending_created, default=None),
            "held_reasons": dict(held_phases), "toxicity": buckets,
            "top_threads": dict(per_thread), "now": now,
            "threads": {uri: e.figures(today, days) for uri, e in per_uri.items()}}

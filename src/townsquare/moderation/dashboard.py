"""The dashboard page's parts made from the figures (moderation/stats.py): its charts, the same
numbers as table rows, and those rows as CSV for a spreadsheet."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from townsquare.moderation import charts
from townsquare.moderation.stats import Stats

CHARTS = ("days", "reasons", "toxicity", "threads")
THREAD_CHARTS = CHARTS[:-1]  # a thread's view: no busiest threads
PERIODS = (7, 30, 90, 365)
STATUSES = ("published", "held", "rejected", "deleted")


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str | int, ...], ...]


def table(stats: Stats, chart: str) -> Table:
    """The numbers behind one chart (every per-day figure for "days")."""
    if chart == "days":
        return Table(("date", "published", "held", "rejected", "deleted", "reports", "votes", "commenters"),
                     tuple((d.date, d.published, d.held, d.rejected, d.deleted, d.reports, d.votes, d.commenters)
                           for d in stats.per_day))
    if chart == "reasons":
        return Table(("phase", "held comments"), tuple((r.phase, r.comments) for r in stats.held_reasons))
    if chart == "toxicity":
        return Table(("toxicity from", "toxicity to", "comments"),
                     tuple((f"{b.low:.1f}", f"{b.high:.1f}", b.comments) for b in stats.toxicity))
    if chart == "threads":
        return Table(("uri", "title", "comments"), tuple((t.uri, t.title, t.comments) for t in stats.top_threads))
    raise ValueError(chart)


def chart(stats: Stats, name: str) -> charts.Chart:
    if name == "days":
        dates = [d.date[5:] for d in stats.per_day]  # MM-DD under the bars; the table has the year
        series = [(s, [getattr(d, s) for d in stats.per_day]) for s in STATUSES]
        return charts.columns(dates, series)
    if name == "reasons":
        return charts.rows([(r.phase.replace("_", " "), r.comments) for r in stats.held_reasons], "held")
    if name == "toxicity":
        return charts.columns([f"{b.low:.1f}" for b in stats.toxicity], [("toxicity", [b.comments for b in stats.toxicity])],
                              show_every=1)
    if name == "threads":
        return charts.rows([(t.title or t.uri, t.comments) for t in stats.top_threads], "published")
    raise ValueError(name)


def _cell(value: str | int) -> str | int:
    """A text cell a spreadsheet would read as a formula is prefixed with ' (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(t: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(t.header)
    writer.writerows([_cell(v) for v in row] for row in t.rows)
    return out.getvalue()


def age_words(seconds: int | None) -> str:
    """How long the oldest held comment has waited, in words."""
    if seconds is None:
        return "nothing waits"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"

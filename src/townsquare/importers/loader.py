"""Writes a record stream into the database: batched, idempotent, resumable.

- Every stored thread and comment gets an `import_map` row (site, source, old id -> new id), so a
  second run of the same file recognises everything and adds nothing.
- Records are written in batches, a few batches to a transaction, and the run's position is
  committed with them: `resume` continues after the last stored batch, and a failure never leaves
  a batch half-written (a source that fails between batches keeps the batches before it).
- The next batch is read and its HTML sanitised on a thread (see prefetch.py) while this one is
  stored.
- A reply can come before its parent (not every export is in tree order): it waits until the
  parent is stored, and is skipped with a reason if the parent never comes.
- `threads.comment_count` and `threads.version` change in the same transaction as the comments.
- A dry run does all of this inside one transaction that is rolled back at the end.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

import orjson

from townsquare.config import SiteSettings, site_settings
from townsquare.domain.render import render_markdown, sanitize_html
from townsquare.domain.tokens import Signer
from townsquare.domain.validate import http_url
from townsquare.moderation.inputs import Draft
from townsquare.moderation.service import decide
from townsquare.store import comments, importing, threads
from townsquare.store import sites as site_store
from townsquare.store.db import Connection, Engine, now, reading, writing
from townsquare.store.importing import CommentRow, StoredComment, ThreadAtUri, VoteRow

from .prefetch import ReadAhead
from .records import CommentRecord, Record, Skip, ThreadRecord

BATCH_SIZE = 5000
# Batches stored per transaction. Every commit rewrites the index pages its rows touched, and
# imported rows land all over the author and address indexes: fewer, larger commits write far
# less. A transaction of this size holds the write lock for a few seconds at most.
COMMIT_EVERY = 25_000
LISTED_SKIPS = 10_000  # skips beyond this are counted by reason, not listed one by one
DELETED_NAME = "[deleted]"  # what a deleted comment shows, as in townsquare.services
_THREAD_CACHE = 50_000
_OLD_ID_MAX = 200  # import_map.old_id length; longer ids (URLs, say) are stored as a hash
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>#|~])")


class ImportProblem(Exception):
    """The import cannot start (no such site, nothing to resume…); the message says what to do."""


@dataclass
class ImportReport:
    site: str
    source: str
    dry_run: bool = False
    threads_created: int = 0
    threads_merged: int = 0  # the site already had a thread at that URI; the comments joined it
    comments_imported: int = 0
    already_imported: int = 0  # stored by an earlier run of the same file
    statuses: Counter = field(default_factory=Counter)
    skipped_by_reason: Counter = field(default_factory=Counter)
    skipped: list[Skip] = field(default_factory=list)
    resumed_at: int = 0  # records an interrupted earlier run had already stored

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped_by_reason.values())

    def skip(self, record: Skip) -> None:
        self.skipped_by_reason[record.reason] += 1
        if len(self.skipped) < LISTED_SKIPS:
            self.skipped.append(record)

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site, "source": self.source, "dry_run": self.dry_run,
            "threads_created": self.threads_created, "threads_merged": self.threads_merged,
            "comments_imported": self.comments_imported, "already_imported": self.already_imported,
            "statuses": dict(self.statuses), "skipped_total": self.skipped_total,
            "skipped_by_reason": dict(self.skipped_by_reason),
            "skipped": [{"kind": s.kind, "old_id": s.old_id, "reason": s.reason, "where": s.where} for s in self.skipped],
            "resumed_at": self.resumed_at,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Carry the counts of an interrupted run into the run that resumes it."""
        for key in ("threads_created", "threads_merged", "comments_imported", "already_imported"):
            setattr(self, key, saved.get(key, 0))
        self.statuses.update(saved.get("statuses", {}))
        self.skipped_by_reason.update(saved.get("skipped_by_reason", {}))
        self.skipped.extend(Skip(**s) for s in saved.get("skipped", []))


@dataclass(slots=True)
class _Ready:
    """A comment whose thread and parent are known: it can be stored."""

    seq: int
    record: CommentRecord
    thread_id: int
    parent_id: int | None
    parent_name: str | None


def escape_markdown(text: str) -> str:
    """Plain text, written so that Markdown shows it as it is."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def map_key(old_id: str) -> str:
    """The import_map key of an old id: itself, or a hash when it is too long to store."""
    if len(old_id) <= _OLD_ID_MAX:
        return old_id
    return "sha256:" + hashlib.sha256(old_id.encode()).hexdigest()


class Loader:
    def __init__(
        self,
        engine: Engine,
        *,
        site: str,
        source: str,
        signer: Signer,
        site_defaults: SiteSettings,
        moderate: bool = False,
        dry_run: bool = False,
        batch_size: int = BATCH_SIZE,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.source = source
        # Authors and addresses repeat across an export; their keyed hashes are worth keeping.
        self._hash = lru_cache(maxsize=65_536)(signer.hash)
        self.moderate = moderate
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.on_progress = on_progress or (lambda n: None)
        self.report = ImportReport(site=site, source=source, dry_run=dry_run)
        with reading(engine) as conn:
            found = site_store.by_name(conn, site)
        if found is None:
            raise ImportProblem(f"There is no site named '{site}'. Create it first: townsquare site add {site}")
        self.site = found
        self.rules = site_settings(site_defaults, found.settings)
        self.started = now()
        self._threads: OrderedDict[str, int] = OrderedDict()  # thread old id -> id (recently used)
        # Replies whose parent is not stored yet: parent old id -> [(position in file, record)].
        self._waiting: dict[str, list[tuple[int, CommentRecord]]] = {}
        self._skipped_comments: set[str] = set()
        # Pinned comments not stored yet: comment old id -> its new thread's id.
        self._pins: dict[str, int] = {}
        # Threads changed in this batch other than by a new published comment (their version moves).
        self._touched: set[int] = set()
        self._rendered: dict[int, str] = {}  # position in file -> HTML, for comments of this batch
        self._run_id: int | None = None
        self._watermark = 0
        self._position = 0  # records before this were handled by this run or the one it resumes

    # -- the run ------------------------------------------------------------------------------
    def run(self, records: Iterable[Record], *, fingerprint: str, resume: bool = False) -> ImportReport:
        if self.dry_run:
            with importing.rolled_back(self.engine) as conn:
                self._watermark = comments.max_id(conn)
                for (batch, final), self._rendered in ReadAhead(self._batches(records, 0), _render_batch):
                    self._write(conn, batch, final)
                    self._advance(batch)
            return self.report
        start = self._open_run(fingerprint, resume)
        try:
            self._load(ReadAhead(self._batches(records, start), _render_batch))
        except BaseException:
            self._close_run("failed")
            raise
        self._close_run("done")
        return self.report

    def _load(self, batches: Iterable[tuple[tuple[list[tuple[int, Record]], bool], dict[int, str]]]) -> None:
        """Store the batches, several to a transaction (see COMMIT_EVERY), each with its safe point.

        A failure while writing rolls back the batches of its transaction; the safe point stored
        with the last committed one says where --resume starts."""
        stream = iter(batches)
        while True:
            try:
                item = next(stream)
            except StopIteration:
                return
            failure: BaseException | None = None
            with writing(self.engine) as conn:
                importing.tune_for_import(conn)
                written = 0
                while True:
                    (batch, final), self._rendered = item
                    self._write(conn, batch, final)
                    self._save_progress(conn, batch)
                    written += len(batch)
                    if final or written >= COMMIT_EVERY:
                        break
                    self._advance(batch)
                    try:
                        item = next(stream)
                    except BaseException as e:  # noqa: BLE001 (raised again once the batches are kept)
                        # The source failed (or was interrupted) between two batches: the ones
                        # written are whole, so they are kept, and --resume goes on after them.
                        failure = e
                        break
            if failure is not None:
                if isinstance(failure, StopIteration):  # the source always ends with a final batch
                    return
                raise failure
            self._advance(batch)

    def _batches(self, records: Iterable[Record], start: int) -> Iterator[tuple[list[tuple[int, Record]], bool]]:
        batch: list[tuple[int, Record]] = []
        for seq, record in enumerate(records):
            if seq < start:
                continue
            batch.append((seq, record))
            if len(batch) >= self.batch_size:
                yield batch, False
                batch = []
        yield batch, True

    def _advance(self, batch: list[tuple[int, Record]]) -> None:
        if batch:
            self._position = max(self._position, batch[-1][0] + 1)
        self.on_progress(len(batch))

    def _open_run(self, fingerprint: str, resume: bool) -> int:
        with writing(self.engine) as conn:
            start = 0
            if resume:
                previous = importing.latest_run(conn, self.site.id, self.source, fingerprint)
                if previous is None:
                    raise ImportProblem("There is no interrupted import of this file to resume.")
                if previous.status == "done":
                    raise ImportProblem("The last import of this file finished; there is nothing to resume.")
                saved = previous.report
                start = previous.safe_point
                self._watermark = previous.watermark
                self._position = saved.get("position", start)
                self.report.restore(saved)
                self.report.resumed_at = start
            else:
                self._watermark = comments.max_id(conn)
            self._run_id = importing.start_run(
                conn, site_id=self.site.id, source=self.source, fingerprint=fingerprint, safe_point=start,
                watermark=self._watermark, started=self.started,
            )
        return start

    def _close_run(self, status: str) -> None:
        if self._run_id is not None:
            state = self.report.as_json() | {"position": self._position}
            with writing(self.engine) as conn:
                importing.finish_run(conn, self._run_id, status=status, finished=now(), report=state)

    def _save_progress(self, conn: Connection, batch: list[tuple[int, Record]]) -> None:
        end = max(self._position, batch[-1][0] + 1) if batch else self._position
        waiting = [seq for children in self._waiting.values() for seq, _ in children]
        # Counts only: the list of skipped records is written once, when the run ends.
        state = self.report.as_json() | {"position": end, "skipped": []}
        importing.save_progress(conn, self._run_id, safe_point=min(waiting, default=end), report=state)

    # -- one batch ------------------------------------------------------------------------------
    def _write(self, conn: Connection, batch: list[tuple[int, Record]], final: bool) -> None:
        self._store_threads(conn, [r for _, r in batch if isinstance(r, ThreadRecord)])
        found = [(seq, r) for seq, r in batch if isinstance(r, CommentRecord)]
        known = self._mapped(conn, "comment", [r.old_id for _, r in found] + [r.parent_old_id for _, r in found if r.parent_old_id])
        self._load_threads(conn, {r.thread_old_id for _, r in found})
        stored_rows = importing.stored_comments(conn, known.values())
        ready: list[_Ready] = []
        in_batch: set[str] = set()
        for seq, record in batch:
            if isinstance(record, Skip):
                self._skip(record)
            elif isinstance(record, CommentRecord):
                self._place(seq, record, known, stored_rows, in_batch, ready)
        published: Counter[int] = Counter()
        while ready:  # parents first; each round stores the replies the previous round made placeable
            placed = self._insert(conn, ready, published)
            ready = []
            for old_id, new_id, name, thread_id in placed:
                for seq, child in self._waiting.pop(old_id, []):
                    self._adopt(seq, child, new_id, name, thread_id, ready)
        if final:
            for children in list(self._waiting.values()):
                for seq, child in children:
                    self._skip(Skip("comment", child.old_id, "its parent is not in the file", f"record {seq + 1}"))
            self._waiting.clear()
        importing.bump_threads(conn, {tid: published.get(tid, 0) for tid in set(published) | self._touched})
        self._touched.clear()

    def _place(self, seq: int, record: CommentRecord, known: dict[str, int], stored_rows: dict[int, StoredComment],
               in_batch: set[str], ready: list[_Ready]) -> None:
        """Decide what happens to one comment: stored now, stored after its parent, or skipped."""
        where = f"record {seq + 1}"
        existing = known.get(record.old_id)
        if record.old_id in in_batch or existing is not None:
            if record.old_id in in_batch or (existing > self._watermark and seq >= self._position):
                self.report.skip(Skip("comment", record.old_id, "duplicate id: the file has this comment twice", where))
            elif seq >= self._position:
                self.report.already_imported += 1
            if existing is not None and existing in stored_rows:
                stored = stored_rows[existing]
                for wseq, child in self._waiting.pop(record.old_id, []):
                    self._adopt(wseq, child, existing, stored.author_name, stored.thread_id, ready)
            return
        in_batch.add(record.old_id)
        thread_id = self._threads.get(record.thread_old_id)
        parent = record.parent_old_id
        if thread_id is None:
            self._skip(Skip("comment", record.old_id, f"thread {record.thread_old_id} is not in the file", where))
        elif parent is None:
            ready.append(_Ready(seq, record, thread_id, None, None))
        elif parent in self._skipped_comments:
            self._skip(Skip("comment", record.old_id, f"its parent {parent} was skipped", where))
        elif parent in known and known[parent] in stored_rows:
            stored = stored_rows[known[parent]]
            self._adopt(seq, record, known[parent], stored.author_name, stored.thread_id, ready)
        else:
            self._waiting.setdefault(parent, []).append((seq, record))

    def _adopt(self, seq: int, child: CommentRecord, parent_id: int, parent_name: str, parent_thread: int,
               ready: list[_Ready]) -> None:
        thread_id = self._threads.get(child.thread_old_id)
        if thread_id != parent_thread:
            self._skip(Skip("comment", child.old_id, f"its parent {child.parent_old_id} is in another thread",
                            f"record {seq + 1}"))
        else:
            ready.append(_Ready(seq, child, thread_id, parent_id, parent_name))

    def _skip(self, record: Skip) -> None:
        if record.kind == "comment":
            self._skipped_comments.add(record.old_id)
            for seq, child in self._waiting.pop(record.old_id, []):
                self._skip(Skip("comment", child.old_id, f"its parent {record.old_id} was skipped", f"record {seq + 1}"))
        self.report.skip(record)

    # -- threads --------------------------------------------------------------------------------
    def _store_threads(self, conn: Connection, records: list[ThreadRecord]) -> None:
        if not records:
            return
        self._load_threads(conn, {r.old_id for r in records})
        new_uris = {r.uri.strip() for r in records if r.old_id not in self._threads}
        at_uri = importing.threads_at(conn, self.site.id, new_uris)
        mapped: list[tuple[str, int]] = []
        for record in records:
            if record.old_id in self._threads:
                continue  # listed twice in the file, or stored by an earlier run
            uri = record.uri.strip()
            if not uri or len(uri) > 1000:
                self._skip(Skip("thread", record.old_id, "thread URI is empty or longer than 1000 characters"))
                continue
            # Other systems stored any link; only http(s) ones are kept, as the API accepts.
            url = http_url(record.url) or ""
            existing = at_uri.get(uri)
            if existing is not None:
                self.report.threads_merged += 1
                thread_id = existing.id
                blanks = {k: v for k, v in (("title", record.title[:500]), ("url", url))
                          if v and not getattr(existing, k)}
                if blanks:
                    importing.fill_thread(conn, thread_id, **blanks)
                    at_uri[uri] = replace(existing, **blanks)
                    self._touched.add(thread_id)
            else:
                self.report.threads_created += 1
                thread_id = importing.add_thread(
                    conn, site_id=self.site.id, uri=uri, title=record.title[:500], url=url,
                    closed=record.closed, created=record.created or self.started, closes=record.closes,
                )
                if record.pinned_old_id:  # pinned once that comment is stored
                    self._pins[record.pinned_old_id] = thread_id
                at_uri[uri] = ThreadAtUri(id=thread_id, title=record.title[:500], url=url)
            mapped.append((record.old_id, thread_id))
            self._remember(record.old_id, thread_id)
        self._map(conn, "thread", mapped)

    def _load_threads(self, conn: Connection, old_ids: set[str]) -> None:
        missing = [o for o in old_ids if o not in self._threads]
        for old_id, thread_id in self._mapped(conn, "thread", missing).items():
            self._remember(old_id, thread_id)

    def _remember(self, old_id: str, thread_id: int) -> None:
        self._threads[old_id] = thread_id
        self._threads.move_to_end(old_id)
        if len(self._threads) > _THREAD_CACHE:
            self._threads.popitem(last=False)

    # -- comments -------------------------------------------------------------------------------
    def _insert(self, conn: Connection, ready: list[_Ready], published: Counter[int]) -> list[tuple[str, int, str, int]]:
        rows = [self._row(conn, item) for item in ready]
        new_ids = importing.add_comments(conn, rows, [[VoteRow(0, v.voter, v.value, v.created) for v in item.record.votes]
                                                      for item in ready])
        self._map(conn, "comment", [(item.record.old_id, new_id) for item, new_id in zip(ready, new_ids)])
        placed = []
        statuses = self.report.statuses
        for item, row, new_id in zip(ready, rows, new_ids):
            status = row.status
            statuses[status] += 1
            if status == "published":
                published[item.thread_id] += 1
            else:
                self._touched.add(item.thread_id)
            placed.append((item.record.old_id, new_id, row.author_name, item.thread_id))
            if self._pins.get(item.record.old_id) == item.thread_id:
                importing.pin(conn, self._pins.pop(item.record.old_id), new_id)
                self._touched.add(item.thread_id)
        self.report.comments_imported += len(rows)
        return placed

    def _row(self, conn: Connection, item: _Ready) -> CommentRow:
        """The row of one comment."""
        r = item.record
        # A source without times (a crawled page) keeps its page order.
        created = r.created if r.created is not None else self.started + item.seq / 1000
        author_key = r.author_key
        ip_hash = r.ip_hash or (self._hash("ip", r.ip) if r.ip else None)
        if r.status == "deleted" and r.html is None:
            # Stored the way a deletion here leaves a comment: a placeholder without words or identity.
            email = r.author_email
            author_key = author_key or (self._hash("email", email[:320].lower()) if email else None)
            return CommentRow(item.thread_id, item.parent_id, DELETED_NAME, None, None, author_key, ip_hash, "", None,
                              "", r.status, created, r.edited, r.likes, r.dislikes, _moderation_json(r.moderation))
        email = r.author_email[:320] if r.author_email else None
        author_key = author_key or (self._hash("email", email.lower()) if email else None)
        name = r.author_name[:200]
        website = _website(r.author_website)
        html = self._rendered.get(item.seq) if r.quote is None else None
        if html is None:
            html = _html(r, item.parent_name)
        status, moderation = r.status, _moderation_json(r.moderation)
        if self.moderate and status == "published" and r.moderation is None:
            draft = Draft(text=r.text, created=now(), author_name=name, author_email=email, author_key=author_key,
                          ip_hash=ip_hash, thread_id=item.thread_id, parent_id=item.parent_id)
            decision = decide(conn, site_id=self.site.id, rules=self.rules,
                              thread=threads.by_id(conn, item.thread_id), draft=draft)
            status, moderation = decision.status, orjson.dumps(decision.as_json()).decode()
        return CommentRow(item.thread_id, item.parent_id, name, email, website, author_key, ip_hash, r.text, r.quote,
                          html, status, created, r.edited, r.likes, r.dislikes, moderation,
                          r.featured and status == "published")

    # -- import_map -------------------------------------------------------------------------------
    def _mapped(self, conn: Connection, kind: str, old_ids: list[str]) -> dict[str, int]:
        keys = {map_key(o): o for o in old_ids}
        found = importing.mapped(conn, self.site.id, self.source, kind, list(keys))
        return {keys[key]: new_id for key, new_id in found.items()}

    def _map(self, conn: Connection, kind: str, pairs: list[tuple[str, int]]) -> None:
        importing.remember(conn, self.site.id, self.source, kind, [(map_key(old), new) for old, new in pairs])


def _website(url: str | None) -> str | None:
    """An author's website as the API would take it (a bare host gets https://), or None."""
    url = (url or "").strip()
    return http_url(url if "://" in url else "https://" + url) if url else None


def _html(r: CommentRecord, parent_name: str | None) -> str:
    if r.html is not None:
        return sanitize_html(r.html)
    if r.format == "html":
        return sanitize_html(r.text)
    if r.format == "plain":
        return render_markdown(escape_markdown(r.text), escape_markdown(r.quote) if r.quote else None, parent_name)
    return render_markdown(r.text, r.quote, parent_name)


def _render_batch(batch_final: tuple[list[tuple[int, Record]], bool]) -> dict[int, str]:
    """The HTML of the batch's comments that do not quote their parent (a quote names its author),
    rendered ahead on the read-ahead thread; deleted comments store none."""
    return {seq: _html(r, None) for seq, r in batch_final[0]
            if isinstance(r, CommentRecord) and r.quote is None and (r.status != "deleted" or r.html is not None)}


def _moderation_json(moderation: dict | None) -> str | None:
    return orjson.dumps(moderation).decode() if moderation is not None else None

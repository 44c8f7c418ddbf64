"""The loader: idempotent re-runs, resuming, dry runs, bad input, moderation and thread counters."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.test_import_support import (
    FIXTURES,
    SETTINGS,
    SIGNER,
    all_threads,
    run_import,
    sqlite_database,
    stored,
)
from townsquare.importers.disqus import disqus_records
from townsquare.importers.loader import ImportProblem, Loader
from townsquare.importers.records import CommentRecord, ImportFormatError, ThreadRecord
from townsquare.importers.run import fingerprint
from townsquare.store.importing import import_runs
from townsquare.store.tables import import_map, threads

DISQUS = FIXTURES / "disqus.xml"


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_database(tmp_path)
    yield engine
    engine.dispose()


def loader(engine, source="disqus", **kwargs):
    return Loader(engine, site="news", source=source, signer=SIGNER, site_defaults=SETTINGS.site_defaults, **kwargs)


def snapshot(engine):
    return [(r["id"], r["parent_id"], r["author_name"], r["status"], r["html"]) for r in stored(engine)], [
        (t["uri"], t["comment_count"], t["version"]) for t in all_threads(engine)
    ]


def test_importing_the_same_file_twice_adds_nothing(engine):
    first = run_import(engine, "disqus", DISQUS)
    before = snapshot(engine)
    second = run_import(engine, "disqus", DISQUS)
    assert snapshot(engine) == before  # not even a thread version moved
    assert second.comments_imported == 0 and second.threads_created == 0
    assert second.already_imported == first.comments_imported + 1  # the duplicated post counts again
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(import_map)).scalar() == first.comments_imported + 3


def test_comment_counts_and_versions_match_what_is_stored(engine):
    run_import(engine, "disqus", DISQUS)
    rows = stored(engine)
    for thread in all_threads(engine):
        published = sum(1 for r in rows if r["thread_id"] == thread["id"] and r["status"] == "published")
        assert thread["comment_count"] == published
        assert thread["version"] >= 1


def test_small_batches_give_the_same_result(engine, tmp_path):
    other = sqlite_database(tmp_path, name="other.db")
    run_import(engine, "disqus", DISQUS)
    report = loader(other, batch_size=2).run(disqus_records(DISQUS), fingerprint="x")
    assert report.comments_imported == 10 and report.skipped_total == 6
    strip = lambda rows: [(r["author_name"], r["status"], r["html"], r["created"]) for r in rows]  # noqa: E731
    assert strip(stored(other)) == strip(stored(engine))
    parents = lambda rows: {r["author_name"]: next((p["author_name"] for p in rows if p["id"] == r["parent_id"]), None) for r in rows}  # noqa: E731
    assert parents(stored(other)) == parents(stored(engine))


class Interrupted(Exception):
    pass


def interrupted_after(records, n):
    for i, record in enumerate(records):
        if i == n:
            raise Interrupted
        yield record


def test_an_interrupted_import_resumes_where_it_stopped(engine, tmp_path):
    with pytest.raises(Interrupted):
        loader(engine, batch_size=3).run(interrupted_after(disqus_records(DISQUS), 11), fingerprint=fingerprint(DISQUS))
    partial = stored(engine)
    assert 0 < len(partial) < 10
    with engine.connect() as conn:
        assert conn.execute(select(import_runs.c.status)).scalar() == "failed"

    report = loader(engine, batch_size=3).run(disqus_records(DISQUS), fingerprint=fingerprint(DISQUS), resume=True)
    assert report.resumed_at > 0
    assert report.comments_imported == 10 and report.skipped_total == 6

    fresh = sqlite_database(tmp_path, name="fresh.db")
    run_import(fresh, "disqus", DISQUS)
    key = lambda rows: sorted((r["author_name"], r["status"], r["html"], r["uri"]) for r in rows)  # noqa: E731
    assert key(stored(engine)) == key(stored(fresh))
    assert [(t["uri"], t["comment_count"]) for t in all_threads(engine)] == [
        (t["uri"], t["comment_count"]) for t in all_threads(fresh)
    ]


def test_resume_needs_an_interrupted_run_of_the_same_file(engine):
    with pytest.raises(ImportProblem, match="no interrupted import"):
        loader(engine).run(disqus_records(DISQUS), fingerprint=fingerprint(DISQUS), resume=True)
    run_import(engine, "disqus", DISQUS)
    with pytest.raises(ImportProblem, match="finished"):
        loader(engine).run(disqus_records(DISQUS), fingerprint=fingerprint(DISQUS), resume=True)


def test_a_failure_mid_batch_leaves_that_batch_unwritten(engine):
    def records():
        yield ThreadRecord(old_id="t1", uri="/one", title="One")
        yield from (CommentRecord(old_id=f"c{i}", thread_old_id="t1", parent_old_id=None, author_name="A", text=f"{i}")
                    for i in range(4))
        yield ThreadRecord(old_id="t2", uri="/two", title="Two")
        yield CommentRecord(old_id="d1", thread_old_id="t2", parent_old_id=None, author_name="B", text="x")
        raise ImportFormatError("broken", "line 99")

    with pytest.raises(ImportFormatError):
        loader(engine, source="test", batch_size=5).run(records(), fingerprint="f")
    assert [t["uri"] for t in all_threads(engine)] == ["/one"]
    assert all_threads(engine)[0]["comment_count"] == 4
    assert [r["text"] for r in stored(engine)] == ["0", "1", "2", "3"]


def test_a_malformed_file_stores_nothing(engine):
    with pytest.raises(ImportFormatError, match="line 18"):
        run_import(engine, "disqus", FIXTURES / "disqus_broken.xml")
    assert stored(engine) == [] and all_threads(engine) == []


def test_dry_run_reports_without_storing(engine, tmp_path):
    report = run_import(engine, "disqus", DISQUS, dry_run=True)
    real = run_import(sqlite_database(tmp_path, name="real.db"), "disqus", DISQUS)
    assert report.dry_run
    assert (report.comments_imported, report.threads_created, report.skipped_total, report.statuses) == (
        real.comments_imported, real.threads_created, real.skipped_total, real.statuses)
    assert stored(engine) == [] and all_threads(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(import_runs)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(import_map)).scalar() == 0


def test_dry_run_after_an_import_finds_everything_there(engine):
    run_import(engine, "disqus", DISQUS)
    report = run_import(engine, "disqus", DISQUS, dry_run=True)
    assert report.comments_imported == 0 and report.already_imported == 11


def test_comments_join_an_existing_thread_at_the_same_uri(engine):
    with engine.begin() as conn:
        conn.execute(threads.insert().values(site_id=1, uri="/world/putin-documentary/", title="", url="",
                                             closed=False, created=1.0, comment_count=0, version=7))
    report = run_import(engine, "disqus", DISQUS)
    assert report.threads_merged == 2
    page = next(t for t in all_threads(engine) if t["uri"] == "/world/putin-documentary/")
    assert page["title"] == "Putin accuses US of direct contacts with militants"  # blank title filled in
    assert page["comment_count"] == 4 and page["version"] > 7


def test_unknown_site_is_a_clear_error(engine):
    with pytest.raises(ImportProblem, match="no site named 'elsewhere'"):
        Loader(engine, site="elsewhere", source="disqus", signer=SIGNER, site_defaults=SETTINGS.site_defaults)


def test_taken_as_published_or_sent_through_moderation(tmp_path):
    held = sqlite_database(tmp_path, name="held.db", moderation="pre")
    run_import(held, "text", FIXTURES / "seed_000.txt")
    assert {r["status"] for r in stored(held)} == {"published"}

    moderated = sqlite_database(tmp_path, name="moderated.db", moderation="pre")
    report = run_import(moderated, "text", FIXTURES / "seed_000.txt", moderate=True)
    rows = stored(moderated)
    assert {r["status"] for r in rows} == {"pending"} and report.statuses == {"pending": 12}
    assert all(r["moderation"] and '"status":"pending"' in r["moderation"] for r in rows)
    assert all_threads(moderated)[0]["comment_count"] == 0


def test_replies_waiting_for_a_parent_across_batches(engine):
    def records():
        yield ThreadRecord(old_id="t", uri="/t")
        # Deepest reply first: every comment arrives before its parent, in separate batches.
        for i in range(5, 0, -1):
            yield CommentRecord(old_id=f"c{i}", thread_old_id="t", parent_old_id=f"c{i - 1}" if i > 1 else None,
                                author_name=f"level {i}", text="x", created=float(i))

    report = loader(engine, source="test", batch_size=2).run(records(), fingerprint="f")
    rows = stored(engine)
    assert report.comments_imported == 5
    names = {r["id"]: r["author_name"] for r in rows}
    assert [(r["author_name"], names.get(r["parent_id"])) for r in rows] == [
        ("level 1", None), ("level 2", "level 1"), ("level 3", "level 2"), ("level 4", "level 3"), ("level 5", "level 4"),
    ]


def test_children_of_a_skipped_comment_are_skipped_with_the_reason(engine):
    def records():
        yield ThreadRecord(old_id="t", uri="/t")
        yield CommentRecord(old_id="orphan", thread_old_id="missing", parent_old_id=None, author_name="A", text="x")
        yield CommentRecord(old_id="child", thread_old_id="t", parent_old_id="orphan", author_name="B", text="y")

    report = loader(engine, source="test").run(records(), fingerprint="f")
    assert [(s.old_id, s.reason) for s in report.skipped] == [
        ("orphan", "thread missing is not in the file"), ("child", "its parent orphan was skipped")]


def test_a_file_larger_than_the_spool_chunk_and_the_commit_span(engine, tmp_path, monkeypatch):
    """Thousands of records: several spool chunks, several batches per transaction, read-ahead."""
    from townsquare.importers import loader as loader_module

    monkeypatch.setattr(loader_module, "COMMIT_EVERY", 1_000)
    path = tmp_path / "big.xml"
    n_threads, n_comments = 7, 3_500
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                'xmlns:dsq="http://disqus.com/disqus-internals">\n')
        for t in range(1, n_threads + 1):
            f.write(f'<thread dsq:id="t{t}"><id>a{t}</id><link>https://news.example/a{t}</link><title>A{t}</title>'
                    f'<createdAt>2015-01-01T00:00:00Z</createdAt><isClosed>false</isClosed>'
                    f'<isDeleted>false</isDeleted></thread>\n')
        for c in range(1, n_comments + 1):
            parent = f'<parent dsq:id="p{c - n_threads}"/>' if c > n_threads and c % 3 == 0 else ""
            f.write(f'<post dsq:id="p{c}"><id/><message><![CDATA[<p>comment {c} &amp; more</p>]]></message>'
                    f'<createdAt>2015-01-02T00:00:{c % 60:02d}Z</createdAt><isDeleted>false</isDeleted>'
                    f'<isSpam>false</isSpam><author><name>R{c % 40}</name></author>'
                    f'<thread dsq:id="t{(c - 1) % n_threads + 1}"/>{parent}</post>\n')
        f.write("</disqus>\n")
    report = run_import(engine, "disqus", path)  # through the spool: several chunks
    assert report.comments_imported == n_comments and report.skipped_total == 0
    rows = stored(engine)
    assert len(rows) == n_comments
    by_old = {r["html"]: r for r in rows}
    child = by_old["<p>comment 3000 &amp; more</p>"]
    assert child["parent_id"] == by_old["<p>comment 2993 &amp; more</p>"]["id"]
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(threads.c.comment_count))).scalar_one() == n_comments
    again = run_import(engine, "disqus", path)
    assert again.comments_imported == 0 and len(stored(engine)) == n_comments
    # Small batches, several to a transaction, give the same discussions.
    other = sqlite_database(tmp_path, name="other.db")
    small = loader(other, batch_size=300).run(disqus_records(path), fingerprint="big")
    assert small.comments_imported == n_comments
    shape = lambda rs: sorted((r["html"], r["uri"], r["created"]) for r in rs)  # noqa: E731
    assert shape(stored(other)) == shape(rows)

"""Exports: JSON lines survive export → import into a fresh database → export unchanged (SQLite
and PostgreSQL), and the Disqus XML export reads back into the same discussions."""

from __future__ import annotations

import io

import orjson
import pytest
from lxml import etree

from tests.test_import_support import (
    FIXTURES,
    all_threads,
    isso_database,
    new_database,
    run_import,
    sqlite_database,
    stored,
)
from townsquare.importers.export import export_disqus, export_jsonl
from townsquare.importers.run import ensure_sites, sites_in_file
from townsquare.store import sites as site_store
from townsquare.store import comments as comment_store
from townsquare.store import threads as thread_store


def populated(tmp_path):
    """A database with two sites, every status, quotes, edits, votes and moderation decisions."""
    engine = sqlite_database(tmp_path, name="source.db", moderation="post", max_length=5000)
    with engine.begin() as conn:
        site_store.create(conn, "blog", "The Blog", [], {"edit_window": 60})
    run_import(engine, "disqus", FIXTURES / "disqus.xml")
    run_import(engine, "text", FIXTURES / "seed_000.txt")
    run_import(engine, "isso", isso_database(tmp_path), site="blog")
    run_import(engine, "remark42", FIXTURES / "remark42.jsonl", site="blog")
    rows = stored(engine)
    with engine.begin() as conn:
        comment_store.set_vote(conn, rows[0]["id"], voter="voter-a", address="voter-a-address", value=1)
        comment_store.set_vote(conn, rows[0]["id"], voter="voter-b", address="voter-b-address", value=-1)
        comment_store.set_vote(conn, rows[3]["id"], voter="voter-a", address="voter-a-address", value=1)
        comment_store.update_comment(conn, rows[1]["id"], moderation=orjson.dumps({"decision": "hold", "reasons": [{"label": "x"}]}).decode())
        # The newsroom's state: an editor's pick, a pinned comment and a thread's own close time.
        top = [r for r in rows if r["status"] == "published" and r["parent_id"] is None]
        comment_store.set_featured(conn, top[0]["id"], True)
        thread_store.set_pinned(conn, top[1]["thread_id"], top[1]["id"])
        thread_store.set_closes(conn, top[1]["thread_id"], 1_900_000_000.5)
    return engine


def newsroom_state(engine) -> dict:
    """Which comments are picks, which is pinned where, and close times, by thread URI and text."""
    rows = stored(engine)
    text = {r["id"]: r["text"] for r in rows}
    return {
        "featured": sorted((r["uri"], r["text"]) for r in rows if r["featured"]),
        "pinned": sorted((t["uri"], text[t["pinned_id"]]) for t in all_threads(engine) if t["pinned_id"] is not None),
        "closes": sorted((t["uri"], t["closes"]) for t in all_threads(engine) if t["closes"] is not None),
    }


def jsonl_of(engine, site=None) -> bytes:
    out = io.BytesIO()
    export_jsonl(engine, out, site)
    return out.getvalue()


def load_jsonl(engine, path, site=None):
    for name in sites_in_file("jsonl", path, site):
        ensure_sites(engine, path, [name])
        run_import(engine, "jsonl", path, site=name)


def test_export_lines_hold_everything(tmp_path):
    lines = [orjson.loads(line) for line in jsonl_of(populated(tmp_path)).splitlines()]
    assert lines[0] == {"type": "header", "format": "townsquare", "version": 1}
    assert [s["name"] for s in lines if s["type"] == "site"] == ["blog", "news"]
    comments = [c for c in lines if c["type"] == "comment"]
    assert {c["status"] for c in comments} == {"published", "pending", "rejected", "deleted"}
    assert any(c["quote"] for c in comments) and any(c["votes"] for c in comments)
    assert any(c["edited"] for c in comments) and any(c["moderation"] for c in comments)
    assert len({c["ref"] for c in comments}) == len(comments)
    assert "id" not in comments[0] and "thread_id" not in comments[0]
    assert sum(c["featured"] for c in comments) == 1
    pinned = [t for t in lines if t["type"] == "thread" and t["pinned"]]
    assert len(pinned) == 1 and pinned[0]["closes"] == 1_900_000_000.5
    assert pinned[0]["pinned"] in {c["ref"] for c in comments if c["thread"] == pinned[0]["uri"]}


def test_jsonl_round_trip_is_identical_on_sqlite(tmp_path):
    source = populated(tmp_path)
    first = jsonl_of(source)
    (tmp_path / "export.jsonl").write_bytes(first)
    fresh = new_database(f"sqlite:///{tmp_path / 'fresh.db'}", site=None)
    load_jsonl(fresh, tmp_path / "export.jsonl")
    assert jsonl_of(fresh) == first
    assert newsroom_state(fresh) == newsroom_state(source)
    assert all(newsroom_state(fresh).values())
    # Importing the export again changes nothing either.
    load_jsonl(fresh, tmp_path / "export.jsonl")
    assert jsonl_of(fresh) == first


def test_jsonl_round_trip_is_identical_on_postgresql(tmp_path, pg_url):
    source = populated(tmp_path)
    first = jsonl_of(source)
    (tmp_path / "export.jsonl").write_bytes(first)
    engine = new_database(pg_url, site=None)
    try:
        load_jsonl(engine, tmp_path / "export.jsonl")
        assert jsonl_of(engine) == first
        assert newsroom_state(engine) == newsroom_state(source) and all(newsroom_state(engine).values())
        counts = {t["uri"]: t["comment_count"] for t in all_threads(engine)}
        published = {}
        for r in stored(engine):
            published[r["uri"]] = published.get(r["uri"], 0) + (r["status"] == "published")
        assert counts == {uri: published.get(uri, 0) for uri in counts}
    finally:
        engine.dispose()


def test_one_site_exports_and_imports_alone(tmp_path):
    engine = populated(tmp_path)
    blog = jsonl_of(engine, "blog")
    assert b'"site":"news"' not in blog
    (tmp_path / "blog.jsonl").write_bytes(blog)
    fresh = new_database(f"sqlite:///{tmp_path / 'fresh.db'}", site=None)
    load_jsonl(fresh, tmp_path / "blog.jsonl")
    assert jsonl_of(fresh) == blog


def test_disqus_export_is_valid_disqus_xml(tmp_path):
    engine = populated(tmp_path)
    out = io.BytesIO()
    counts = export_disqus(engine, out, "news")
    root = etree.fromstring(out.getvalue())
    ns = {"d": "http://disqus.com", "dsq": "http://disqus.com/disqus-internals"}
    assert root.tag == "{http://disqus.com}disqus"
    assert len(root.findall("d:thread", ns)) == counts.threads == 3
    posts = root.findall("d:post", ns)
    assert len(posts) == counts.comments == 22
    thread_ids = {t.get("{http://disqus.com/disqus-internals}id") for t in root.findall("d:thread", ns)}
    assert all(p.find("d:thread", ns).get("{http://disqus.com/disqus-internals}id") in thread_ids for p in posts)


def test_disqus_round_trip_keeps_the_discussions(tmp_path):
    engine = populated(tmp_path)
    out = io.BytesIO()
    export_disqus(engine, out, "news")
    (tmp_path / "news.xml").write_bytes(out.getvalue())
    fresh = sqlite_database(tmp_path, name="fresh.db")
    report = run_import(fresh, "disqus", tmp_path / "news.xml")
    assert report.skipped_total == 0

    def shape(db):
        rows = stored(db)
        by_id = {r["id"]: r for r in rows}
        return sorted(
            (r["uri"], r["author_name"], r["author_email"], r["status"], r["html"].strip(), int(r["created"]),
             by_id[r["parent_id"]]["author_name"] if r["parent_id"] else None)
            for r in rows if r["site_id"] == 1
        )

    assert shape(fresh) == shape(engine)
    assert [(t["uri"], t["title"], t["closed"], t["comment_count"]) for t in all_threads(fresh)] == [
        (t["uri"], t["title"], t["closed"], t["comment_count"]) for t in all_threads(engine)
        if t["site_id"] == 1
    ]


def test_export_of_an_unknown_site_is_refused(tmp_path):
    from townsquare.importers.export import UnknownSite

    with pytest.raises(UnknownSite):
        jsonl_of(sqlite_database(tmp_path), "nope")


@pytest.mark.parametrize("field, value", [("closes", "soon"), ("closes", True), ("closes", -5), ("pinned", 12)])
def test_a_bad_close_time_or_pinned_ref_is_named_by_its_line(tmp_path, field, value):
    from townsquare.importers.jsonl import jsonl_records
    from townsquare.importers.records import ImportFormatError

    lines = [{"type": "header", "format": "townsquare", "version": 1},
             {"type": "thread", "site": "blog", "uri": "/a", "title": "A", "url": "", "closed": False,
              "created": 1.0, field: value}]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    with pytest.raises(ImportFormatError, match="line 2"):
        list(jsonl_records(path, "blog"))

"""Each source format, imported from a hand-written fixture into a real SQLite database."""

from __future__ import annotations

import gzip
import shutil

import pytest

from tests.test_import_support import (
    FIXTURES,
    SIGNER,
    all_threads,
    by_author,
    isso_database,
    run_import,
    sqlite_database,
    stored,
)
from townsquare.importers.disqus import disqus_records
from townsquare.importers.records import ImportFormatError


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_database(tmp_path)
    yield engine
    engine.dispose()


def depth(rows, row):
    parents = {r["id"]: r["parent_id"] for r in rows}
    n, parent = 1, row["parent_id"]
    while parent is not None:
        n, parent = n + 1, parents[parent]
    return n


# -- Disqus -------------------------------------------------------------------------------------------
def test_disqus_threads_comments_statuses_and_nesting(engine):
    report = run_import(engine, "disqus", FIXTURES / "disqus.xml")
    assert (report.threads_created, report.threads_merged) == (2, 1)
    assert report.comments_imported == 10
    assert report.statuses == {"published": 7, "rejected": 1, "deleted": 1, "pending": 1}

    rows = stored(engine)
    people = by_author(rows)
    assert people["Jiří Klouda"]["parent_id"] == people["MirM"]["id"]
    assert people["ivan-petrov"]["parent_id"] == people["Jiří Klouda"]["id"]
    assert depth(rows, people["ivan-petrov"]) == 3
    assert people["Spammer"]["status"] == "rejected"
    assert people["Newcomer"]["status"] == "pending"
    # The reply listed before its parent still hangs under it.
    assert people["Early"]["parent_id"] == people["Late"]["id"]


def test_disqus_keeps_times_authors_and_cleans_html(engine):
    run_import(engine, "disqus", FIXTURES / "disqus.xml")
    people = by_author(stored(engine))
    mirm = people["MirM"]
    assert mirm["created"] == 1430038800.0  # 2015-04-26T09:00:00Z
    assert mirm["author_email"] == "mirm@example.org"
    assert mirm["author_key"] == SIGNER.hash("email", "mirm@example.org")
    assert mirm["ip_hash"] == SIGNER.hash("ip", "198.51.100.7")
    assert "<script" not in mirm["html"] and "javascript:" not in mirm["html"]
    assert '<a href="https://example.org/"' in mirm["html"] and "&amp;" in mirm["html"]
    assert "<script>" in mirm["text"]  # the original is kept as the comment's text
    # No email at all (isso#477) and no name: still imported.
    assert people["Jiří Klouda"]["author_email"] is None and people["Jiří Klouda"]["author_key"] is None
    assert "Москва не верит слезам. 日本語も。" in people["ivan-petrov"]["html"]
    assert "&lt;3 🙂" in people["Replier"]["html"]
    assert people["Guest"]["author_email"] is None


def test_disqus_deleted_posts_stay_as_placeholders_and_deleted_threads_are_skipped(engine):
    report = run_import(engine, "disqus", FIXTURES / "disqus.xml")
    rows = stored(engine)
    deleted = [r for r in rows if r["status"] == "deleted"]
    assert len(deleted) == 1
    assert deleted[0]["text"] == "" and deleted[0]["html"] == "" and deleted[0]["author_email"] is None
    assert by_author(rows)["Replier"]["parent_id"] == deleted[0]["id"]
    assert "/removed/" not in {t["uri"] for t in all_threads(engine)}
    assert not any(r["author_name"] == "X" for r in rows)
    reasons = {(s.kind, s.old_id): s.reason for s in report.skipped}
    assert reasons[("thread", "102")] == "thread deleted in the source"
    assert reasons[("thread", "103")] == "thread has no link"
    assert reasons[("comment", "2011")] == "its thread was deleted in the source"
    assert reasons[("comment", "2009")] == "its parent is not in the file"
    assert reasons[("comment", "2010")] == "thread 1337 is not in the file"
    assert reasons[("comment", "2001")].startswith("duplicate id")
    assert report.skipped_total == 6


def test_disqus_two_threads_for_one_page_become_one(engine):
    run_import(engine, "disqus", FIXTURES / "disqus.xml")
    threads = {t["uri"]: t for t in all_threads(engine)}
    assert set(threads) == {"/world/putin-documentary/", "/culture/m%C3%BCnchen-festival/?page=2"}
    page = threads["/world/putin-documentary/"]
    assert page["comment_count"] == 4  # MirM, Klouda, ivan-petrov and Replier (from the second thread)
    festival = threads["/culture/m%C3%BCnchen-festival/?page=2"]
    assert festival["closed"] and festival["comment_count"] == 3
    assert festival["title"] == "München: Festival & Fête — “Grüße” 🎉"
    assert festival["created"] == 1430474400.0


def test_disqus_old_layout(engine):
    report = run_import(engine, "disqus", FIXTURES / "disqus_old.xml")
    rows = stored(engine)
    assert report.comments_imported == 2 and report.skipped_total == 0
    assert rows[1]["parent_id"] == rows[0]["id"]
    assert rows[0]["uri"] == "/2011/03/hello.html"


def test_disqus_gzipped_file(engine, tmp_path):
    packed = tmp_path / "export.xml.gz"
    with (FIXTURES / "disqus.xml").open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert run_import(engine, "disqus", packed).comments_imported == 10


@pytest.mark.parametrize(
    ("name", "where"),
    [("disqus_broken.xml", "line 18"), ("disqus_bad_date.xml", 'line 13, <post dsq:id="x12">')],
)
def test_disqus_malformed_file_names_the_place(name, where):
    with pytest.raises(ImportFormatError) as caught:
        list(disqus_records(FIXTURES / name))
    assert caught.value.where == where


# -- WordPress ----------------------------------------------------------------------------------------
def test_wxr(engine):
    report = run_import(engine, "wxr", FIXTURES / "wordpress.xml")
    rows = stored(engine)
    people = by_author(rows)
    assert report.threads_created == 2 and report.comments_imported == 6
    assert report.statuses == {"published": 3, "pending": 1, "rejected": 1, "deleted": 1}
    assert people["Zoë Ångström"]["parent_id"] == people["Ohai"]["id"]
    assert people["Moderated Reader"]["parent_id"] == people["Zoë Ångström"]["id"]
    assert people["Ohai"]["author_website"] == "https://ohai.example/"
    assert people["Ohai"]["created"] == 1730831532.0  # comment_date_gmt
    assert "<strong>high</strong> &amp; rising" in people["Ohai"]["html"]
    assert "onerror" not in people["Zoë Ångström"]["html"] and "😀" in people["Zoë Ångström"]["html"]
    assert people["Zoë Ångström"]["author_email"] is None
    assert people["Anonymous"]["created"] == 1727773200.0  # no GMT date: the local one
    reasons = {s.old_id: s.reason for s in report.skipped}
    assert reasons == {
        "18/10": "pingback, not a comment",
        "18/11": "its parent is not in the file",
        "30": "post is in the trash",
        "30/40": "its post is in the trash",
    }
    threads = {t["uri"]: t for t in all_threads(engine)}
    assert threads["/?p=4"]["closed"] and threads["/?p=4"]["title"] == "Ünïcödé column"
    assert threads["/2024/11/election-night/"]["comment_count"] == 2


# -- Isso ---------------------------------------------------------------------------------------------
def test_isso(engine, tmp_path):
    report = run_import(engine, "isso", isso_database(tmp_path))
    rows = stored(engine)
    people = by_author(rows)
    assert report.comments_imported == 6
    assert report.statuses == {"published": 4, "pending": 1, "deleted": 1}
    alice = people["Alice"]
    assert (alice["likes"], alice["dislikes"]) == (3, 1)
    assert alice["created"] == 1577880000.5 and alice["edited"] == 1577883600.0
    assert "<strong>post</strong> &amp; thanks &lt;3" in alice["html"]
    assert people["Борис"]["parent_id"] == alice["id"] and people["Борис"]["author_email"] is None
    assert people["Carol"]["status"] == "pending" and people["Carol"]["author_website"] is None
    deleted = [r for r in rows if r["status"] == "deleted"][0]
    assert people["Anonymous"]["parent_id"] == deleted["id"]
    assert [(s.old_id, s.reason) for s in report.skipped] == [("6", "its parent is not in the file")]
    assert {t["uri"] for t in all_threads(engine)} == {"/2020/hello-world/", "/2020/üñí/"}


def test_isso_rejects_a_file_that_is_not_an_isso_database():
    from townsquare.importers.isso import isso_records

    with pytest.raises(ImportFormatError, match="not an SQLite database"):
        list(isso_records(FIXTURES / "disqus.xml"))


# -- Remark42 -----------------------------------------------------------------------------------------
def test_remark42(engine):
    report = run_import(engine, "remark42", FIXTURES / "remark42.jsonl")
    rows = stored(engine)
    people = by_author(rows)
    assert report.comments_imported == 4
    alice = people["Alice"]
    assert alice["text"] == "Hello **world**" and "<strong>world</strong>" in alice["html"]
    assert (alice["likes"], alice["dislikes"]) == (2, 0)
    assert alice["created"] == pytest.approx(1615548116.123456)
    boris = people["Борис"]
    assert boris["parent_id"] == alice["id"] and (boris["likes"], boris["dislikes"]) == (0, 1)
    assert boris["created"] == 1615539600.0 and boris["edited"] == 1615539900.0  # +03:00 offsets
    assert "Привет, мир 🌍 &amp; friends" in boris["html"]
    assert sum(r["status"] == "deleted" for r in rows) == 1
    assert [(s.old_id, s.reason) for s in report.skipped] == [("c4", "its parent is not in the file")]
    threads = {t["uri"]: t for t in all_threads(engine)}
    assert threads["/2021/closed-story/"]["closed"] and not threads["/2021/open-story/"]["closed"]


def test_remark42_gzipped_backup(engine, tmp_path):
    packed = tmp_path / "backup-news-20210313.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "remark42.jsonl").read_bytes()))
    assert run_import(engine, "remark42", packed).comments_imported == 4


def test_remark42_malformed_line_is_named():
    from townsquare.importers.remark42 import remark42_records

    with pytest.raises(ImportFormatError) as caught:
        list(remark42_records(FIXTURES / "remark42_broken.jsonl"))
    assert caught.value.where == "line 3"


# -- Commento -----------------------------------------------------------------------------------------
def test_commento(engine):
    report = run_import(engine, "commento", FIXTURES / "commento.json")
    rows = stored(engine)
    assert report.comments_imported == 5
    assert report.statuses == {"published": 3, "pending": 1, "deleted": 1}
    first, reply = rows[0], rows[1]
    assert first["author_name"] == "Anonymous" and first["likes"] == 1
    assert reply["parent_id"] == first["id"] and reply["dislikes"] == 2
    assert reply["author_name"] == "Saturnin Üf" and reply["author_website"] == "https://example.org/profile/257"
    assert "émoji 🎉" in reply["html"]
    listed_without_name = [r for r in rows if r["text"] == "Awaiting approval"][0]
    assert listed_without_name["author_name"] == "Anonymous" and listed_without_name["author_email"] is None
    assert [(s.old_id, s.reason) for s in report.skipped] == [("aa05", "its parent is not in the file")]


def test_commento_malformed_json_is_refused():
    from townsquare.importers.commento import commento_records

    with pytest.raises(ImportFormatError, match="not valid JSON"):
        list(commento_records(FIXTURES / "commento_broken.json"))


# -- crawled page -------------------------------------------------------------------------------------
def test_seed_page_imports_as_twelve_comments_five_levels(engine):
    report = run_import(engine, "text", FIXTURES / "seed_000.txt")
    rows = stored(engine)
    assert report.comments_imported == 12 and report.skipped_total == 0
    assert [r["author_name"] for r in rows] == [
        "MirM", "oberts mail", "Jiri Klouda", "oberts mail", "Jiri Klouda", "oberts mail",
        "Julie Harbinger", "Jiri Klouda", "Marcus Grant", "Charles Smyth", "Marcus Grant", "ezimako",
    ]
    assert max(depth(rows, r) for r in rows) == 5
    quoted = [r for r in rows if r["quote"]]
    assert len(quoted) == 2
    assert '<blockquote class="quote"><cite>oberts mail wrote:</cite>' in quoted[0]["html"]
    assert "bull sh**t" in quoted[0]["html"]  # plain text: no Markdown emphasis made of it
    thread = all_threads(engine)[0]
    assert thread["title"] == "Putin accuses US of direct contacts with North Caucasus militants"
    assert thread["comment_count"] == 12

"""`townsquare backup`: an online copy of a SQLite database taken while comments are being written."""

from __future__ import annotations

import sqlite3
import threading

from typer.testing import CliRunner

from tests.conftest import add_site
from tests.store_support import insert_comment
from townsquare.cli import app
from townsquare.store import threads as thread_store
from townsquare.store.db import make_engine, migrate

runner = CliRunner()


def test_backup_while_comments_are_written(tmp_path):
    url = f"sqlite:///{tmp_path}/live.db"
    engine = make_engine(url)
    migrate(engine)
    site_id = add_site(engine)
    with engine.begin() as conn:
        thread_id = thread_store.get_or_create(conn, site_id, "/a", "A", "").id

    committed: list[int] = []
    enough = threading.Event()
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                # A comment and its thread's count change together: a consistent copy agrees on both.
                with engine.begin() as conn:
                    comment_id = insert_comment(conn, {"thread_id": thread_id, "author_name": "w",
                                                       "text": "x" * 2000})
                    thread_store.touch(conn, thread_id, 1)
                committed.append(comment_id)
                if len(committed) >= 300:
                    enough.set()
        except BaseException as e:  # noqa: BLE001 (reported by the test)
            failures.append(e)
            enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert enough.wait(120)
        before = list(committed)  # committed before the backup began
        target = tmp_path / "copy.db"
        r = runner.invoke(app, ["backup", str(target), "--db", url])
        during = len(committed)
    finally:
        stop.set()
        writer.join()
    engine.dispose()
    assert not failures, failures
    assert r.exit_code == 0, r.output
    assert "comments" in r.output and "bytes" in r.output

    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    ids = {row[0] for row in copy.execute("SELECT id FROM comments")}
    assert set(before) <= ids
    assert ids == set(committed[: len(ids)])  # no gap: a snapshot, not a mix of moments
    assert copy.execute("SELECT comment_count FROM threads").fetchone() == (len(ids),)
    copy.close()
    assert during >= len(before)
    assert not list(tmp_path.glob(".copy.db.partial"))


def test_backup_refuses_to_overwrite(tmp_path):
    url = f"sqlite:///{tmp_path}/live.db"
    engine = make_engine(url)
    migrate(engine)
    add_site(engine)
    engine.dispose()
    target = tmp_path / "copy.db"
    target.write_bytes(b"keep me")
    r = runner.invoke(app, ["backup", str(target), "--db", url])
    assert r.exit_code == 1 and "--force" in r.output
    assert target.read_bytes() == b"keep me"

    r = runner.invoke(app, ["backup", str(target), "--db", url, "--force"])
    assert r.exit_code == 0, r.output
    assert sqlite3.connect(target).execute("SELECT name FROM sites").fetchall() == [("daily",)]

    r = runner.invoke(app, ["backup", str(tmp_path / "other.db"), "--db", f"sqlite:///{tmp_path}/missing.db"])
    assert r.exit_code == 1 and "no such database file" in r.output
    assert not (tmp_path / "missing.db").exists()


def test_postgresql_is_pointed_at_pg_dump(tmp_path):
    r = runner.invoke(app, ["backup", str(tmp_path / "x.dump"), "--db", "postgresql://ts:s3cret@db.example:5432/news"])
    assert r.exit_code == 1
    assert "pg_dump --format=custom --dbname='postgresql://ts@db.example:5432/news' -f " in r.output
    assert "pg_restore" in r.output and "s3cret" not in r.output
    assert not (tmp_path / "x.dump").exists()

"""`townsquare import` and `townsquare export` as a user runs them (exit codes, messages, files)."""

from __future__ import annotations

import orjson
import pytest
import typer
from typer.testing import CliRunner

from tests.test_import_support import FIXTURES, all_threads, sqlite_database, stored
from townsquare.importers.cli import export_command, import_command

app = typer.Typer()
app.command("import")(import_command)
app.command("export")(export_command)
runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    engine = sqlite_database(tmp_path)
    yield engine, f"sqlite:///{tmp_path / 'townsquare.db'}"
    engine.dispose()


def test_import_the_seed_page(db):
    engine, url = db
    result = runner.invoke(app, ["import", "text", str(FIXTURES / "seed_000.txt"), "--site", "news", "--db", url])
    assert result.exit_code == 0, result.output
    assert "comments imported" in result.output and "12" in result.output
    assert len(stored(engine)) == 12

    again = runner.invoke(app, ["import", "text", str(FIXTURES / "seed_000.txt"), "--site", "news", "--db", url])
    assert again.exit_code == 0 and len(stored(engine)) == 12
    assert "already imported earlier" in again.output


def test_malformed_file_exits_non_zero_naming_the_line(db):
    engine, url = db
    result = runner.invoke(app, ["import", "disqus", str(FIXTURES / "disqus_broken.xml"), "--site", "news", "--db", url])
    assert result.exit_code == 1
    assert "line 18" in result.output and "Nothing was stored" in result.output
    assert stored(engine) == [] and all_threads(engine) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "disqus", "{fixtures}/disqus.xml", "--site", "nope"], "no site named 'nope'"),
        (["import", "blogger", "{fixtures}/disqus.xml", "--site", "news"], "Unknown format 'blogger'"),
        (["import", "disqus", "{fixtures}/missing.xml", "--site", "news"], "no such file"),
        (["import", "disqus", "{fixtures}/disqus.xml"], "--site"),
        (["import", "disqus", "{fixtures}/disqus.xml", "--site", "news", "--resume"], "no interrupted import"),
        (["export", "--format", "disqus"], "--site"),
        (["export", "--site", "nope"], "no site named 'nope'"),
    ],
)
def test_bad_input_gets_a_clear_message(db, args, message):
    _, url = db
    result = runner.invoke(app, [a.format(fixtures=FIXTURES) for a in args] + ["--db", url])
    assert result.exit_code != 0
    assert message in result.output


def test_dry_run_and_full_report(db, tmp_path):
    engine, url = db
    report_file = tmp_path / "report.json"
    result = runner.invoke(app, ["import", "disqus", str(FIXTURES / "disqus.xml"), "--site", "news", "--dry-run",
                                 "--report", str(report_file), "--db", url])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and stored(engine) == []
    [report] = orjson.loads(report_file.read_bytes())
    assert report["comments_imported"] == 10 and report["skipped_total"] == 6
    assert {s["old_id"] for s in report["skipped"]} == {"102", "103", "2009", "2010", "2011", "2001"}


def test_export_then_import_into_a_new_database(db, tmp_path):
    _, url = db
    assert runner.invoke(app, ["import", "disqus", str(FIXTURES / "disqus.xml"), "--site", "news", "--db", url]).exit_code == 0
    first = tmp_path / "all.jsonl"
    result = runner.invoke(app, ["export", "-o", str(first), "--db", url])
    assert result.exit_code == 0 and "10 comments" in result.output

    other = f"sqlite:///{tmp_path / 'other.db'}"
    sqlite_database(tmp_path, name="other.db", site=None).dispose()
    result = runner.invoke(app, ["import", "jsonl", str(first), "--db", other])
    assert result.exit_code == 0, result.output
    second = tmp_path / "again.jsonl"
    assert runner.invoke(app, ["export", "-o", str(second), "--db", other]).exit_code == 0
    assert second.read_bytes() == first.read_bytes()

    xml = tmp_path / "news.xml"
    assert runner.invoke(app, ["export", "--site", "news", "--format", "disqus", "-o", str(xml), "--db", url]).exit_code == 0
    assert xml.read_bytes().startswith(b"<?xml")

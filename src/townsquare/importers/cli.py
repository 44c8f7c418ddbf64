"""`townsquare import` and `townsquare export`, registered on the main command by townsquare.cli."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, NoReturn, Optional

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from townsquare.config import ConfigError, Settings, load_settings

from .everything import restore_records, restore_secret
from .loader import ImportReport
from .records import ImportFormatError
from .run import FORMATS, OWN_FORMAT, ImportProblem, ensure_sites, import_file, records_for, sites_in_file
from .spool import Spool

console = Console(stderr=True)
SHOWN_SKIPS = 20

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML settings file", envvar="TOWNSQUARE_CONFIG")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: TOWNSQUARE_DB or sqlite:///./townsquare.db)")]


def import_command(
    format: Annotated[str, typer.Argument(help=f"One of: {', '.join([*FORMATS, OWN_FORMAT])}", show_default=False)],
    file: Annotated[Path, typer.Argument(help="The export file (an Isso database for 'isso')", show_default=False)],
    site: Annotated[Optional[str], typer.Option("--site", help="Site to import into (a jsonl file may hold several)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted import of this file")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be imported; store nothing")] = False,
    moderate: Annotated[bool, typer.Option("--moderate", help="Send imported comments through moderation")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write the full report (every skipped record) as JSON")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Import discussions from Disqus, WordPress, Isso, Remark42, Commento, crawled pages or a Townsquare export."""
    settings = _settings(config, db)
    if format not in FORMATS and format != OWN_FORMAT:
        _fail(f"Unknown format '{format}'; use one of: {', '.join([*FORMATS, OWN_FORMAT])}.")
    if not file.is_file():
        _fail(f"{file}: no such file.")
    from townsquare.store.db import make_engine, migrate

    engine = make_engine(settings.db)
    migrate(engine)
    reports: list[ImportReport] = []
    restored = None
    names: list[str] = []
    try:
        names = sites_in_file(format, file, site)
        if format != OWN_FORMAT:
            _require_site(engine, names[0])
        elif not dry_run:
            # Before anything signs: the file's secret keys its authors, bans and trusted authors.
            if warning := restore_secret(engine, file):
                console.print(f"[yellow]Warning:[/yellow] {warning}")
        for name in names:
            with Spool() as spool:
                if not resume:
                    with _progress(f"Checking {file.name}") as advance:
                        spool.fill(records_for(format, file, name), advance)
                if format == OWN_FORMAT and not dry_run:
                    ensure_sites(engine, file, [name])
                verb = "Would import" if dry_run else "Importing"
                with _progress(f"{verb} into {name}", None if resume else spool.count) as advance:
                    reports.append(import_file(
                        engine, settings, _signer(engine, settings), format, file, name,
                        checked=None if resume else spool, resume=resume, dry_run=dry_run, moderate=moderate,
                        on_progress=advance,
                    ))
        if format == OWN_FORMAT and not dry_run:
            with _progress("Accounts, subscriptions, bans, webhooks, audit log") as advance:
                restored = restore_records(engine, file, names, advance)
    except ImportFormatError as e:
        _fail(f"{file}: {e}\nNothing was stored from this file." if not reports else f"{file}: {e}")
    except ImportProblem as e:
        _fail(str(e))
    except KeyboardInterrupt:
        # The discussions are all stored once the other records are being restored; those are
        # added only where missing, so the plain command finishes them.
        again = "again" if len(reports) == len(names) else "with --resume"
        console.print(f"[yellow]Interrupted.[/yellow] What was stored stays; to continue, run the same command {again}.")
        raise typer.Exit(130) from None
    for r in reports:
        _print_report(r)
    if restored is not None and (+restored[0] or +restored[1]):
        added, present = +restored[0], +restored[1]
        console.print("Also restored: " + ", ".join(f"{n} {kind}" for kind, n in sorted(added.items())) if added
                      else "Nothing else to restore.")
        if present:
            console.print("Already there (left as they are): "
                          + ", ".join(f"{n} {kind}" for kind, n in sorted(present.items())))
    if report is not None:
        report.write_bytes(orjson.dumps([r.as_json() for r in reports], option=orjson.OPT_INDENT_2))
        console.print(f"Full report: {report}")


def export_command(
    site: Annotated[Optional[str], typer.Option("--site", help="Export one site (default: every site)")] = None,
    format: Annotated[str, typer.Option("--format", help="jsonl (lossless) or disqus (XML, one site)")] = "jsonl",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: standard output)")] = None,
    everything: Annotated[bool, typer.Option("--all", help="jsonl: also accounts (with password hashes), subscriptions, "
                                             "bans, trusted authors, webhooks (with secrets), the audit log and the "
                                             "instance secret: all a move to another database needs")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Export discussions: Townsquare JSON lines (lossless) or Disqus-compatible XML."""
    from townsquare.store.db import make_engine

    from .export import UnknownSite, export_disqus, export_jsonl

    settings = _settings(config, db)
    if format not in ("jsonl", "disqus"):
        _fail(f"Unknown export format '{format}'; use jsonl or disqus.")
    if format == "disqus" and not site:
        _fail("A Disqus export holds one site: name it with --site.")
    if everything and format != "jsonl":
        _fail("--all exports Townsquare JSON lines; leave out --format or use --format jsonl.")
    engine = make_engine(settings.db)
    out = _private(output) if output and everything else output.open("wb") if output else sys.stdout.buffer
    try:
        counts = (export_jsonl(engine, out, site, everything=everything) if format == "jsonl"
                  else export_disqus(engine, out, site))  # type: ignore[arg-type]
    except UnknownSite as e:
        _fail(str(e))
    finally:
        if output:
            out.close()
    console.print(f"Exported {counts.sites} site(s), {counts.threads} threads, {counts.comments} comments"
                  + (f", {counts.accounts} accounts, {counts.subscriptions} subscriptions, {counts.bans} bans, "
                     f"{counts.trusted} trusted authors, {counts.webhooks} webhooks, {counts.audit_entries} "
                     "audit-log entries" if everything else "")
                  + (f" to {output}" if output else ""))
    if everything and settings.secret:
        console.print("This installation signs with its `secret` setting, which is not in the file: give the new "
                      "installation the same setting.")
    if everything:
        console.print("[yellow]Keep this file private:[/yellow] it holds the instance secret, webhook signing "
                      "secrets and the accounts' password hashes" + (" (written readable by you only)." if output else "."))


def _private(path: Path):
    """Open a file for writing that only its owner can read, even if it existed before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _print_report(r: ImportReport) -> None:
    title = f"{'Dry run: nothing stored. ' if r.dry_run else ''}{r.source} → {r.site}"
    table = Table(title=title, show_header=False)
    table.add_row("threads created", str(r.threads_created))
    table.add_row("threads merged into existing ones", str(r.threads_merged))
    table.add_row("comments imported", str(r.comments_imported))
    for status, n in sorted(r.statuses.items()):
        table.add_row(f"  {status}", str(n))
    table.add_row("already imported earlier", str(r.already_imported))
    table.add_row("skipped", str(r.skipped_total))
    for reason, n in r.skipped_by_reason.most_common():
        table.add_row(f"  {reason}", str(n))
    if r.resumed_at:
        table.add_row("resumed at record", str(r.resumed_at + 1))
    console.print(table)
    for s in r.skipped[:SHOWN_SKIPS]:
        console.print(f"  skipped {s.kind} {s.old_id}{f' ({s.where})' if s.where else ''}: {s.reason}")
    if r.skipped_total > SHOWN_SKIPS:
        console.print(f"  … and {r.skipped_total - SHOWN_SKIPS} more (write them all with --report FILE)")


@contextmanager
def _progress(label: str, total: int | None = None) -> Iterator:
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    if total is not None:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
        if total is not None:
            progress.update(task, completed=total)


def _settings(config: Path | None, db: str | None) -> Settings:
    try:
        return load_settings(config, db=db)
    except ConfigError as e:
        console.print(f"[red]Configuration error[/red]\n{e}")
        raise typer.Exit(2) from None


def _require_site(engine, name: str) -> None:
    from townsquare.store import sites as site_store
    from townsquare.store.db import reading

    with reading(engine) as conn:
        if site_store.by_name(conn, name) is None:
            raise ImportProblem(f"There is no site named '{name}'. Create it first: townsquare site add {name}")


def _signer(engine, settings: Settings):
    from townsquare.domain.tokens import Signer
    from townsquare.instance_secret import instance_secret

    return Signer(instance_secret(settings, engine))


def _fail(message: str) -> NoReturn:
    console.print(f"[red]Error:[/red] {message}")
    raise typer.Exit(1)

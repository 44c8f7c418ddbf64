"""`townsquare moderation …`: API keys for the moderator API, and checking a text against a site's
pipeline from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

app = typer.Typer(help="Moderation: API keys, checking texts.", no_args_is_help=True)
console = Console(stderr=True)

if TYPE_CHECKING:
    from townsquare.sites import Publication

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML settings file", envvar="TOWNSQUARE_CONFIG")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL")]


def _engine(config: Path | None, db: str | None):
    from townsquare.cli import engine_for, settings_from

    settings = settings_from(config, db)
    return settings, engine_for(settings)


def _site(config: Path | None, db: str | None, name: str) -> Publication:
    """The site row with its effective settings, or a clear error and exit code 1."""
    from townsquare.errors import NotFound
    from townsquare import sites

    settings, engine = _engine(config, db)
    try:
        return sites.named(engine, settings, name)
    except NotFound as e:
        console.print(f"[red]Error:[/red] {e.detail}")
        raise typer.Exit(1) from None


@app.command("api-key")
def api_key(
    email: Annotated[str, typer.Argument(help="The moderator's login e-mail")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. the CMS it goes into")] = "",
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Create an API key for the moderator JSON API (shown once; only its hash is stored)."""
    from townsquare.errors import NotFound
    from townsquare.moderation.auth import new_api_key

    _settings, engine = _engine(config, db)
    try:
        key = new_api_key(engine, email, name)
    except NotFound:
        console.print(f"[red]Error:[/red] there is no account {email}; create it with `townsquare admin create`.")
        raise typer.Exit(1) from None
    typer.echo(key)
    console.print("Send it as 'Authorization: Bearer <key>' to /api/v1/moderation/…; it is not shown again.")


@app.command("check")
def check(
    site: Annotated[str, typer.Option(help="Site whose moderation rules apply")],
    text: Annotated[str, typer.Argument(help="The comment text ('-' reads it from standard input)")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Print what the pipeline decides for TEXT from a new author on SITE (scores, reasons, spans)."""
    from townsquare.moderation import service

    if text == "-":
        text = typer.get_text_stream("stdin").read()
    typer.echo(json.dumps(service.check(_site(config, db, site), text), indent=2, ensure_ascii=False))


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="CSV with columns text,label (0 fine, 1 flag) and optional category")],
    threshold: Annotated[Optional[float], typer.Option(help="Score at which a comment counts as flagged")] = None,
    site: Annotated[Optional[str], typer.Option(help="Also decide by this site's hold limits (default: the built-in ones)")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Score a labeled CSV with the offline model: precision, recall, F1, ROC-AUC, FPR, per category, speed,
    and what a site's hold limits would publish and hold."""
    import csv

    from townsquare.moderation.evaluate import evaluate, format_report
    from townsquare.moderation.settings import ModerationRules, for_site
    from townsquare.moderation.toxicity import ToxicityModel

    if site is None:
        limits = ModerationRules().hold_thresholds
    else:
        limits = for_site(_site(config, db, site).rules).hold_thresholds

    try:
        with file.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"text", "label"} - set(reader.fieldnames or ())
            if missing:
                console.print(f"[red]Error:[/red] {file}: missing column(s) {', '.join(sorted(missing))}")
                raise typer.Exit(2)
            rows = []
            for line, row in enumerate(reader, start=2):
                if row["label"] not in ("0", "1"):
                    console.print(f"[red]Error:[/red] {file}:{line}: label must be 0 or 1, not {row['label']!r}")
                    raise typer.Exit(2)
                rows.append((row["text"], int(row["label"]), row.get("category") or None))
    except FileNotFoundError:
        console.print(f"[red]Error:[/red] {file}: no such file")
        raise typer.Exit(2) from None
    except (UnicodeDecodeError, csv.Error) as e:
        console.print(f"[red]Error:[/red] {file}: not a readable CSV file ({e})")
        raise typer.Exit(2) from None
    typer.echo(format_report(evaluate(ToxicityModel.load(), rows, threshold=threshold, hold_limits=limits)))


@app.command("close-at")
def close_at_command(
    site: Annotated[str, typer.Argument(help="The thread's site")],
    uri: Annotated[str, typer.Argument(help="The thread's URI, e.g. /2026/12/story")],
    when: Annotated[str, typer.Argument(help="When it stops taking comments: a UTC time (2026-12-10T18:00), "
                                        "'now', or 'none' to drop its own time (the site's close_after_days applies)")],
    by: Annotated[str, typer.Option("--by", help="The moderator's login e-mail (named in the audit log)")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log")] = "",
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Set when a thread closes to new comments."""
    import time
    from datetime import datetime, timezone

    from townsquare.errors import Problem
    from townsquare.moderation import actions, auth

    if when == "none":
        at = None
    elif when == "now":
        at = time.time()
    else:
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            console.print(f"[red]Error:[/red] '{when}' is not a time like 2026-12-10T18:00, 'now' or 'none'.")
            raise typer.Exit(2) from None
        at = (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    settings, engine = _engine(config, db)
    actor = auth.email_actor(engine, by)
    if actor is None:
        console.print(f"[red]Error:[/red] there is no account {by}.")
        raise typer.Exit(1)
    try:
        actions.close_at(engine, actor, actions.thread_at(engine, actor, site, uri), at, reason, settings)
    except Problem as e:
        console.print(f"[red]Error:[/red] {e.detail}")
        raise typer.Exit(1) from None
    typer.echo(f"{site} {uri}: " + ("no close time of its own" if at is None else
                                    "closes " + datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))


@app.command("rescore")
def rescore_command(
    site: Annotated[str, typer.Option(help="Site whose comments are rescored")],
    hold: Annotated[bool, typer.Option("--hold", help="Send published comments that now cross a hold threshold to the queue")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Rescore a site's stored comments with the current model (e.g. after a model update)."""
    from rich.progress import Progress

    from townsquare.moderation import rescore
    from townsquare.moderation.toxicity import ToxicityModel

    settings, engine = _engine(config, db)
    statuses = ("published", "pending")
    total = rescore.count(engine, site, statuses)
    model = ToxicityModel.load(threads=2)
    with Progress(console=console) as bar:
        task = bar.add_task(f"Rescoring {site}", total=total)
        try:
            report = rescore.rescore(engine, settings, site, model, hold=hold, statuses=statuses,
                                     progress=lambda n: bar.advance(task, n))
        except ValueError as e:
            console.print(f"[red]Error:[/red] {e}")
            raise typer.Exit(1) from None
    typer.echo(f"rescored {report.scored} comments in {report.seconds:.1f} s ({report.per_second:.0f}/s); "
               f"{report.over_threshold} at or over a hold threshold; {report.held} sent to the queue")

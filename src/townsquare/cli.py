"""The `townsquare` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from townsquare.config import ConfigError, Settings, load_settings, site_settings

app = typer.Typer(help="Townsquare: threaded comments, local moderation and reader alerts.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
site_app = typer.Typer(help="Manage the sites this instance serves.", no_args_is_help=True)
admin_app = typer.Typer(help="Manage admin and moderator accounts.", no_args_is_help=True)
app.add_typer(site_app, name="site")
app.add_typer(admin_app, name="admin")
config_app = typer.Typer(help="The configuration: its reference.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console(stderr=True)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML settings file", envvar="TOWNSQUARE_CONFIG")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: TOWNSQUARE_DB or sqlite:///./townsquare.db)")]


def settings_from(config: Path | None, db: str | None, **overrides) -> Settings:
    try:
        return load_settings(config, db=db, **overrides)
    except ConfigError as e:
        console.print(f"[red]Configuration error[/red]\n{escape(str(e))}", soft_wrap=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1):
    # soft_wrap: a path or command in the message stays one piece when copied from the terminal.
    console.print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def engine_for(settings: Settings):
    from townsquare.store.db import make_engine

    return make_engine(settings.db)


@app.command()
def migrate(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Create the database schema, or bring it up to date."""
    from townsquare.store.db import migrate as run

    settings = settings_from(config, db)
    run(engine_for(settings))
    console.print(f"Database is up to date: {settings.db}")


@app.command()
def serve(
    config: ConfigOpt = None,
    db: DbOpt = None,
    host: Annotated[Optional[str], typer.Option(help="Address to listen on")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: one per core)")] = None,
) -> None:
    """Serve the API, the embed and the admin pages (migrating the database first)."""
    from townsquare.serving import serve as run_server
    from townsquare.serving import worker_count
    from townsquare.store.db import migrate as run

    settings = settings_from(config, db, host=host, port=port, workers=workers)
    sock = _listen(settings, "--port N (or `port` in the settings, TOWNSQUARE_PORT=N)")
    engine = engine_for(settings)
    run(engine)
    engine.dispose()
    n = worker_count(settings)
    how = f"{n} worker{'s' if n > 1 else ''}" + (" (one per core); --workers to change" if settings.workers is None else "")
    console.print(f"Townsquare on http://{settings.host}:{settings.port}/  (database {settings.db}; {how})")
    if warning := public_url_warning(settings):
        console.print(f"[yellow]Warning:[/yellow] {warning}", soft_wrap=True)
    run_server(settings, sock)


def _listen(settings: Settings, how_to_change: str):
    """The bound listening socket, or exit 1 saying the port is taken and how to choose another:
    before anything else is printed or done."""
    from townsquare.serving import listen

    try:
        return listen(settings)
    except OSError as e:
        fail(f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}. "
             f"Choose another port with {how_to_change}.")


@site_app.command("add")
def site_add(
    name: str,
    origin: Annotated[list[str], typer.Option("--origin", help="Allowed origin, e.g. https://news.example.org (repeatable; '*' for any)")],
    title: Annotated[str, typer.Option(help="Display name")] = "",
    moderation: Annotated[Optional[str], typer.Option(help="pre, post or auto")] = None,
    edit_window: Annotated[Optional[int], typer.Option(help="Seconds an author may edit")] = None,
    settings_json: Annotated[Optional[str], typer.Option("--settings", help="More site settings as a JSON object")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a site (one instance serves many)."""
    from townsquare.store import sites as site_store
    from townsquare.store.db import migrate as run

    settings = settings_from(config, db)
    origins = [_origin(o) for o in origin]
    try:
        stored = json.loads(settings_json) if settings_json else {}
    except json.JSONDecodeError as e:
        fail(f"--settings is not valid JSON: {e}", 2)
    if not isinstance(stored, dict):
        fail("--settings must be a JSON object", 2)
    stored.update({k: v for k, v in (("moderation", moderation), ("edit_window", edit_window)) if v is not None})
    try:
        site_settings(settings.site_defaults, stored)
    except ConfigError as e:
        fail(str(e), 2)
    engine = engine_for(settings)
    run(engine)
    with engine.begin() as conn:
        if site_store.by_name(conn, name):
            fail(f"A site named '{name}' exists already.")
        site_store.create(conn, name, title or name, origins, stored)
    console.print(f"Added site '{name}' ({', '.join(origins)})")


def _origin(value: str) -> str:
    value = value.strip().rstrip("/")
    if value != "*" and not value.startswith(("http://", "https://")):
        fail(f"'{value}' is not an origin; write it like https://news.example.org", 2)
    return value


@site_app.command("list")
def site_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """List the sites."""
    from townsquare.site_config import redacted
    from townsquare.store import sites as site_store

    settings = settings_from(config, db)
    with engine_for(settings).connect() as conn:
        sites = site_store.every(conn)
    table = Table("name", "title", "origins", "settings")
    for s in sites:
        table.add_row(s.name, s.title, " ".join(s.origins), str(redacted(s.settings) or "defaults"))
    Console().print(table)


@site_app.command("key")
def site_key(name: str, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Issue a new API key for a site's CMS (articles, feeds, webhooks); the old key stops working."""
    import hashlib
    import secrets

    from townsquare.store import sites as site_store

    settings = settings_from(config, db)
    key = "tss_" + secrets.token_urlsafe(32)
    with engine_for(settings).begin() as conn:
        site = site_store.by_name(conn, name)
        if site is None:
            fail(f"There is no site named '{name}'.")
        site_store.update_site(conn, site.id, api_key_hash=hashlib.sha256(key.encode()).hexdigest())
    typer.echo(key)
    console.print("Send it as 'Authorization: Bearer <key>'; it is not shown again.")


@site_app.command("set")
def site_set(
    name: str,
    settings_json: Annotated[str, typer.Option("--settings", help='Settings to change, as a JSON object, e.g. \'{"moderation": "pre"}\'; null restores the default')],
    by: Annotated[Optional[str], typer.Option("--by", help="Who makes the change, for the audit log (default: the system user)")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Change a site's settings (merged over its current ones; see docs/configuration.md)."""
    from townsquare import site_config
    from townsquare.errors import Problem

    settings = settings_from(config, db)
    try:
        changes = json.loads(settings_json)
    except json.JSONDecodeError as e:
        fail(f"--settings is not valid JSON: {e}", 2)
    try:
        changed = site_config.change(engine_for(settings), settings.site_defaults, name, changes,
                                     actor=by or _system_user())
    except Problem as e:
        fail(e.detail, 1 if e.status == 404 else 2)
    for key, change in changed.items():
        console.print(f"{key}: {_shown(change['from'])} -> {_shown(change['to'])}")
    console.print(f"Site '{name}': {len(changed)} setting(s) changed" if changed else f"Site '{name}': nothing changed")


def _shown(value) -> str:
    return "(default)" if value is None else json.dumps(value)


def _system_user() -> str:
    import getpass

    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):  # no name for this uid (containers)
        return "command line"


@site_app.command("show")
def site_show(name: str, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Print a site and its effective settings (its own values over the instance defaults) as JSON."""
    from townsquare import sites
    from townsquare.errors import NotFound
    from townsquare.site_config import redacted

    settings = settings_from(config, db)
    try:
        site = sites.named(engine_for(settings), settings, name)
    except NotFound as e:
        fail(e.detail)
    typer.echo(json.dumps({"name": site.name, "title": site.title, "origins": list(site.origins),
                           "settings": redacted(site.rules.model_dump(mode="json")),
                           "own_settings": redacted(site.site.settings)},
                          indent=2, ensure_ascii=False))


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Copy a SQLite database while it is in use (a consistent snapshot); for PostgreSQL, say how to use pg_dump."""
    from townsquare.store.backup import BackupError, backup_sqlite, pg_dump_command, sqlite_file

    settings = settings_from(config, db)
    try:
        source = sqlite_file(settings.db)
        if source is None:
            dump, restore = pg_dump_command(settings.db, file)
            typer.echo("`townsquare backup` copies SQLite databases. For PostgreSQL use its own tools "
                       f"(the password from PGPASSWORD or ~/.pgpass):\n  back up:  {dump}\n  restore:  {restore}",
                       err=True)
            raise typer.Exit(1)
        done = backup_sqlite(source, file, force=force)
    except BackupError as e:
        fail(str(e))
    console.print(f"Backed up {source} to {done.path}: {done.size:,} bytes; {done.sites} site(s), "
                  f"{done.threads} threads, {done.comments} comments, {done.subscriptions} subscriptions, "
                  f"{done.accounts} accounts, {done.audit_entries} audit-log entries (integrity check: ok)")


@config_app.command("reference")
def config_reference() -> None:
    """Print the configuration reference (every setting: type, default, environment variable, meaning) as Markdown."""
    from townsquare.config_reference import reference

    typer.echo(reference(), nl=False)


def public_url_warning(settings: Settings) -> str | None:
    """Links in mails and feeds are built from public_url; without it they name this server's own
    address, which readers elsewhere cannot open."""
    import ipaddress

    if settings.public_url:
        return None
    host = settings.host.strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return (f"public_url is not set, so links in confirmation mails and alerts point at "
            f"http://{settings.host}:{settings.port}/. Set public_url (TOWNSQUARE_PUBLIC_URL) to the address "
            "readers use, e.g. public_url = \"https://comments.example.org\".")


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="Login e-mail")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="TOWNSQUARE_ADMIN_PASSWORD")],
    name: Annotated[str, typer.Option()] = "",
    role: Annotated[str, typer.Option(help="admin or moderator")] = "admin",
    site: Annotated[Optional[list[str]], typer.Option(help="Sites a moderator may moderate")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Create an admin or moderator account."""
    from townsquare import accounts
    from townsquare.store.db import migrate as run

    settings = settings_from(config, db)
    engine = engine_for(settings)
    run(engine)
    try:
        accounts.create_user(engine, email=email, password=password, name=name, role=role, site_names=tuple(site or ()))
    except ValueError as e:
        fail(str(e), 2)
    console.print(f"Created {role} {email}")


@app.command()
def demo(
    port: Annotated[Optional[int], typer.Option(help="Port (default: the settings' port, 8000)")] = None,
    db: Annotated[str, typer.Option(help="Database URL")] = "sqlite:///./var/demo.db",
    config: ConfigOpt = None,
) -> None:
    """Start Townsquare with the demo news site (the seed article and two more) on SQLite."""
    from townsquare.demo import demo_admin, load_demo
    from townsquare.serving import serve as serve_app
    from townsquare.store.db import make_engine
    from townsquare.store.db import migrate as run

    # The demo has no mail server: alerts go to an mbox file any mail reader opens.
    settings = settings_from(config, db, port=port, workers=1, demo=True, email={"backend": "file"})
    sock = _listen(settings, "`make demo PORT=8011` or `townsquare demo --port 8011` (or TOWNSQUARE_PORT=8011)")
    if db.startswith("sqlite:///./"):
        Path(db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db)
    run(engine)
    unmoderated = load_demo(engine, settings)
    email, password = demo_admin(engine)
    engine.dispose()
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"Demo news site: {base}/")
    console.print(f"Moderation:     {base}/admin/ (a new password at each start)")
    console.print(f"  e-mail:       {email}", highlight=False)
    console.print(f"  password:     {password}", highlight=False, markup=False)
    console.print(f"Alert e-mails are written to {settings.email.mailbox} (an mbox file)")
    if unmoderated:
        console.print(f"[yellow]{unmoderated} seed comments in {settings.db} were stored unmoderated by an earlier "
                      "version; delete that database to load them through moderation.[/yellow]")
    serve_app(settings, sock)


@app.command()
def worker(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Deliver alerts from the outbox (run any number of these beside `serve`)."""
    from townsquare.alerts.worker import run_blocking

    settings = settings_from(config, db)
    console.print("Alerts worker running; Ctrl-C stops it.")
    run_blocking(engine_for(settings), settings)


def _register_feature_commands() -> None:
    """Commands whose code lives with their part (importers, moderation)."""
    from townsquare.importers.cli import export_command, import_command
    from townsquare.moderation.cli import app as moderation_app

    app.command("import")(import_command)
    app.command("export")(export_command)
    app.add_typer(moderation_app, name="moderation")


_register_feature_commands()


def main() -> None:
    try:
        app()
    except ConfigError as e:
        console.print(f"[red]Configuration error[/red]\n{escape(str(e))}", soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

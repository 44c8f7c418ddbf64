"""Configuration validation and the command line, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import townsquare
from townsquare.config import ConfigError, load_settings

# The code under test, whatever the working directory of the child process.
PYTHONPATH = os.pathsep.join(p for p in (str(Path(townsquare.__file__).resolve().parents[1]),
                                         os.environ.get("PYTHONPATH", "")) if p)


def test_toml_and_environment(tmp_path):
    cfg = tmp_path / "townsquare.toml"
    cfg.write_text('port = 9000\n[site_defaults]\nedit_window = 600\nmoderation = "pre"\n')
    s = load_settings(cfg, environ={"TOWNSQUARE_PORT": "9100", "TOWNSQUARE_SITE_DEFAULTS__MAX_LENGTH": "500"})
    assert s.port == 9100 and s.site_defaults.edit_window == 600 and s.site_defaults.max_length == 500
    assert s.site_defaults.moderation == "pre"


@pytest.mark.parametrize("content, message", [
    ("prot = 9000\n", "unknown setting 'prot'"),
    ("[site_defaults]\nedit_window = 'soon'\n", "'site_defaults.edit_window'"),
    ("[site_defaults]\nmoderation = 'sometimes'\n", "'site_defaults.moderation'"),
    ("port = \n", "not valid TOML"),
])
def test_bad_config_is_named(tmp_path, content, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, environ={})
    assert message in str(e.value) and str(cfg) in str(e.value)


def test_unknown_environment_key():
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings(None, environ={"TOWNSQUARE_PROT": "1"})


def run(*args, env_db, **env):
    return subprocess.run([sys.executable, "-m", "townsquare.cli", *args], capture_output=True, text=True,
                          env={"TOWNSQUARE_DB": env_db, "PATH": "/usr/bin:/bin", "COLUMNS": "200", "PYTHONPATH": PYTHONPATH,
                               **env}, timeout=120)


def test_cli_migrate_site_admin(tmp_path):
    db = f"sqlite:///{tmp_path}/cli.db"
    assert run("migrate", env_db=db).returncode == 0
    r = run("site", "add", "daily", "--origin", "https://daily.example", "--moderation", "pre", env_db=db)
    assert r.returncode == 0, r.stderr
    r = run("site", "add", "daily", "--origin", "https://daily.example", env_db=db)
    assert r.returncode == 1 and "exists already" in r.stderr
    r = run("site", "add", "other", "--origin", "daily.example", env_db=db)
    assert r.returncode == 2 and "is not an origin" in r.stderr
    r = run("site", "add", "other", "--origin", "https://o.example", "--moderation", "never", env_db=db)
    assert r.returncode == 2 and "moderation" in r.stderr
    listing = run("site", "list", env_db=db)
    assert "daily" in listing.stdout and "https://daily.example" in listing.stdout and "other" not in listing.stdout
    r = run("admin", "create", "--email", "ed@daily.example", "--password", "correct horse battery", env_db=db)
    assert r.returncode == 0, r.stderr
    r = run("admin", "create", "--email", "ed@daily.example", "--password", "correct horse battery", env_db=db)
    assert r.returncode == 2 and "exists already" in r.stderr
    r = run("admin", "create", "--email", "x@daily.example", "--password", "short", env_db=db)
    assert r.returncode == 2 and "at least 10" in r.stderr


def test_cli_bad_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("colour = 'blue'\n")
    r = run("migrate", "--config", str(cfg), env_db=f"sqlite:///{tmp_path}/x.db")
    assert r.returncode == 2 and "unknown setting 'colour'" in r.stderr
    r = run("site", "list", env_db=f"sqlite:///{tmp_path}/x.db", TOWNSQUARE_CONFIG=str(cfg))
    assert r.returncode == 2 and "unknown setting 'colour'" in r.stderr and str(cfg) in r.stderr


def test_command_line_variables_are_not_settings():
    s = load_settings(None, environ={"TOWNSQUARE_CONFIG": "elsewhere.toml", "TOWNSQUARE_ADMIN_PASSWORD": "hunter2",
                                     "TOWNSQUARE_PORT": "9001"})
    assert s.port == 9001

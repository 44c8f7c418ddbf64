"""`townsquare serve` and friends run as an operator runs them: a real process, a config file,
a real SMTP server on 127.0.0.1, and signals to stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import townsquare
from tests.test_alerts_support import SmtpSink, free_port

# The code under test, whatever the working directory of the child process.
SRC = Path(townsquare.__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
START_SECONDS = 60
MAIL_SECONDS = 30
STOP_SECONDS = 20


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env["COLUMNS"] = "200"  # keep the console's messages on one line
    return env | extra


def townsquare_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "townsquare.cli", *args]


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(townsquare_cmd(*args), cwd=tmp_path, env=child_env(**env), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


def write_config(tmp_path: Path, smtp_port: int, **extra: str) -> tuple[Path, int]:
    port = free_port()
    lines = [f'db = "sqlite:///{tmp_path}/ts.db"', f"port = {port}", f'public_url = "http://news.test:{port}"',
             *(f"{k} = {v}" for k, v in extra.items()),
             "[email]", 'smtp_host = "127.0.0.1"', f"smtp_port = {smtp_port}",
             'sender = "Daily <alerts@daily.example>"', "timeout = 5"]
    cfg = tmp_path / "ts.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg, port


def wait_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited with {server.returncode}: {server.stderr.read()}"
        try:
            if httpx.get(base + "/healthz", timeout=2).json() == {"status": "ok"}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the server did not answer /healthz within {START_SECONDS}s")


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, timeout=10)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent has not reaped it yet).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stop(server: subprocess.Popen) -> None:
    """SIGTERM, as a service manager stops it: a clean stop, or a failure if it hangs."""
    server.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal once it has shut down gracefully, so -SIGTERM is clean too.
    assert server.wait(timeout=STOP_SECONDS) in (0, -signal.SIGTERM), server.stderr.read()


def kill_all(server: subprocess.Popen, pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    if server.poll() is None:
        server.kill()
        server.wait(timeout=10)


def sign_up_and_receive(base: str, smtp: SmtpSink, public_url: str) -> None:
    """A reader signs up for news alerts: the confirmation goes out through the configured SMTP server."""
    r = httpx.post(base + "/api/v1/subscriptions", timeout=10,
                   json={"site": "daily", "kind": "news", "address": "reader@example.org"})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + MAIL_SECONDS
    while not smtp.to("reader@example.org") and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = smtp.to("reader@example.org")
    assert mail["From"] == "Daily <alerts@daily.example>"
    text = mail.get_body(("plain",)).get_content()
    assert f"{public_url}/alerts/confirm?token=" in text


def test_serve_with_config_option_sends_mail(tmp_path, smtp):
    cfg, port = write_config(tmp_path, smtp.port)
    assert run(tmp_path, "site", "add", "daily", "--origin", "https://daily.example", "--config", str(cfg)).returncode == 0
    server = subprocess.Popen(townsquare_cmd("serve", "--config", str(cfg), "--workers", "1"), cwd=tmp_path, env=child_env(),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server)
        sign_up_and_receive(base, smtp, f"http://news.test:{port}")
        stop(server)
    finally:
        kill_all(server, [])


def test_serve_two_workers_from_environment_config(tmp_path, smtp):
    cfg, port = write_config(tmp_path, smtp.port)
    env = {"TOWNSQUARE_CONFIG": str(cfg)}
    assert run(tmp_path, "site", "add", "daily", "--origin", "https://daily.example", **env).returncode == 0
    server = subprocess.Popen(townsquare_cmd("serve", "--workers", "2"), cwd=tmp_path, env=child_env(**env),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server)
        pids = children(server.pid)
        workers = [p for p in pids if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) == 2, pids
        # Each worker answers alone while the other is paused: both accept on the shared socket.
        for paused in workers:
            os.kill(paused, signal.SIGSTOP)
            try:
                assert httpx.get(base + "/healthz", timeout=10).status_code == 200
            finally:
                os.kill(paused, signal.SIGCONT)
        sign_up_and_receive(base, smtp, f"http://news.test:{port}")
        stop(server)
        deadline = time.monotonic() + STOP_SECONDS
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if alive(p)], "worker processes outlived the server"
    finally:
        kill_all(server, pids)


def test_serve_runs_one_worker_per_core_unless_told(tmp_path, smtp):
    cfg, port = write_config(tmp_path, smtp.port)
    server = subprocess.Popen(townsquare_cmd("serve", "--config", str(cfg)), cwd=tmp_path, env=child_env(),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pids: list[int] = []
    cores = min(os.cpu_count() or 1, 64)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        pids = children(server.pid)
        if cores > 1:
            assert len([p for p in pids if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]) == cores, pids
        stop(server)
        said = server.stderr.read()
        assert f"{cores} worker{'s' if cores > 1 else ''} (one per core); --workers to change" in said, said
    finally:
        kill_all(server, pids)


def test_serve_reports_a_taken_port_first(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(tmp_path, "serve", "--db", f"sqlite:///{tmp_path}/ts.db", "--port", str(port))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}") and "--port" in r.stderr, r.stderr
    assert not (tmp_path / "ts.db").exists()


@pytest.mark.parametrize("how", ["config", "db"])
def test_admin_create_takes_password_from_environment(tmp_path, how):
    cfg = tmp_path / "ts.toml"
    cfg.write_text(f'db = "sqlite:///{tmp_path}/ts.db"\n')
    where = ["--config", str(cfg)] if how == "config" else ["--db", "sqlite:///./var/demo.db"]
    (tmp_path / "var").mkdir()
    r = run(tmp_path, "admin", "create", "--email", "ed@daily.example", *where, TOWNSQUARE_ADMIN_PASSWORD=PASSWORD)
    assert r.returncode == 0, r.stderr
    assert "Created admin ed@daily.example" in r.stderr
    if how == "db":  # e.g. the demo's database
        assert (tmp_path / "var" / "demo.db").exists()


@pytest.mark.parametrize("how", ["option", "environment"])
def test_unknown_key_in_config_stops_serve(tmp_path, how):
    cfg = tmp_path / "ts.toml"
    cfg.write_text(f'db = "sqlite:///{tmp_path}/ts.db"\ncolour = "blue"\n')
    if how == "option":
        r = run(tmp_path, "serve", "--config", str(cfg))
    else:
        r = run(tmp_path, "serve", TOWNSQUARE_CONFIG=str(cfg))
    assert r.returncode == 2
    assert "unknown setting 'colour'" in r.stderr and str(cfg) in r.stderr

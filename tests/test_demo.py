"""`townsquare demo`: the seed page goes through moderation as it is loaded, the demo's own admin
signs in, and a taken port is reported before anything else. In-process on real SQLite, and as a
real process for what the command prints."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from townsquare.alerts.subscriptions import normalize_target
from townsquare.config import load_settings
from townsquare.demo import load_demo
from townsquare.moderation import queue
from townsquare.moderation.toxicity import DEFAULT_MODEL_DIR
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import comments
from townsquare.web.paths import STATIC

from tests.moderation_support import csrf_of
from tests.test_alerts_support import free_port
from tests.test_serve_cli import child_env, townsquare_cmd

START_SECONDS = 90
needs_model = pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "head.npz").exists(),
                                 reason="the toxicity model is not built (training/ rebuilds it)")

HELD = [  # (author, words): the hate comment and the two insults of the origin page
    ("Julie Harbinger", "the muslims and their pharisee talmudists"),
    ("oberts mail", "the stupidest creatures on the planet"),
    ("oberts mail", "Are you Putin’s boyfriend?"),
]
CIVIL = [
    ("MirM", "Putin is right."),
    ("Charles Smyth", "It’s not as if the Russians do not do the same thing"),
    ("ezimako", "or am I mistaken?"),
    ("Marcus Grant", "support for Jihadists by Russia?"),
]


@pytest.fixture
def loaded(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    settings = load_settings(None, environ={}, db=url, demo=True)
    load_demo(engine, settings)
    yield engine, settings
    engine.dispose()


def the_comment(rows, author: str, words: str):
    [row] = [r for r in rows if r.author_name == author and words in r.text]
    return row


@needs_model
def test_loading_holds_the_hate_and_insults_with_their_reasons_and_publishes_the_civil(loaded):
    engine, settings = loaded
    with engine.connect() as conn:
        rows = conn.execute(select(comments).order_by(comments.c.id)).all()
        site_ids = frozenset({site_store.by_name(conn, "demo").id})
        waiting = {item["id"]: item for item in queue.page(conn, site_ids, "pending", limit=100).items}
    assert len(rows) == 12
    for author, words in CIVIL:
        assert the_comment(rows, author, words).status == "published", (author, words)
    for author, words in HELD:
        row = the_comment(rows, author, words)
        assert row.status == "pending", (author, words)
        reasons = waiting[row.id]["decision"]["reasons"]  # what the queue shows beside it
        assert {r["phase"] for r in reasons} & {"toxicity", "heat"}, reasons
        labels = {r["label"] for r in reasons}
        assert labels & {"identity_attack", "insult", "toxicity"}, reasons
        spans = [tuple(s) for r in reasons for s in r["spans"]]
        assert spans and all(0 <= a < b <= len(row.text) for a, b in spans), reasons
    assert "identity_attack" in {r["label"] for r in waiting[the_comment(rows, *HELD[0]).id]["decision"]["reasons"]}
    # Whatever else the default rules hold waits in the queue too, each with its reason.
    assert {r.id for r in rows if r.status == "pending"} == set(waiting)
    assert all(r["detail"] for item in waiting.values() for r in item["decision"]["reasons"])
    assert all(item["decision"]["reasons"] for item in waiting.values())
    # A second start adds nothing and decides nothing again.
    assert load_demo(engine, settings) == 0
    with engine.connect() as conn:
        again = conn.execute(select(comments.c.id, comments.c.status).order_by(comments.c.id)).all()
    assert [tuple(r) for r in again] == [(r.id, r.status) for r in rows]


def test_the_alert_box_example_number_is_one_the_sign_up_accepts():
    script = (STATIC / "alerts.js").read_text(encoding="utf-8")
    [example] = re.findall(r'placeholder = wa \? "([^"]+)"', script)
    assert normalize_target("whatsapp", example).startswith("+")


def run_demo(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(townsquare_cmd("demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}", *args), cwd=tmp_path,
                          env=child_env(**env), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_taken_port_is_reported_first_with_how_to_choose_another(tmp_path, how):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        if how == "option":
            r = run_demo(tmp_path, "--port", str(port))
        else:
            r = run_demo(tmp_path, TOWNSQUARE_PORT=str(port))
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}"), r.stderr
    assert "make demo PORT=" in r.stderr and "--port" in r.stderr
    assert not (tmp_path / "demo.db").exists()  # nothing was done before the port was known


@needs_model
def test_the_demo_prints_admin_credentials_that_sign_in(tmp_path):
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        server = subprocess.Popen(townsquare_cmd("demo", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'demo.db'}"),
                                  cwd=tmp_path, env=child_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + START_SECONDS
        while "password:" not in log.read_text() and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        printed = log.read_text()
        base = f"http://127.0.0.1:{port}"
        assert f"{base}/admin/" in printed, printed
        email = re.search(r"e-mail:\s+(\S+)", printed).group(1)
        password = re.search(r"password:\s+(\S+)", printed).group(1)
        assert email == "admin@demo.local"
        with httpx.Client(base_url=base, timeout=10) as web:
            while True:  # the server starts right after printing
                try:
                    form = web.get("/admin/login")
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                    time.sleep(0.2)
            signed_in = web.post("/admin/login", data={"email": email, "password": password,
                                                       "csrf": csrf_of(form.text), "next": "/admin/queue/pending"})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin/queue/pending"
            waiting = web.get("/admin/queue/pending")
            assert waiting.status_code == 200 and "Julie Harbinger" in waiting.text
            assert "attacks a group for who they are" in waiting.text
            alerts = web.get("/admin/alerts")
            assert alerts.status_code == 200 and alerts.headers["content-type"].startswith("text/html")
            assert "Alert deliveries · demo" in alerts.text
    finally:
        server.terminate()
        server.wait(timeout=30)

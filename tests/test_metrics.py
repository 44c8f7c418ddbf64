"""/metrics: the database's operations figures, the model's latency, and the sum over all the
workers of `serve --workers N` whichever worker answers."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.conftest import LENIENT, add_site
from tests.test_alerts_support import free_port
from tests.test_serve_cli import child_env, children, kill_all, run, stop, townsquare_cmd, wait_healthy
from townsquare.app import create_app

ORIGIN = {"Origin": "https://daily.example"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def client(engine, settings):
    add_site(engine, moderation="pre", moderation_rules=LENIENT)
    add_site(engine, name="weekly", origins=("https://weekly.example",))
    with TestClient(create_app(settings, engine)) as c:
        yield c


def test_operations_figures_come_from_the_database(client):
    before = samples(client.get("/metrics").text)
    assert before[("townsquare_moderation_queue", (("site", "daily"),))] == 0
    assert before[("townsquare_outbox_waiting", ())] == 0
    assert before[("townsquare_outbox_oldest_waiting_seconds", ())] == 0

    posted = client.post("/api/v1/comments", headers=ORIGIN,
                         json={"site": "daily", "uri": "/a", "text": "A remark about the budget.", "author": {"name": "Ann"}})
    assert posted.status_code == 201 and posted.json()["comment"]["status"] == "pending"
    signed = client.post("/api/v1/subscriptions", json={"site": "daily", "kind": "news", "address": "reader@example.org"})
    assert signed.status_code == 202

    after = samples(client.get("/metrics").text)
    assert after[("townsquare_moderation_queue", (("site", "daily"),))] == 1
    assert after[("townsquare_moderation_queue", (("site", "weekly"),))] == 0
    assert after[("townsquare_outbox_waiting", ())] >= 1  # the confirmation mail, no worker running
    assert after[("townsquare_outbox_oldest_waiting_seconds", ())] >= 0
    assert after[("townsquare_deliveries", (("channel", "email"), ("status", "pending")))] == 1
    model = ("townsquare_model_seconds_count", ())
    assert after[model] >= before.get(model, 0) + 1


def scrape_until(base: str, key: tuple, expected: float) -> float:
    """The figure once it reaches `expected`, or as it stands after a while: a request is counted
    just after its answer has gone out."""
    deadline = time.monotonic() + 10
    while True:
        value = samples(httpx.get(base + "/metrics", timeout=10).text).get(key, 0)
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_metrics_add_up_every_worker(tmp_path):
    cfg = tmp_path / "ts.toml"
    port = free_port()
    cfg.write_text(f'db = "sqlite:///{tmp_path}/ts.db"\nport = {port}\n[alerts]\nworker_in_serve = false\n')
    assert run(tmp_path, "migrate", "--config", str(cfg)).returncode == 0
    server = subprocess.Popen(townsquare_cmd("serve", "--workers", "2", "--config", str(cfg)), cwd=tmp_path,
                              env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server)
        pids = children(server.pid)
        workers = [p for p in pids if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) == 2, pids
        for _ in range(20):  # a connection each, so both workers answer some
            assert httpx.get(base + "/", timeout=10).status_code == 200
        key = ("townsquare_request_seconds_count", (("method", "GET"), ("route", "/"), ("status", "200")))
        # Scrape each worker alone (the other paused): each reports the requests of both.
        for paused in workers:
            os.kill(paused, signal.SIGSTOP)
            try:
                assert scrape_until(base, key, 20) == 20
            finally:
                os.kill(paused, signal.SIGCONT)
        stop(server)
        leftover = list(Path(tempfile.gettempdir()).glob(f"townsquare-metrics-*/*_{workers[0]}.db"))
        assert not leftover, "the run's metrics directory outlived it"
    finally:
        kill_all(server, pids)

"""The dashboard's figures (GET /api/v1/moderation/stats) equal the generated activity, on SQLite and
PostgreSQL; the endpoint asks for a moderator key of the site and refuses a bad period."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from townsquare.moderation import stats

from .dashboard_support import generate
from .moderation_support import add_moderator, add_site, moderation_app


@pytest.fixture
def app_client(engine, settings):
    site_id = add_site(engine)
    other_id = add_site(engine, "weekly")
    with TestClient(moderation_app(settings, engine), base_url="http://testserver") as c:
        yield c, engine, site_id, other_id


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_figures_equal_the_generated_activity(app_client):
    client, engine, site_id, other_id = app_client
    expected = generate(engine, site_id, days=10, other_site_id=other_id)
    _, key = add_moderator(engine)
    resp = client.get("/api/v1/moderation/stats", params={"site": "daily", "days": 10}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["site"] == "daily" and got["days"] == 10
    assert got["per_day"] == expected["per_day"]
    assert got["since"] == expected["per_day"][0]["date"]
    assert got["queue"]["pending"] == expected["pending"]
    assert abs(got["queue"]["oldest_age_s"] - (expected["now"] - expected["oldest"])) < 120
    assert {r["phase"]: r["comments"] for r in got["held_reasons"]} == expected["held_reasons"]
    assert got["held_read"] == sum(d["held"] for d in expected["per_day"])
    assert [b["comments"] for b in got["toxicity"]] == expected["toxicity"]
    assert got["scored"] == sum(expected["toxicity"])
    assert [b["low"] for b in got["toxicity"]] == [i / 10 for i in range(10)]
    assert {t["uri"]: t["comments"] for t in got["top_threads"]} == expected["top_threads"]
    counts = [t["comments"] for t in got["top_threads"]]
    assert counts == sorted(counts, reverse=True)


def test_a_threads_figures_equal_its_own_activity(app_client):
    client, engine, site_id, other_id = app_client
    expected = generate(engine, site_id, days=10, other_site_id=other_id)
    _, key = add_moderator(engine)
    seen = 0
    for uri, want in expected["threads"].items():
        resp = client.get("/api/v1/moderation/stats", params={"site": "daily", "days": 10, "thread": uri},
                          headers=auth(key))
        assert resp.status_code == 200, resp.text
        got = resp.json()
        assert got["thread"] == {"uri": uri, "title": f"Story {uri[-1]}"}
        assert got["per_day"] == want["per_day"], uri
        assert got["queue"]["pending"] == want["pending"]
        if want["oldest"] is not None:
            assert abs(got["queue"]["oldest_age_s"] - (expected["now"] - want["oldest"])) < 120
        assert {r["phase"]: r["comments"] for r in got["held_reasons"]} == want["held_reasons"]
        counts = [r["comments"] for r in got["held_reasons"]]
        assert counts == sorted(counts, reverse=True)
        assert [b["comments"] for b in got["toxicity"]] == want["toxicity"]
        assert got["top_threads"] == []
        seen += sum(d["published"] + d["held"] + d["rejected"] + d["deleted"] for d in got["per_day"])
    site = client.get("/api/v1/moderation/stats", params={"site": "daily", "days": 10}, headers=auth(key)).json()
    # The threads' figures add up to the site's.
    assert seen == sum(d["published"] + d["held"] + d["rejected"] + d["deleted"] for d in site["per_day"])
    for column in ("votes", "reports"):
        assert sum(d[column] for d in site["per_day"]) == sum(
            d[column] for w in expected["threads"].values() for d in w["per_day"])


def test_an_unknown_thread_is_a_404_problem(app_client):
    client, engine, site_id, other_id = app_client
    generate(engine, site_id, days=3, other_site_id=other_id)
    _, key = add_moderator(engine)
    for uri in ("/no-such-story", "/elsewhere"):  # "/elsewhere" is the other site's
        resp = client.get("/api/v1/moderation/stats", params={"site": "daily", "thread": uri}, headers=auth(key))
        assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
        assert uri in resp.json()["detail"]
    for bad in ("", "x" * 2001, "/a\x01b"):
        resp = client.get("/api/v1/moderation/stats", params={"site": "daily", "thread": bad}, headers=auth(key))
        assert resp.status_code == 422, bad


def test_an_empty_site_has_a_row_of_zeros_per_day(app_client):
    client, engine, _, _ = app_client
    _, key = add_moderator(engine)
    got = client.get("/api/v1/moderation/stats", params={"site": "daily", "days": 3}, headers=auth(key)).json()
    assert len(got["per_day"]) == 3
    assert all(d["published"] == d["votes"] == d["commenters"] == 0 for d in got["per_day"])
    assert got["queue"] == {"pending": 0, "oldest_age_s": None}
    assert got["held_reasons"] == [] and got["top_threads"] == [] and got["scored"] == 0


@pytest.mark.parametrize("days", ["0", "366", "-1", "many", "1e3"])
def test_a_bad_period_is_a_422_problem(app_client, days):
    client, engine, _, _ = app_client
    _, key = add_moderator(engine)
    resp = client.get("/api/v1/moderation/stats", params={"site": "daily", "days": days}, headers=auth(key))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_only_moderators_of_the_site(app_client):
    client, engine, _, _ = app_client
    assert client.get("/api/v1/moderation/stats", params={"site": "daily"}).status_code == 401
    _, key = add_moderator(engine, "other@weekly.example", sites=("weekly",))
    assert client.get("/api/v1/moderation/stats", params={"site": "daily"}, headers=auth(key)).status_code == 403
    assert client.get("/api/v1/moderation/stats", params={"site": "nowhere"}, headers=auth(key)).status_code == 404


def test_documented_with_a_response_model(app_client):
    client, _, _, _ = app_client
    spec = client.app.openapi()
    answer = spec["paths"]["/api/v1/moderation/stats"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["$ref"].endswith("/Stats")
    assert {"per_day", "queue", "held_reasons", "toxicity", "top_threads", "thread"} <= set(
        spec["components"]["schemas"]["Stats"]["properties"])
    params = {p["name"]: p for p in spec["paths"]["/api/v1/moderation/stats"]["get"]["parameters"]}
    assert {"site", "days", "thread"} <= set(params)


def test_the_service_refuses_a_period_out_of_range(engine, settings):
    from townsquare.errors import Invalid
    from townsquare.moderation.auth import Actor

    add_site(engine)
    with pytest.raises(Invalid):
        stats.for_site(engine, settings, Actor(1, "a@b", "admin", frozenset({1})), "daily", 366)

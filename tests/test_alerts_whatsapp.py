"""WhatsApp news alerts against a stand-in for the Cloud API that checks the documented request
shape: POST /{phone-number-id}/messages, Bearer token, a template message."""

from __future__ import annotations

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from townsquare.alerts import articles, subscriptions
from townsquare.alerts.settings import WhatsAppSettings
from townsquare.store.alerts import alert_subscriptions
from townsquare.store.db import now

from tests.test_alerts_support import HttpReceiver, config, free_port, make_site, sqlite_engine, deliver_all

PHONE_ID = "106540352242922"
TOKEN = "EAAtest-token"


def cloud_api(request: dict) -> tuple[int, bytes]:
    """Answer like the Cloud API: 200 with a message id, or 400 naming what is wrong."""
    problems = []
    if request["path"] != f"/v21.0/{PHONE_ID}/messages":
        problems.append(f"path {request['path']}")
    if request["headers"].get("Authorization") != f"Bearer {TOKEN}":
        problems.append("authorization")
    if not request["headers"].get("Content-Type", "").startswith("application/json"):
        problems.append("content type")
    body = orjson.loads(request["body"])
    template = body.get("template", {})
    components = template.get("components", [])
    if body.get("messaging_product") != "whatsapp" or body.get("type") != "template":
        problems.append("not a whatsapp template message")
    if not str(body.get("to", "")).isdigit():
        problems.append("recipient is not a phone number")
    if not template.get("name") or not template.get("language", {}).get("code"):
        problems.append("template name and language")
    for component in components:
        if component.get("type") not in ("header", "body", "button"):
            problems.append("component type")
        for p in component.get("parameters", []):
            if p.get("type") != "text" or not isinstance(p.get("text"), str) or not p["text"]:
                problems.append("parameter")
    if problems:
        return 400, orjson.dumps({"error": {"message": "; ".join(problems), "code": 100}})
    return 200, orjson.dumps({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                              "messages": [{"id": "wamid.HBgL" + body["to"]}]})


async def test_news_alert_over_whatsapp_after_opt_in(tmp_path):
    engine = sqlite_engine(tmp_path)
    site = make_site(engine)
    with HttpReceiver(cloud_api) as api:
        cfg = config(free_port())
        cfg = type(cfg)(email=cfg.email, alerts=cfg.alerts, links=cfg.links, whatsapp=WhatsAppSettings(
            base_url=api.url + "/v21.0", phone_number_id=PHONE_ID, token=SecretStr(TOKEN), language="en_US"))
        with engine.begin() as conn:
            sub = subscriptions.subscribe(
                conn, site_id=site.id, kind="news", channel="whatsapp", target="+234 813 637 0421", now=now(),
                consent={"source": "news alerts box", "text": "Receive News Alerts on Whatsapp"})
        await deliver_all(engine, cfg)
        [confirm] = [orjson.loads(r["body"]) for r in api.requests]
        assert confirm["to"] == "2348136370421"
        assert confirm["template"]["name"] == "townsquare_confirm"
        site_param, link_param = [p["text"] for p in confirm["template"]["components"][0]["parameters"]]
        assert site_param == "Daily" and "/alerts/confirm?token=" in link_param

        with engine.begin() as conn:  # not confirmed yet: the article alerts nobody
            articles.announce(conn, site=site, url="https://daily.example/2015/putin", title="Putin accuses US",
                              now=now(), source="api")
        await deliver_all(engine, cfg)
        assert len(api.requests) == 1

        with engine.begin() as conn:
            subscriptions.confirm(conn, cfg.links.read_confirm(link_param.split("token=")[1]), now=now())
            for _ in range(2):  # announced twice, alerted once
                articles.announce(conn, site=site, url="https://daily.example/2015/chechnya",
                                  title="Chechnya, fifteen years on", now=now(), source="api")
        await deliver_all(engine, cfg)

    assert [r["path"] for r in api.requests] == [f"/v21.0/{PHONE_ID}/messages"] * 2
    news = orjson.loads(api.requests[1]["body"])
    assert news["template"] == {
        "name": "townsquare_news", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Daily"}, {"type": "text", "text": "Chechnya, fifteen years on"},
            {"type": "text", "text": "https://daily.example/2015/chechnya"}]}],
    }
    with engine.connect() as conn:
        row = conn.execute(select(alert_subscriptions).where(alert_subscriptions.c.id == sub.id)).one()
    consent = orjson.loads(row.consent)
    assert consent["source"] == "news alerts box" and consent["at"] > 0 and row.target == "+2348136370421"
    engine.dispose()


async def test_invalid_phone_number_is_refused_clearly(tmp_path):
    engine = sqlite_engine(tmp_path)
    site = make_site(engine)
    with engine.begin() as conn, pytest.raises(subscriptions.SubscriptionError, match="phone number"):
        subscriptions.subscribe(conn, site_id=site.id, kind="news", channel="whatsapp", target="12", now=now())
    engine.dispose()

"""The API never answers 5xx, whatever it is sent: schemathesis generates requests from the OpenAPI
document (valid ones and ones that break it) for every operation, on both databases, with and
without a moderator's API key, and checks each answer against the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from townsquare.app import create_app

from .conftest import LENIENT
from .moderation_support import add_moderator, add_site, post

EXAMPLES = 10  # per operation and generation mode (valid and invalid data): 20 requests each
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded_app(engine, settings):
    add_site(engine, moderation_rules=LENIENT)
    _user, key = add_moderator(engine)
    app = create_app(settings, engine)
    from starlette.testclient import TestClient

    with TestClient(app) as client:
        first = post(client, "A first comment to find.")
        post(client, "A reply to it.", parent_id=first["comment"]["id"])
    return app, key


@pytest.mark.parametrize("with_key", [False, True], ids=["anonymous", "moderator"])
def test_no_input_gets_a_server_error(seeded_app, with_key):
    app, key = seeded_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {key}"} if with_key else {}
    failures: list[str] = []
    spec = app.openapi()
    for result in schema.get_all_operations():
        operation = result.ok()
        if with_key and not _takes_a_key(spec["paths"][operation.path][operation.method.lower()]):
            continue  # the same requests as without a key
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                                 suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode))
            def run(case):
                try:
                    response = case.call(headers=headers)
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except Exception as e:  # noqa: BLE001 - every operation is tried; all failures are reported below
                    failures.append(f"{operation.label} [{mode}]: {type(e).__name__}: {str(e)[:600]}")

            try:
                run()
            except Unsatisfiable:  # nothing to generate in this mode (say, negative data for no input)
                pass
    assert not failures, "\n".join(failures[:30])


def _takes_a_key(operation: dict) -> bool:
    return any(p["in"] == "header" and p["name"].lower() == "authorization" for p in operation.get("parameters", []))

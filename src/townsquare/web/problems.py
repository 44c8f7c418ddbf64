"""RFC 9457 problem answers for every error the app can give."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from townsquare.config import ConfigError
from townsquare.domain.validate import LINE_PATTERN, TEXT_PATTERN
from townsquare.errors import Problem

log = logging.getLogger("townsquare")

MEDIA_TYPE = "application/problem+json"


def problem_response(status: int, title: str, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


# The shape of every error answer, for the OpenAPI document.
PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem: what went wrong, and for invalid input which fields.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the input field at fault, when there is one"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        "retry_after": {"type": "integer", "description": "seconds to wait (also the Retry-After header)"},
    },
}
_CONTROL_PATTERNS = (LINE_PATTERN, TEXT_PATTERN)


def _message(error: dict) -> str:
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") in _CONTROL_PATTERNS:
        return "Control characters (such as NUL) are not allowed here."
    return error["msg"]


def document(app: FastAPI) -> None:
    """Say in the OpenAPI document that every operation may answer a 4xx problem
    (application/problem+json), in place of FastAPI's own 422 shape, which this app never sends."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        problem = {"description": "A problem: bad input, not found, not allowed, too many requests…",
                   "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses["4XX"] = problem
                for parameter in operation.get("parameters", []):
                    if parameter["in"] in ("path", "query"):  # the ControlCharacters middleware's rule
                        _no_control_characters(parameter.get("schema", {}))
        return spec

    app.openapi = openapi


def _no_control_characters(schema: dict) -> None:
    for member in schema.get("anyOf", [schema]):
        if member.get("type") == "string":
            member.setdefault("pattern", LINE_PATTERN)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(400, "Malformed JSON", "The request body is not valid JSON.")
        fields = [{"field": _field(e["loc"]), "message": _message(e)} for e in errors]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem_response(422, "Invalid input", detail, errors=fields)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException):
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing is served at {request.url.path}."
        answer = problem_response(exc.status_code, titles.get(exc.status_code, "Error"), detail)
        answer.headers.update(exc.headers or {})  # a 405's Allow, say
        return answer

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal error", "Something went wrong on our side; the error has been logged.")

    @app.exception_handler(ConfigError)
    async def on_config(request: Request, exc: ConfigError):
        return problem_response(422, "Invalid settings", str(exc))

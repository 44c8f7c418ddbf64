"""RFC 9457 problem answers for every error the app can give."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from townsquare.config import ConfigError
from townsquare.errors import Problem

log = logging.getLogger("townsquare")

MEDIA_TYPE = "application/problem+json"


def problem_response(status: int, title: str, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


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
        fields = [{"field": _field(e["loc"]), "message": e["msg"]} for e in errors]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem_response(422, "Invalid input", detail, errors=fields)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException):
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing is served at {request.url.path}."
        return problem_response(exc.status_code, titles.get(exc.status_code, "Error"), detail)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal error", "Something went wrong on our side; the error has been logged.")

    @app.exception_handler(ConfigError)
    async def on_config(request: Request, exc: ConfigError):
        return problem_response(422, "Invalid settings", str(exc))

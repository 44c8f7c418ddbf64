"""Builds the ASGI app from the parts. Behaviour lives in the parts; this module only wires."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from townsquare import __version__
from townsquare.config import Settings
from townsquare.domain.tokens import Signer
from townsquare.ratelimit import make_limiter
from townsquare.services import Core
from townsquare.store import queries
from townsquare.store.db import make_engine
from townsquare.web import api, middleware, problems
from townsquare.web.paths import STATIC


def build_core(settings: Settings, engine: Engine | None = None) -> Core:
    engine = engine or make_engine(settings.db)
    secret = settings.secret
    if not secret:
        with engine.begin() as conn:
            secret = queries.instance_secret(conn)
    return Core(engine=engine, settings=settings, signer=Signer(secret), limiter=make_limiter(settings.redis_url))


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    core = build_core(settings, engine)
    app = FastAPI(
        title="Townsquare",
        version=__version__,
        summary="Threaded comments, local moderation and reader alerts for news sites.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.core = core
    app.state.settings = settings
    problems.install(app)
    app.include_router(api.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> Response:
        """Liveness and database reachability."""
        with core.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in ("embed.js", "embed.css", "count.js"):
        _serve_static(app, name)

    app.add_middleware(middleware.Cors)
    app.add_middleware(middleware.BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(middleware.Metrics)
    return app


def _serve_static(app: FastAPI, name: str) -> None:
    path = STATIC / name
    media = "text/javascript" if name.endswith(".js") else "text/css"

    @app.get("/" + name, include_in_schema=False)
    def static_file() -> Response:
        if not path.exists():
            return HTMLResponse("Not built", status_code=404)
        return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=300"})


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory`: each worker process reads the same settings."""
    import os

    from townsquare.config import load_settings

    return create_app(load_settings(os.environ.get("TOWNSQUARE_CONFIG") or None))

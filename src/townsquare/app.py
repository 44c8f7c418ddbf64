"""Builds the ASGI app from the parts. Behaviour lives in the parts; this module only wires."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from townsquare import __version__
from townsquare.alerts import api as alerts_api
from townsquare.alerts.runtime import config_from as alerts_config_from
from townsquare.alerts.worker import background_worker
from townsquare.config import Settings
from townsquare.domain.tokens import Signer
from townsquare.instance_secret import instance_secret
from townsquare.metrics import Scrape
from townsquare.ratelimit import make_limiter
from townsquare.services import Core
from townsquare.store.db import Engine, make_engine, ping
from townsquare.moderation import admin as moderation_admin
from townsquare.moderation import api as moderation_api
from townsquare.live.hub import Hub
from townsquare.web import api, auth_api, middleware, pages, privacy_api, problems, profile, stream
from townsquare.web.assets import StaticAssets
from townsquare.web.client import ForwardedScheme
from townsquare.web.fastpath import CachedThreadReads
from townsquare.web.headers import SecurityHeaders
from townsquare.web.paths import STATIC
from townsquare.web.templating import templates


def build_core(settings: Settings, engine: Engine | None = None) -> Core:
    engine = engine or make_engine(settings.db)
    # The core's settings carry the resolved secret, so every part handed them (alerts links,
    # privacy links) signs with the same key and none reads the database to find it.
    secret = instance_secret(settings, engine)
    settings = settings.model_copy(update={"secret": secret})
    return Core(engine=engine, settings=settings, signer=Signer(secret), limiter=make_limiter(settings.redis_url, engine))


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    core = build_core(settings, engine)
    settings = core.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Database and model work run in worker threads, never on the event loop; one thread per
        # pooled connection, so a thread never waits for a connection, and the few reads the
        # event loop makes itself (cached thread pages, counts) find one in the pool's overflow.
        anyio.to_thread.current_default_thread_limiter().total_tokens = core.engine.pool.size()
        async with background_worker(core.engine, settings), anyio.create_task_group() as tasks:
            tasks.start_soon(hub.run)
            yield
            tasks.cancel_scope.cancel()

    app = FastAPI(
        lifespan=lifespan,
        title="Townsquare",
        version=__version__,
        summary="Threaded comments, local moderation and reader alerts for news sites.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the bundled UI loads scripts from a CDN; /api/docs is served locally instead
        redoc_url=None,
    )
    app.state.core = core
    hub = app.state.hub = Hub(core.engine, settings.live, settings.redis_url)
    app.state.settings = settings
    app.state.alerts_config = alerts_config_from(settings, core.engine)
    problems.install(app)
    problems.document(app)
    app.include_router(stream.router)  # before api.router: /threads/events is not a thread read
    app.include_router(api.router)
    app.include_router(auth_api.router)
    app.include_router(moderation_api.router)
    moderation_admin.install(app)
    app.include_router(pages.router)
    app.include_router(alerts_api.router)
    app.include_router(privacy_api.router)
    app.include_router(profile.router)
    if settings.demo:
        from townsquare.web import demo

        app.include_router(demo.router)
    else:

        @app.get("/", include_in_schema=False)
        def home(request: Request) -> HTMLResponse:
            base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
            return HTMLResponse(templates.get_template("home.html").render(base=base))

    @app.get("/healthz", tags=["operations"])
    def healthz() -> Response:
        """Liveness and database reachability."""
        ping(core.engine)
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(render_api_docs(app.openapi()))

    scrape = Scrape(core.engine, settings.metrics_dir)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return Response(scrape(), media_type=CONTENT_TYPE_LATEST)

    # Both inside the fast path, which its reads never leave: thread pages and counts go out as
    # they are (a proxy in front may compress them); the rest of the API and the pages are
    # compressed here, the static files ahead of time.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(StaticAssets, directory=STATIC)
    app.add_middleware(CachedThreadReads, core=core)
    app.add_middleware(middleware.ControlCharacters)
    app.add_middleware(middleware.Cors)
    app.add_middleware(middleware.BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(middleware.Metrics)
    app.add_middleware(ForwardedScheme, settings=settings)
    # Outside Starlette's own error layer (which add_middleware cannot reach), so a 500 has them too.
    stack = app.build_middleware_stack
    secure_cookies = settings.public_url.startswith("https://")
    app.build_middleware_stack = lambda: SecurityHeaders(stack(), secure_cookies=secure_cookies)
    return app


def render_api_docs(spec: dict) -> str:
    """The human docs page: each route's own docstring, grouped by tag, from the OpenAPI document."""
    groups: dict[str, list[dict]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            groups.setdefault((op.get("tags") or ["other"])[0], []).append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "params": op.get("parameters", []),
                "body": body.get("$ref", "").rsplit("/", 1)[-1],
            })
    return templates.get_template("api_docs.html").render(spec=spec, groups=sorted(groups.items()))


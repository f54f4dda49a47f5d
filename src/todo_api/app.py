"""`create_app(services, settings)`: the FastAPI application around the service interfaces.

Nothing here connects to anything; the composition root (`todo_api.bootstrap`) builds the
services and tests hand in their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from todo_api import housekeeping, idempotency, problems
from todo_api.background import BackgroundWork
from todo_api.container import Services
from todo_api.docs import app_with_docs
from todo_api.express import ExpressLane
from todo_api.mcp import install_mcp
from todo_api.middleware import BodyLimit, SecurityHeaders
from todo_api.observability import Metrics, RequestContext
from todo_api.operation_ids import operation_id, unversioned
from todo_api.pages import pages_router
from todo_api.routes import API_PREFIX, accounts, auth, changes, compat, health, sessions, tasks
from todo_api.routes.metrics import install_metrics
from todo_api.schemas.problems import move_problems_to_problem_json
from todo_api.settings import Settings
from todo_api.throttle import LoginThrottle
from todo_core import __version__

DESCRIPTION = f"""
A todo backend on PostgreSQL. To try it here: **sign up** (`POST {API_PREFIX}/auth/signup`), press
**Authorize** and log in with your email (or username) and password, then use the task routes
with `me` as the user id. Errors are RFC 9457 problem details.

`{API_PREFIX}` is the main API. `/api/{{user_id}}/tasks` (tag **compatibility**) is the route shape
that front ends built on Better Auth / Neon Auth already call, over the same services.
"""

TAGS = [
    {"name": "health", "description": "Is the database reachable and migrated?"},
    {"name": "accounts", "description": "Sign up, log in, who am I."},
    {"name": "tasks", "description": "The main API for tasks."},
    {
        "name": "compatibility",
        "description": "The compatibility surface: `/api/{user_id}/tasks` as Better Auth / "
        "Neon Auth front ends call it (a JSON array list, PUT replaces, `PATCH .../complete` "
        "toggles). Same services, auth, errors and ETags as `/api/v1`, which stays the main "
        "API.",
    },
]


def create_app(
    services: Services,
    settings: Settings,
    *,
    login_throttle: LoginThrottle | None = None,
    password_throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The throttles: tests hand in ones on their own clock; by default, one of each per app."""

    background = BackgroundWork()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.startup()
        try:
            async with (
                run_mcp(),
                housekeeping.running(services.sync, settings.purge_interval_seconds),
            ):
                yield
        finally:
            await background.drain()
            await services.shutdown()

    app = app_with_docs(  # /docs without a CDN
        title="todo",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
        generate_unique_id_function=operation_id,  # `tasks-create`, for generated clients
    )
    app.state.services = services
    app.state.background = background
    app.state.login_throttle = login_throttle or _throttle(settings, services, scope="login")
    # Password checks and reset emails on their own counters: a stranger requesting resets
    # for an account must not lock its owner out of logging in.
    app.state.password_throttle = password_throttle or _throttle(
        settings, services, scope="password"
    )
    app.state.metrics = Metrics(services.pool_stats) if settings.metrics_enabled else None
    if app.state.metrics is not None:
        install_metrics(app, app.state.metrics, settings.metrics_token)
    problems.install(app)
    idempotency.install(app)
    # Matched in this order, and every route passed over costs each request a little: the
    # task routes (most of the traffic) first. No two routers' paths overlap.
    app.include_router(tasks.router, prefix=API_PREFIX)
    app.include_router(compat.router)  # /api/{user_id}/tasks: see todo_api.routes.compat
    app.include_router(changes.router, prefix=API_PREFIX)
    app.include_router(health.router, generate_unique_id_function=unversioned)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(accounts.router, prefix=API_PREFIX)
    app.include_router(auth.router, prefix=API_PREFIX)
    app.include_router(sessions.router, prefix=API_PREFIX)
    app.include_router(pages_router(API_PREFIX))  # where the emailed links lead
    run_mcp = install_mcp(app, services, public_url=settings.public_url, version=app.version)
    _add_middleware(app, settings)
    _document_problems_as_problem_json(app)
    return app


def _throttle(settings: Settings, services: Services, *, scope: str) -> LoginThrottle:
    """On the services' shared failure log (PostgreSQL), under its own key scope."""
    return LoginThrottle.per_minute(
        per_account=settings.login_attempts_per_minute,
        per_address=settings.login_attempts_per_minute_per_address,
        log=services.login_failures,
        scope=scope,
    )


def _document_problems_as_problem_json(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, object]:
        fresh = app.openapi_schema is None
        document = generate()  # FastAPI caches it in app.openapi_schema
        return move_problems_to_problem_json(document) if fresh else document

    app.openapi = openapi  # type: ignore[method-assign]


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # Innermost (added first): what the express lane answers still passes every layer below.
    app.add_middleware(ExpressLane)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Location", "Link", "Retry-After", "Idempotent-Replayed"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # Outermost: its request id is in place for everything inside, problem bodies included.
    app.add_middleware(RequestContext, metrics=app.state.metrics, log_access=settings.access_log)

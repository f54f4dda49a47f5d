"""`create_app(services, settings)`: the FastAPI application around the service interfaces.

Nothing here connects to anything; the composition root (`todo_api.bootstrap`) builds the
services and tests hand in their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from todo_api import problems
from todo_api.container import Services
from todo_api.middleware import BodyLimit, SecurityHeaders
from todo_api.routes import accounts, health, tasks
from todo_api.settings import Settings

API_PREFIX = "/api/v1"

DESCRIPTION = """
A todo backend on PostgreSQL. To try it here: **sign up** (`POST /api/v1/auth/signup`), press
**Authorize** and log in with your email (or username) and password, then use the task routes
with `me` as the user id. Errors are RFC 9457 problem details.
"""


def create_app(services: Services, settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.startup()
        try:
            yield
        finally:
            await services.shutdown()

    app = FastAPI(
        title="todo",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.services = services
    problems.install(app)
    app.include_router(health.router)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(accounts.router, prefix=API_PREFIX)
    app.include_router(tasks.router, prefix=API_PREFIX)
    _add_middleware(app, settings)
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match"],
            expose_headers=["ETag", "Location", "Link", "Retry-After"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)

"""`/docs` served from this machine: `fastapi-offline` builds the app with the Swagger UI
assets it ships instead of a CDN's, so the interactive docs work on an offline laptop or a
locked-down network as well."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"


def app_with_docs(**options: Any) -> FastAPI:
    """`FastAPI(**options)` with `/docs` (Swagger UI, whose Authorize button logs in with the
    password form) and its assets under /docs/assets; no ReDoc."""
    return FastAPIOffline(docs_url=DOCS_URL, redoc_url=None, static_url=ASSETS_URL, **options)

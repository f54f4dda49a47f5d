"""`GET /metrics`: Prometheus' text format, only when METRICS_ENABLED (and, with METRICS_TOKEN,
only for `Authorization: Bearer <token>`). Not part of the API, so not in the OpenAPI document.

With `--workers N` each scrape reaches one worker; scrape each instance with one worker, or
read the metrics per worker."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from todo_api.observability import Metrics


def install_metrics(app: FastAPI, metrics: Metrics, token: SecretStr | None) -> None:
    expected = f"Bearer {token.get_secret_value()}".encode() if token else None

    @app.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

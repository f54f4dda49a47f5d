"""The framework ceiling: a FastAPI app whose one route does nothing.

It carries the API's own middleware stack (body limit, security headers) and answers with the
API's own orjson `JSON` response, and it runs under the same uvicorn settings as `todo serve`
(the arguments of `todo_api.cli._uvicorn`: one worker, uvloop + httptools, no server header,
proxy headers, uvicorn's default logging). Whatever the API does
beyond this is the cost of its routes: authentication, services, the database.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

from todo_api.middleware import BodyLimit, SecurityHeaders
from todo_api.responses import JSON
from todo_api.settings import Settings


def create_noop_app() -> FastAPI:
    app = FastAPI(title="noop", openapi_url=None)

    @app.get("/noop")
    async def noop() -> JSON:
        return JSON({"status": "ok"})

    app.add_middleware(BodyLimit, max_bytes=Settings.model_fields["max_body_bytes"].default)
    app.add_middleware(SecurityHeaders)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "bench.noop:create_noop_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=20,
        access_log=False,  # as `todo serve` in production
        log_level="warning",
    )


if __name__ == "__main__":
    main()

"""Logging set-up for the processes that serve the app (the `todo` command and uvicorn's
workers): the level from LOG_LEVEL or the environment's default; every line carries the request
id; production writes JSON lines (LOG_FORMAT); the access log is its own switch (ACCESS_LOG)."""

from __future__ import annotations

import logging

from todo_api import observability
from todo_api.settings import Settings


def configure_logging(settings: Settings) -> None:
    default = "WARNING" if settings.is_production else "INFO"
    level = (settings.log_level or default).upper()
    observability.configure(level, json_lines=settings.json_logs)
    logging.getLogger("todo").setLevel(level)
    # Not silenced by a WARNING level: the access log is what operators asked for.
    logging.getLogger("todo.access").setLevel(logging.INFO if settings.access_log else "WARNING")
    if level == "DEBUG" and not settings.is_production:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL, never parameters

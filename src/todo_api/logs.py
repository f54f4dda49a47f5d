"""Logging set-up for the processes that serve the app (the `todo` command and uvicorn's
workers): one format, the level from LOG_LEVEL or the environment's default."""

from __future__ import annotations

import logging

from todo_api.settings import Settings


def configure_logging(settings: Settings) -> None:
    default = "WARNING" if settings.is_production else "INFO"
    level = (settings.log_level or default).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("todo").setLevel(level)
    if level == "DEBUG" and not settings.is_production:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL, never parameters

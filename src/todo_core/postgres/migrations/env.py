"""Alembic environment. The migration runner (`todo_core.postgres.migrate`) always hands in an
open connection, already holding the migration lock; running `alembic` by hand is not needed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from todo_core.postgres.tables import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `todo db upgrade`, which supplies the connection")

context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()

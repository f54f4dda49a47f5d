"""Indexes that make every task list index-driven: trigram search (`q=`), title and
updated-at keysets, and due dates descending (NULLS LAST in both directions, so one btree
cannot serve both).

`q=` is `title ILIKE '%…%' OR description ILIKE '%…%'`: a GIN trigram index on each column
turns it into a BitmapOr of two index scans instead of a scan of the user's rows. pg_trgm is a
trusted extension (any role allowed to CREATE in the database may install it; Neon has it).
The downgrade drops the extension only when this migration created it: it marks the extension
it creates with a comment, and an extension installed beforehand keeps its own.

Revision ID: 0002_list_indexes
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_list_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

MARK = "installed by the todo migration 0002_list_indexes"


def upgrade() -> None:
    installed = op.get_bind().scalar(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    )
    if installed is None:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"COMMENT ON EXTENSION pg_trgm IS '{MARK}'")
    op.create_index(
        "ix_tasks_title_trgm",
        "tasks",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_tasks_description_trgm",
        "tasks",
        ["description"],
        postgresql_using="gin",
        postgresql_ops={"description": "gin_trgm_ops"},
    )
    op.create_index("ix_tasks_user_title", "tasks", ["user_id", "title", "id"])
    op.create_index("ix_tasks_user_updated", "tasks", ["user_id", "updated_at", "id"])
    op.create_index(
        "ix_tasks_user_due_desc",
        "tasks",
        ["user_id", sa.text("due_date DESC NULLS LAST"), sa.text("id DESC")],
    )


def downgrade() -> None:
    for name in (
        "ix_tasks_user_due_desc",
        "ix_tasks_user_updated",
        "ix_tasks_user_title",
        "ix_tasks_description_trgm",
        "ix_tasks_title_trgm",
    ):
        op.drop_index(name, table_name="tasks")
    ours = op.get_bind().scalar(
        sa.text(
            "SELECT 1 FROM pg_extension e JOIN pg_description d"
            " ON d.objoid = e.oid AND d.classoid = 'pg_extension'::regclass"
            " WHERE e.extname = 'pg_trgm' AND d.description = :mark"
        ),
        {"mark": MARK},
    )
    if ours is not None:
        op.execute("DROP EXTENSION pg_trgm")

"""One next occurrence per completed occurrence, ever: the link from a recurring task to the
follow-up its completion created, keyed by the source.

Completing, reopening and completing again used to create a follow-up each time. The primary
key on `source_id` makes the database refuse a second one, also for concurrent completes and
retried requests: the follow-up is inserted in the same statement as its link, so a second
one fails the whole statement (read as a conflict; the service reads the link when it loads the
task, so it does not try). Deleting the follow-up keeps the link (`follow_up_id` becomes NULL), so
completing the source again still creates nothing; deleting the source drops the link.

Tasks completed before this revision have no link (which earlier task a follow-up came from was
never recorded): their next completion, if they are reopened, may create one more.

Revision ID: 0007_task_follow_ups
Revises: 0006_login_throttle
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_task_follow_ups"
down_revision = "0006_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_follow_ups",
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("follow_up_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("source_id", name="pk_task_follow_ups"),
        sa.UniqueConstraint("follow_up_id", name="uq_task_follow_ups_follow_up_id"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["tasks.id"],
            name="fk_task_follow_ups_source_id_tasks",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["tasks.id"],
            name="fk_task_follow_ups_follow_up_id_tasks",
            ondelete="SET NULL",
        ),
    )


def downgrade() -> None:
    op.drop_table("task_follow_ups")

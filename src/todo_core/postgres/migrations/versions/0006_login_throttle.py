"""The login throttle's state, shared by every worker and instance (it lived in each process's
memory, so N processes allowed N times the attempts).

One row per throttled key (`account:<login>` or `address:<ip>`): the times of its recent
failures, newest last, at most as many as the largest limit; rows whose newest failure has left
the window are purged by the next failure anywhere. Successful logins only read it.

Revision ID: 0006_login_throttle
Revises: 0005_sync
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_login_throttle"
down_revision = "0005_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("failures", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )
    op.create_index("ix_login_throttle_last_failed_at", "login_throttle", ["last_failed_at"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_last_failed_at", table_name="login_throttle")
    op.drop_table("login_throttle")

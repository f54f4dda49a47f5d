"""Sync: per-user change numbers, the task change feed with tombstones (kept up to date by a
triggers on tasks), and idempotency keys, as specs/schema.toml describes.

Revision ID: 0005_sync
Revises: 0004_external_identities
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_sync"
down_revision = "0004_external_identities"
branch_labels = None
depends_on = None

# Frozen copies of todo_core.postgres.tables.RECORD_TASK_CHANGES, TASK_CHANGE_TRIGGERS and
# CLAIM_IDEMPOTENCY_KEY, SAVE_IDEMPOTENCY_KEY as of
# this revision (a migration must not change when the models do later).
RECORD_TASK_CHANGES = """
CREATE FUNCTION record_task_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One statement's task rows at once (a bulk insert pays once, not per row): each gets
    -- its owner's next change number; bumping the owner's counter row locks it until this
    -- transaction ends, which is what orders a user's numbers by commit.
    WITH changed AS (
        SELECT r.user_id, r.id AS task_id,
               row_number() OVER (PARTITION BY r.user_id ORDER BY r.id) AS n,
               count(*) OVER (PARTITION BY r.user_id) AS total
        FROM changed_rows r
        -- a delete cascading from the owner's account: no feed is left to tell
        WHERE TG_OP <> 'DELETE' OR EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)
    ), bumped AS (
        INSERT INTO change_counters AS c (user_id, last_seq)
        SELECT user_id, max(total) FROM changed GROUP BY user_id ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
        RETURNING c.user_id, c.last_seq
    )
    INSERT INTO task_changes AS t (user_id, task_id, seq, deleted, changed_at)
    SELECT ch.user_id, ch.task_id, b.last_seq - ch.total + ch.n, TG_OP = 'DELETE', now()
    FROM changed ch JOIN bumped b ON b.user_id = ch.user_id
    ON CONFLICT (user_id, task_id) DO UPDATE
    SET seq = excluded.seq, deleted = excluded.deleted, changed_at = excluded.changed_at;
    RETURN NULL;
END
$$
"""
CLAIM_IDEMPOTENCY_KEY = """
CREATE FUNCTION claim_idempotency_key(owner uuid, idem_key text, print text, at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stored text;
BEGIN
    -- Held until this transaction ends; tried, never waited for: a retry racing its original
    -- answers 409 at once instead of queueing behind it.
    IF NOT pg_try_advisory_xact_lock(467, hashtext(owner::text || ':' || idem_key)) THEN
        RAISE EXCEPTION 'idempotency key in use' USING ERRCODE = 'TD409';
    END IF;
    -- A statement of its own, so its snapshot is taken after the lock: an original that has
    -- just committed (and so released the lock) is seen here.
    SELECT fingerprint INTO stored FROM idempotency_keys
    WHERE user_id = owner AND key = idem_key AND expires_at > at;
    IF FOUND AND stored = print THEN
        RAISE EXCEPTION 'idempotency key answered' USING ERRCODE = 'TD200';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'idempotency key reused' USING ERRCODE = 'TD422';
    END IF;
    DELETE FROM idempotency_keys WHERE user_id = owner AND key = idem_key;  -- expired, if any
END
$$
"""
SAVE_IDEMPOTENCY_KEY = """
CREATE FUNCTION save_idempotency_key(
    owner uuid, idem_key text, print text, answer_status smallint, answer_headers jsonb,
    answer_body bytea, created timestamptz, expires timestamptz, touched uuid[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- The answer is kept only with its effect: every task the write says it touched must have
    -- been written by this very transaction (its change record says so), else nothing commits.
    IF (SELECT count(*) FROM task_changes
        WHERE user_id = owner AND task_id = ANY(touched) AND xmin = pg_current_xact_id()::xid)
       <> (SELECT count(DISTINCT t) FROM unnest(touched) AS t) THEN
        RAISE EXCEPTION 'the write did not take effect' USING ERRCODE = 'TD412';
    END IF;
    INSERT INTO idempotency_keys
        (user_id, key, fingerprint, status, headers, body, created_at, expires_at)
    VALUES (owner, idem_key, print, answer_status, answer_headers, answer_body, created, expires);
END
$$
"""
TASK_CHANGE_TRIGGERS = (
    "CREATE TRIGGER tasks_changes_on_insert AFTER INSERT ON tasks "
    "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION record_task_changes()",
    "CREATE TRIGGER tasks_changes_on_update AFTER UPDATE ON tasks "
    "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION record_task_changes()",
    "CREATE TRIGGER tasks_changes_on_delete AFTER DELETE ON tasks "
    "REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION record_task_changes()",
)


def _owner(table: str) -> list[Any]:
    return [
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
        ),
    ]


def _now() -> sa.Column[Any]:
    return sa.Column(
        "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "change_counters",
        *_owner("change_counters"),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_change_counters"),
        sa.CheckConstraint("last_seq >= 1", name="ck_change_counters_positive"),
    )
    op.create_table(
        "task_changes",
        *_owner("task_changes"),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("user_id", "task_id", name="pk_task_changes"),
        sa.UniqueConstraint("user_id", "seq", name="uq_task_changes_user_seq"),
    )
    op.create_index(
        "ix_task_changes_tombstones",
        "task_changes",
        ["changed_at"],
        postgresql_where=sa.text("deleted"),
    )
    op.create_table(
        "idempotency_keys",
        *_owner("idempotency_keys"),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires", "idempotency_keys", ["expires_at"])
    op.execute(RECORD_TASK_CHANGES)
    for trigger in TASK_CHANGE_TRIGGERS:
        op.execute(trigger)
    op.execute(CLAIM_IDEMPOTENCY_KEY)
    op.execute(SAVE_IDEMPOTENCY_KEY)
    # Tasks that exist already enter the feed as upserts, numbered per user.
    op.execute("""
        INSERT INTO task_changes (user_id, task_id, seq, changed_at)
        SELECT user_id, id, row_number() OVER (PARTITION BY user_id ORDER BY updated_at, id),
               updated_at
        FROM tasks
    """)
    op.execute("""
        INSERT INTO change_counters (user_id, last_seq)
        SELECT user_id, max(seq) FROM task_changes GROUP BY user_id
    """)


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER tasks_changes_on_{event} ON tasks")
    op.execute("DROP FUNCTION record_task_changes()")
    op.execute("DROP FUNCTION claim_idempotency_key(uuid, text, text, timestamptz)")
    op.execute(
        "DROP FUNCTION save_idempotency_key"
        "(uuid, text, text, smallint, jsonb, bytea, timestamptz, timestamptz, uuid[])"
    )
    op.drop_table("idempotency_keys")
    op.drop_table("task_changes")
    op.drop_table("change_counters")

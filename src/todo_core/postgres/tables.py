"""SQLModel table rows: how users, their tasks, external identities, the change feed and
idempotency keys are stored,
exactly as `specs/schema.toml` says.

These are storage rows, not entities: `table=True` models skip validation, so the rules live in
`todo_core.domain` and the repositories map between the two. Constraint and index names are
spelled out so that the models, the hand-written migration and the spec name the same things.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

PRIORITIES = ("low", "medium", "high")
TOKEN_PURPOSES = ("password_reset", "email_verification")

# One MetaData for the app's tables, so that a host application's own SQLModel tables
# (SQLModel.metadata) never leak into our migrations or schema checks.
metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
    }
)


# The trigram indexes need pg_trgm; `metadata.create_all` (the schema test) installs it first.
event.listen(metadata, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm"))  # type: ignore[no-untyped-call]


class _Row(SQLModel):
    metadata = metadata


def _timestamp() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class UserRow(_Row, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(btrim(email))", name="ck_users_email_normalised"),
    )

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    email: str = Field(
        sa_column=Column(String(320), nullable=False, unique=True),
    )
    username: str | None = Field(default=None, sa_column=Column(String(50), unique=True))
    # NULL: the user signs in only through an external issuer (see ExternalIdentityRow).
    password_hash: str | None = Field(default=None, sa_column=Column(String(255)))
    name: str | None = Field(default=None, sa_column=Column(String(255)))
    is_active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    email_verified: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    created_at: datetime = Field(sa_column=_timestamp())
    updated_at: datetime = Field(sa_column=_timestamp())
    # Access tokens issued before this moment are refused (password change, reset).
    tokens_valid_after: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )


class TaskRow(_Row, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(
            "completed = (completed_at IS NOT NULL)", name="ck_tasks_completed_at_matches"
        ),
        CheckConstraint("char_length(btrim(title)) >= 1", name="ck_tasks_title_not_blank"),
        CheckConstraint("cardinality(tags) <= 20", name="ck_tasks_tags_at_most_20"),
        CheckConstraint(
            "recurrence IS NULL OR due_date IS NOT NULL", name="ck_tasks_recurrence_needs_due_date"
        ),
        CheckConstraint("version >= 1", name="ck_tasks_version_positive"),
        Index("ix_tasks_user_created", "user_id", "created_at", "id"),
        Index("ix_tasks_user_completed_created", "user_id", "completed", "created_at", "id"),
        Index("ix_tasks_user_due", "user_id", "due_date", "id"),
        Index("ix_tasks_user_priority", "user_id", "priority", "id"),
        Index("ix_tasks_tags", "tags", postgresql_using="gin"),
        # Every list order and `q=` is index-driven (migration 0002 says why).
        Index("ix_tasks_user_updated", "user_id", "updated_at", "id"),
        Index("ix_tasks_user_title", "user_id", "title", "id"),
        Index(
            "ix_tasks_user_due_desc", "user_id", text("due_date DESC NULLS LAST"), text("id DESC")
        ),
        Index(
            "ix_tasks_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index(
            "ix_tasks_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
    )

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    user_id: UUID = Field(
        sa_column=Column(
            Uuid(),
            ForeignKey("users.id", ondelete="CASCADE", name="fk_tasks_user_id_users"),
            nullable=False,
        )
    )
    title: str = Field(sa_column=Column(String(255), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    completed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    priority: str = Field(
        default="medium",
        sa_column=Column(
            Enum(*PRIORITIES, name="task_priority"),
            nullable=False,
            server_default=text("'medium'"),
        ),
    )
    due_date: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'")),
    )
    recurrence: str | None = Field(default=None, sa_column=Column(String(255)))
    version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    created_at: datetime = Field(sa_column=_timestamp())
    updated_at: datetime = Field(sa_column=_timestamp())


def _user_id(name: str) -> Column[UUID]:
    return Column(Uuid(), ForeignKey("users.id", ondelete="CASCADE", name=name), nullable=False)


class SessionRow(_Row, table=True):
    """One login on one device: the family of its refresh tokens."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_created", "user_id", "created_at"),)

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    user_id: UUID = Field(sa_column=_user_id("fk_sessions_user_id_users"))
    created_at: datetime = Field(sa_column=_timestamp())
    last_used_at: datetime = Field(sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    user_agent: str | None = Field(default=None, sa_column=Column(String(255)))


class RefreshTokenRow(_Row, table=True):
    """Every refresh token a session was given, by SHA-256 hash; `used_at` marks the spent
    ones, so a spent token presented again is recognised (and ends its session)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        CheckConstraint("octet_length(token_hash) = 32", name="ck_refresh_tokens_sha256"),
        Index("ix_refresh_tokens_session", "session_id"),
    )

    token_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    session_id: UUID = Field(
        sa_column=Column(
            Uuid(),
            ForeignKey(
                "sessions.id", ondelete="CASCADE", name="fk_refresh_tokens_session_id_sessions"
            ),
            nullable=False,
        )
    )
    created_at: datetime = Field(sa_column=_timestamp())
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class AccountTokenRow(_Row, table=True):
    """Single-use password-reset and email-verification tokens, by SHA-256 hash."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint("octet_length(token_hash) = 32", name="ck_account_tokens_sha256"),
        Index("ix_account_tokens_user_purpose", "user_id", "purpose"),
    )

    token_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    user_id: UUID = Field(sa_column=_user_id("fk_account_tokens_user_id_users"))
    purpose: str = Field(
        sa_column=Column(Enum(*TOKEN_PURPOSES, name="account_token_purpose"), nullable=False)
    )
    email: str = Field(sa_column=Column(String(320), nullable=False))  # where it was sent
    created_at: datetime = Field(sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ExternalIdentityRow(_Row, table=True):
    """(issuer, subject) of an external identity provider, linked to one local user, with the
    profile the issuer last reported and the `iat` of the token that reported it."""

    __tablename__ = "external_identities"
    __table_args__ = (Index("ix_external_identities_user_id", "user_id"),)

    issuer: str = Field(sa_column=Column(String(255), primary_key=True))
    subject: str = Field(sa_column=Column(String(255), primary_key=True))
    user_id: UUID = Field(
        sa_column=Column(
            Uuid(),
            ForeignKey("users.id", ondelete="CASCADE", name="fk_external_identities_user_id_users"),
            nullable=False,
        )
    )
    email: str = Field(sa_column=Column(String(320), nullable=False))
    name: str | None = Field(default=None, sa_column=Column(String(255)))
    email_verified: bool = Field(sa_column=Column(Boolean, nullable=False))
    claims_issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=_timestamp())
    updated_at: datetime = Field(sa_column=_timestamp())


def _owner(table: str) -> Column[UUID]:
    owner = ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id_users")
    return Column(Uuid(), owner, primary_key=True, nullable=False)


class ChangeCounterRow(_Row, table=True):
    """Each user's last change number (see `todo_core.postgres.feed`)."""

    __tablename__ = "change_counters"
    __table_args__ = (CheckConstraint("last_seq >= 1", name="ck_change_counters_positive"),)

    user_id: UUID = Field(sa_column=_owner("change_counters"))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class TaskChangeRow(_Row, table=True):
    """The latest change of each task: its number, and whether it was a delete (a tombstone)."""

    __tablename__ = "task_changes"
    __table_args__ = (
        UniqueConstraint("user_id", "seq", name="uq_task_changes_user_seq"),
        Index("ix_task_changes_tombstones", "changed_at", postgresql_where=text("deleted")),
    )

    user_id: UUID = Field(sa_column=_owner("task_changes"))
    task_id: UUID = Field(sa_column=Column(Uuid(), primary_key=True, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    deleted: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    changed_at: datetime = Field(sa_column=_timestamp())


class IdempotencyKeyRow(_Row, table=True):
    """A keyed write's answer, kept until `expires_at` for its retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires", "expires_at"),)

    user_id: UUID = Field(sa_column=_owner("idempotency_keys"))
    key: str = Field(sa_column=Column(String(255), primary_key=True, nullable=False))
    fingerprint: str = Field(sa_column=Column(Text, nullable=False))
    status: int = Field(sa_column=Column(SmallInteger, nullable=False))
    headers: list[list[str]] = Field(sa_column=Column(JSONB, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# Every task write records its change, whoever writes (see `todo_core.postgres.feed`). The
# migration creates the same function and trigger from these two strings.
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
# Claiming an idempotency key: see `todo_core.postgres.keys`.
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
event.listen(metadata, "after_create", DDL(RECORD_TASK_CHANGES))  # type: ignore[no-untyped-call]
for _trigger in TASK_CHANGE_TRIGGERS:
    event.listen(metadata, "after_create", DDL(_trigger))  # type: ignore[no-untyped-call]
event.listen(metadata, "after_create", DDL(CLAIM_IDEMPOTENCY_KEY))  # type: ignore[no-untyped-call]
event.listen(metadata, "after_create", DDL(SAVE_IDEMPOTENCY_KEY))  # type: ignore[no-untyped-call]
_DROP = (
    "DROP FUNCTION IF EXISTS record_task_changes(), "
    "claim_idempotency_key(uuid, text, text, timestamptz), save_idempotency_key("
    "uuid, text, text, smallint, jsonb, bytea, timestamptz, timestamptz, uuid[])"
)
event.listen(metadata, "after_drop", DDL(_DROP))  # type: ignore[no-untyped-call]


class LoginThrottleRow(_Row, table=True):
    """Recent failed logins per key (`todo_core.postgres.throttle`), shared by every process."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last_failed_at", "last_failed_at"),)

    key: str = Field(sa_column=Column(String(400), primary_key=True))
    failures: list[datetime] = Field(
        sa_column=Column(ARRAY(DateTime(timezone=True)), nullable=False)
    )
    last_failed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TaskFollowUpRow(_Row, table=True):
    """Which follow-up a recurring task's completion created: at most one per source, ever
    (migration 0005 says why). `follow_up_id` is NULL once that follow-up is deleted."""

    __tablename__ = "task_follow_ups"

    source_id: UUID = Field(
        sa_column=Column(
            Uuid(),
            ForeignKey("tasks.id", ondelete="CASCADE", name="fk_task_follow_ups_source_id_tasks"),
            primary_key=True,
        )
    )
    follow_up_id: UUID | None = Field(
        default=None,
        sa_column=Column(
            Uuid(),
            ForeignKey(
                "tasks.id", ondelete="SET NULL", name="fk_task_follow_ups_follow_up_id_tasks"
            ),
            unique=True,
        ),
    )

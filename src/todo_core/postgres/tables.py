"""SQLModel table rows: how users, their tasks and their external identities are stored,
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
    String,
    Text,
    Uuid,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
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

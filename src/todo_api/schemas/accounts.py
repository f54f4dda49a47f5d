"""Bodies of the account routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from todo_api.routes import API_PREFIX
from todo_api.schemas.tasks import WHITESPACE, documented, documented_not_null, trimmed
from todo_core.domain.users import (
    EMAIL_MAX,
    NAME_MAX,
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
)

NO_NUL = r"^[^\u0000]*$"
_S = f"[{WHITESPACE}]"  # what str.strip() removes
_PART = f"[^@\\u0000{WHITESPACE}]+"
EMAIL = f"^{_S}*{_PART}@{_PART}\\.{_PART}{_S}*$"
USERNAME = rf"^{_S}*([A-Za-z0-9_.-]{{{USERNAME_MIN},{USERNAME_MAX}}})?{_S}*$"
PASSWORD = documented(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX_BYTES, pattern=NO_NUL)
PASSWORD_RULE = (
    f"{PASSWORD_MIN} to {PASSWORD_MAX_BYTES} characters, and at most {PASSWORD_MAX_BYTES} "
    "bytes in UTF-8"
)


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The domain's one-field rules, as a schema (the domain still checks them and names the
    # field). One rule a schema cannot say: a password is at most 72 bytes in UTF-8.
    email: str = Field(
        max_length=EMAIL_MAX,
        json_schema_extra=documented(pattern=EMAIL),
        description="Trimmed and lower-cased; unique",
        examples=["ada@example.com"],
    )
    password: str = Field(max_length=1024, description=PASSWORD_RULE, json_schema_extra=PASSWORD)
    username: str | None = Field(
        default=None,
        max_length=200,
        json_schema_extra=documented(pattern=USERNAME),
        description="Letters, digits, `_`, `.`, `-`; unique; blank is none",
        examples=["ada"],
    )
    name: str | None = Field(
        default=None,
        max_length=1024,
        json_schema_extra=documented(pattern=trimmed(0, NAME_MAX)),
        examples=["Ada Lovelace"],
    )


class UserPublic(BaseModel):
    id: UUID
    email: str
    username: str | None
    name: str | None
    is_active: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds until the token expires")


class TokenPair(AccessToken):
    refresh_token: str = Field(
        description=f"Opaque; exchange it at POST {API_PREFIX}/auth/refresh (once: it rotates)"
    )


class ProfilePatch(BaseModel):
    """Only the fields sent change; `name` and `username` may be null to clear them."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None,
        max_length=1024,
        json_schema_extra=documented(pattern=trimmed(0, NAME_MAX)),
        examples=["Ada King"],
    )
    username: str | None = Field(
        default=None,
        max_length=200,
        json_schema_extra=documented(pattern=USERNAME),
        examples=["ada"],
    )
    # may not be null (the route answers 422): the schema says so
    email: Annotated[str, Field(max_length=EMAIL_MAX)] | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=documented_not_null(pattern=EMAIL),
        description="A new address is unverified until the link sent to it is followed",
        examples=["ada@example.org"],
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=1024)
    new_password: str = Field(
        max_length=1024, description=PASSWORD_RULE, json_schema_extra=PASSWORD
    )


class AccountDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(
        default=None,
        max_length=1024,
        description="Required for accounts with a password (not for external identities)",
    )


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["ada@example.com"])


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=1024, description="The `token` from the emailed link")
    new_password: str = Field(
        max_length=1024, description=PASSWORD_RULE, json_schema_extra=PASSWORD
    )


class EmailVerificationConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=1024, description="The `token` from the emailed link")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=1024)


class Accepted(BaseModel):
    detail: str


class SessionPublic(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    current: bool = Field(description="Whether the token of this request belongs to it")

"""Bodies of the account routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from todo_api.routes import API_PREFIX


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Generous outer bounds only; the domain applies the real rules and names the field.
    email: str = Field(max_length=320, examples=["ada@example.com"])
    password: str = Field(max_length=1024, description="At least 8 characters (72 bytes max)")
    username: str | None = Field(default=None, max_length=200, examples=["ada"])
    name: str | None = Field(default=None, max_length=1024, examples=["Ada Lovelace"])


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

    name: str | None = Field(default=None, max_length=1024, examples=["Ada King"])
    username: str | None = Field(default=None, max_length=200, examples=["ada"])
    email: str | None = Field(
        default=None,
        max_length=320,
        description="A new address is unverified until the link sent to it is followed",
        examples=["ada@example.org"],
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024, description="At least 8 characters (72 bytes max)")


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
    new_password: str = Field(max_length=1024, description="At least 8 characters (72 bytes max)")


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

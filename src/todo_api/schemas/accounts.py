"""Bodies of the account routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


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

"""Users and the rules for their account fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from todo_core.domain.validation import Checks, clean_text, is_encodable, optional_text
from todo_core.errors import ValidationError

EMAIL_MAX = 320
USERNAME_MIN, USERNAME_MAX = 3, 50
NAME_MAX = 255
PASSWORD_MIN, PASSWORD_MAX = 8, 128
# bcrypt silently ignores everything after 72 bytes; refusing longer passwords is more honest
# than accepting characters that would never be checked.
PASSWORD_MAX_BYTES = 72

# Deliberately loose: the only reliable test of an address is sending mail to it.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# ASCII only, so that look-alike letters from other scripts cannot impersonate a user.
_USERNAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class User:
    id: UUID
    email: str
    username: str | None
    # Never in a repr, so never in a log line. None: the user signs in only through an
    # external issuer (see todo_core.domain.identities) and has no password here.
    password_hash: str | None = field(repr=False)
    name: str | None
    is_active: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    # Access tokens issued before this moment are refused (set by a password change or
    # reset); compared with the token's issue time to the microsecond.
    tokens_valid_after: datetime | None = None

    @property
    def has_password(self) -> bool:
        """False for an account from an external identity provider (no password here)."""
        return bool(self.password_hash)

    def accepts_token(self, issued_at: datetime | None) -> bool:
        """Whether an access token issued at `issued_at` still speaks for this user: active,
        and issued after the last revocation (None: the caller did not say, nothing to compare)."""
        if not self.is_active:
            return False
        if issued_at is None or self.tokens_valid_after is None:
            return True
        return issued_at >= self.tokens_valid_after

    def revoke_tokens(self, now: datetime) -> None:
        """Every access token issued before `now` stops working."""
        self.tokens_valid_after = now
        self.updated_at = now


def normalize_email(value: str) -> str:
    email = clean_text("email", value, max_length=EMAIL_MAX, min_length=1).lower()
    if not _EMAIL.fullmatch(email):
        raise ValidationError.of("email", "must be a valid email address")
    return email


def normalize_username(value: str | None) -> str | None:
    """Trimmed username (case kept) or None; never contains '@', so a login is unambiguous."""
    username = optional_text("username", value, max_length=USERNAME_MAX)
    if username is None:
        return None
    if len(username) < USERNAME_MIN:
        raise ValidationError.of("username", f"must be at least {USERNAME_MIN} characters")
    if not _USERNAME.fullmatch(username):
        raise ValidationError.of("username", "may contain only letters, digits, '_', '.' and '-'")
    return username


def normalize_name(value: str | None) -> str | None:
    return optional_text("name", value, max_length=NAME_MAX)


def check_password(value: str) -> None:
    """Password policy; the password itself is never trimmed or echoed back."""
    if not isinstance(value, str) or "\x00" in value or not is_encodable(value):
        raise ValidationError.of("password", "must be valid text without NUL characters")
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise ValidationError.of(
            "password", f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long"
        )
    if len(value.encode("utf-8")) > PASSWORD_MAX_BYTES:
        raise ValidationError.of("password", f"must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8")


def check_new_password(value: str, *, field: str = "new_password") -> None:
    """The password policy, reported under the request's own field name."""
    try:
        check_password(value)
    except ValidationError as error:
        raise ValidationError.of(field, error.errors[0].message) from None


def check_sign_up(
    *, email: str, password: str, username: str | None, name: str | None
) -> tuple[str, str | None, str | None]:
    """Validate every sign-up field at once; returns the normalised email, username and name."""
    checks = Checks()
    clean_email = checks.run(normalize_email, email, "")
    clean_username = checks.run(normalize_username, username, None)
    clean_name = checks.run(normalize_name, name, None)
    checks.run(check_password, password, None)
    checks.raise_if_any()
    return clean_email, clean_username, clean_name


def new_user(
    *,
    email: str,
    username: str | None,
    name: str | None,
    password_hash: str | None,
    now: datetime,
    email_verified: bool = False,
) -> User:
    """A fresh, active user from already-normalised fields (unverified unless told)."""
    return User(
        id=uuid4(),
        email=email,
        username=username,
        password_hash=password_hash,
        name=name,
        is_active=True,
        email_verified=email_verified,
        created_at=now,
        updated_at=now,
    )

"""Small building blocks shared by the domain rules: text checks, UTC times, error collection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from todo_core.errors import FieldError, ValidationError

A = TypeVar("A")
T = TypeVar("T")


def clean_text(field: str, value: str, *, max_length: int, min_length: int = 0) -> str:
    """Trim `value` and check its length; NUL is refused because PostgreSQL text cannot hold it."""
    if not isinstance(value, str):
        raise ValidationError.of(field, "must be a string")
    if "\x00" in value:
        raise ValidationError.of(field, "must not contain NUL characters")
    if not is_encodable(value):
        raise ValidationError.of(field, "must be valid Unicode (no lone surrogates)")
    text = value.strip()
    if len(text) < min_length:
        short = (
            "must not be empty" if min_length == 1 else f"must be at least {min_length} characters"
        )
        raise ValidationError.of(field, short)
    if len(text) > max_length:
        raise ValidationError.of(field, f"must be at most {max_length} characters")
    return text


def is_encodable(value: str) -> bool:
    """Whether `value` can be stored: a JSON `\\ud800` escape decodes to a lone surrogate,
    which no UTF-8 database text can hold (the driver would fail mid-transaction)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def optional_text(field: str, value: str | None, *, max_length: int) -> str | None:
    """Trimmed text, or None when absent or blank."""
    if value is None:
        return None
    return clean_text(field, value, max_length=max_length) or None


def to_utc(field: str, value: datetime) -> datetime:
    """An aware datetime in UTC; naive values are refused because their instant is unknown."""
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value  # the common case (rows, our own clock); a list converts 100s of these
    if not isinstance(value, datetime):
        raise ValidationError.of(field, "must be a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.of(field, "must include a timezone offset")
    return value.astimezone(UTC)


class Checks:
    """Collects field errors so that one ValidationError reports every failing field at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def run(self, rule: Callable[[A], T], value: A, fallback: T) -> T:
        """Apply `rule`; on failure record its errors and return `fallback` to keep going."""
        try:
            return rule(value)
        except ValidationError as error:
            self.errors.extend(error.errors)
            return fallback

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)

from __future__ import annotations

import uuid

import pytest

from tests.unit.conftest import NOW
from todo_core import User, ValidationError
from todo_core.domain import check_password, normalize_email, normalize_name, normalize_username


def fields(error: ValidationError) -> list[str]:
    return [e.field for e in error.errors]


def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"


@pytest.mark.parametrize(
    "email", ["", "   ", "alice", "alice@", "@example.com", "a b@example.com", "a@b", "a\x00@b.co"]
)
def test_malformed_email_is_rejected(email: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_email(email)
    assert fields(caught.value) == ["email"]


def test_email_longer_than_320_is_rejected() -> None:
    with pytest.raises(ValidationError):
        normalize_email("a" * 310 + "@example.com")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_username_is_none(value: str | None) -> None:
    assert normalize_username(value) is None


def test_username_is_trimmed_and_keeps_its_case() -> None:
    assert normalize_username("  Alice_B.c-1 ") == "Alice_B.c-1"


@pytest.mark.parametrize("value", ["ab", "a" * 51, "has space", "alice@home", "émile", "nul\x00l"])
def test_bad_username_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_username(value)
    assert fields(caught.value) == ["username"]


def test_name_is_trimmed_and_blank_means_none() -> None:
    assert normalize_name("  Alice Liddell ") == "Alice Liddell"
    assert normalize_name("   ") is None
    with pytest.raises(ValidationError):
        normalize_name("x" * 256)


@pytest.mark.parametrize("password", ["short", "x" * 129, "é" * 37, "pass\x00word"])
def test_password_policy_rejects(password: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_password(password)
    assert fields(caught.value) == ["password"]


@pytest.mark.parametrize("password", ["8 chars!", "x" * 72, "é" * 36])
def test_password_policy_accepts(password: str) -> None:
    check_password(password)


def test_repr_never_shows_the_password_hash() -> None:
    user = User(
        id=uuid.uuid4(),
        email="a@example.com",
        username=None,
        password_hash="$2b$secret",
        name=None,
        is_active=True,
        email_verified=False,
        created_at=NOW,
        updated_at=NOW,
    )
    assert "secret" not in repr(user)
    assert "password_hash" not in repr(user)

from __future__ import annotations

import pytest

from todo_core import (
    AuthenticationFailed,
    Conflict,
    DuplicateAccount,
    FieldError,
    Forbidden,
    NotFound,
    StorageError,
    StorageUnavailable,
    TodoError,
    ValidationError,
    VersionMismatch,
)


@pytest.mark.parametrize(
    "error",
    [
        ValidationError([FieldError("title", "must not be empty")]),
        AuthenticationFailed(),
        Forbidden(),
        NotFound("task"),
        DuplicateAccount("email"),
        VersionMismatch(3),
        StorageError(),
        StorageUnavailable(),
    ],
)
def test_every_error_is_a_todo_error_with_a_readable_message(error: TodoError) -> None:
    assert isinstance(error, TodoError)
    assert str(error) == error.message
    assert error.message


def test_tree_matches_the_docstring() -> None:
    assert issubclass(DuplicateAccount, Conflict)
    assert issubclass(VersionMismatch, Conflict)
    assert issubclass(StorageUnavailable, StorageError)


def test_context_travels_as_attributes() -> None:
    assert NotFound("task").resource == "task"
    assert DuplicateAccount(field="username").field == "username"
    assert VersionMismatch(current_version=7).current_version == 7


def test_validation_error_lists_every_field() -> None:
    error = ValidationError([FieldError("title", "must not be empty"), FieldError("tags", "bad")])
    assert [e.field for e in error.errors] == ["title", "tags"]
    assert str(error) == "title: must not be empty; tags: bad"
    assert ValidationError.of("sort", "unknown").errors == [FieldError("sort", "unknown")]


def test_storage_error_accepts_a_safe_message() -> None:
    assert str(StorageError("could not save the task")) == "could not save the task"

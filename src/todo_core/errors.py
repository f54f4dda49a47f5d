"""Errors raised by `todo_core`: one root, a small tree, user-safe messages.

```
TodoError
├── ValidationError(errors)            input breaks a rule; `errors` lists every failing field
├── AuthenticationFailed               wrong credentials, unknown or inactive user
├── Forbidden                          the acting user is not the owner named in the request
├── NotFound(resource)                 e.g. "task", "user" (also for another user's task)
├── Conflict                           the change clashes with stored state
│   ├── DuplicateAccount(field)        email or username already taken
│   ├── ExternalAccount(provider)      the account signs in elsewhere: no password here
│   ├── IdentityConflict               an external identity's email belongs to an account
│   │                                  it may not take over (see services.identities)
│   ├── VersionMismatch(current_version)  expected version is stale (HTTP: 412)
│   └── IdempotencyKeyInUse            a request with this key is still running (HTTP: 409)
├── IdempotencyKeyReused               the key was used for a different request (HTTP: 422)
├── CursorExpired                      a change-feed cursor older than the tombstones (HTTP: 410)
├── BatchFailed(index, op, cause)      one operation of a batch failed; nothing was applied
├── MigrationError                     a schema migration cannot run or went wrong; the message
│                                      says what is in the way and what to do
└── StorageError                       an adapter wrapped a driver error (`raise ... from e`)
    ├── StorageUnavailable             the database cannot be reached (HTTP: 503)
    └── StorageBusy                    reachable, but what the request needs is held by
                                       others (a row lock, every pooled connection) for too
                                       long; retrying soon succeeds (HTTP: 503 + Retry-After)
```

`str(error)` is always safe to show to a client: it never contains SQL, driver text or
secrets. Context travels as attributes (`error.resource`, `error.current_version`, ...), so
callers never parse messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class TodoError(Exception):
    """Root of every error `todo_core` raises on purpose."""

    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class ValidationError(TodoError):
    default_message = "The input is invalid."

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__("; ".join(map(str, self.errors)) or None)

    @classmethod
    def of(cls, field: str, message: str) -> ValidationError:
        """Shorthand for the common single-field case."""
        return cls([FieldError(field, message)])


class AuthenticationFailed(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    # One message for every cause, so a caller cannot probe which accounts exist.
    default_message = "Incorrect login or password."


class Forbidden(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    default_message = "You may only act on your own data."


class NotFound(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    def __init__(self, resource: str) -> None:
        self.resource = resource
        super().__init__(f"The {resource} does not exist.")


class Conflict(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    default_message = "The change conflicts with the stored data."


class DuplicateAccount(Conflict):
    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"An account with this {field} already exists.")


class ExternalAccount(Conflict):
    def __init__(self, provider: str | None = None) -> None:
        self.provider = provider or "an external identity provider"
        super().__init__(
            f"This account signs in through {self.provider} and has no password here; "
            f"manage its password with {self.provider}."
        )


class IdentityConflict(Conflict):
    default_message = (
        "An account with this email already exists here. It is linked to your sign-in only "
        "when both the identity provider and this account have verified the email address."
    )


class VersionMismatch(Conflict):
    def __init__(self, current_version: int) -> None:
        self.current_version = current_version
        super().__init__(
            f"The task was changed in the meantime (current version {current_version}); "
            "reload it and try again."
        )


class IdempotencyKeyInUse(Conflict):
    default_message = (
        "A request with this Idempotency-Key is still being processed; retry after it finishes."
    )


class IdempotencyKeyReused(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    default_message = (
        "This Idempotency-Key was already used for a different request (method, path or body)."
    )


class CursorExpired(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    default_message = (
        "The cursor is older than the tombstone retention; sync again without a cursor."
    )


class BatchFailed(TodoError):  # noqa: N818 (names read as HTTP outcomes)
    """`cause` is the error the operation at `index` (0-based) raised."""

    def __init__(self, index: int, op: str, cause: TodoError) -> None:
        self.index, self.op, self.cause = index, op, cause
        super().__init__(f"Operation {index} ({op}) failed, so none was applied: {cause}")


class MigrationError(TodoError):
    """A migration cannot run (a foreign table in the way, the lock not had in time, a
    downgrade not confirmed) or was interrupted; one line, safe to print."""

    default_message = "The migration could not run."


class StorageError(TodoError):
    default_message = "The data store failed to complete the request."


class StorageUnavailable(StorageError):  # noqa: N818 (names read as HTTP outcomes)
    default_message = "The database is unavailable; try again shortly."


class StorageBusy(StorageError):  # noqa: N818 (names read as HTTP outcomes)
    """Not an outage: the database is fine, the request waited its bounded time (for a row
    another request is changing, or for a pooled connection) and gave up."""

    default_message = "The data is busy with other requests; try again shortly."

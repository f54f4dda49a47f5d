"""Driver and pool errors in, core errors out (`raise ... from`), so nothing from psycopg or
SQLAlchemy ever crosses the adapter's edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import exc

from todo_core.domain.idempotency import KeyAnswered, KeyEffectMissing, KeyRaced
from todo_core.errors import (
    Conflict,
    DuplicateAccount,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    StorageBusy,
    StorageError,
    StorageUnavailable,
)

_UNIQUE_VIOLATION = "23505"
_ACCOUNT_FIELDS = {"uq_users_email": "email", "uq_users_username": "username"}
_IDENTITY_KEY = "pk_external_identities"  # a concurrent first request linked it already
_FOLLOW_UP_KEY = "pk_task_follow_ups"  # a second follow-up: read before the first was made
_RACED_KEYS = (_IDENTITY_KEY, _FOLLOW_UP_KEY)  # a concurrent writer got there first: 409
# Raised on purpose by claim_idempotency_key() (see todo_core.postgres.keys).
_KEY_SIGNALS: dict[str, type[Exception]] = {
    "TD409": IdempotencyKeyInUse,
    "TD422": IdempotencyKeyReused,
    "TD200": KeyAnswered,
    "TD412": KeyEffectMissing,  # by save_idempotency_key()
}
# Connection-level SQLSTATE classes: 08 connection exception, 57 operator intervention
# (57P01 admin shutdown is what a suspending Neon compute sends), 53 insufficient resources.
_UNAVAILABLE_CLASSES = ("08", "57", "53")
# Waits that gave up while the database was fine: lock_timeout (55P03, a row another request
# is changing) and a deadlock's victim (40P01). Retrying soon succeeds.
_BUSY_STATES = ("55P03", "40P01")


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except exc.IntegrityError as error:
        raise _integrity(error) from error
    except exc.TimeoutError as error:  # the pool had no free connection in time
        raise StorageBusy() from error
    except (exc.DisconnectionError, exc.InterfaceError) as error:
        raise StorageUnavailable() from error
    except exc.DBAPIError as error:
        translated = _driver_error(error.orig)
        if error.connection_invalidated and type(translated) is StorageError:
            translated = StorageUnavailable()
        raise translated from error
    # The unit of work's statements run on the driver's connection directly (see `link`).
    except (OSError, psycopg.Error) as error:
        raise _driver_error(error) from error


def _driver_error(error: BaseException | None) -> Exception:
    signal = _KEY_SIGNALS.get(getattr(error, "sqlstate", None) or "")
    if signal is not None:
        return signal()
    if isinstance(error, psycopg.IntegrityError):
        return _integrity_of(error)
    if _is_busy(error):
        return StorageBusy()
    if isinstance(error, OSError) or _is_unavailable(error):
        return StorageUnavailable()
    return StorageError()


def _is_busy(original: BaseException | None) -> bool:
    return getattr(original, "sqlstate", None) in _BUSY_STATES


def _integrity(error: exc.IntegrityError) -> Exception:
    return _integrity_of(error.orig)


def _integrity_of(original: BaseException | None) -> Exception:
    diag = getattr(original, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if getattr(original, "sqlstate", None) == _UNIQUE_VIOLATION and constraint in _ACCOUNT_FIELDS:
        return DuplicateAccount(_ACCOUNT_FIELDS[constraint])
    if getattr(original, "sqlstate", None) == _UNIQUE_VIOLATION and constraint in _RACED_KEYS:
        return Conflict()
    if constraint == "pk_idempotency_keys":  # committed by another unit of work since our claim
        return KeyRaced()
    return StorageError()


def _is_unavailable(original: BaseException | None) -> bool:
    if isinstance(original, psycopg.OperationalError):
        return True
    sqlstate = getattr(original, "sqlstate", None) or ""
    return sqlstate.startswith(_UNAVAILABLE_CLASSES)

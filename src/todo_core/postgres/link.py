"""Statements on the driver's connection, sent so that each call costs one network round trip.

On Neon a request's latency is its round trips times the RTT (20-80 ms from another region),
so the unit of work talks to psycopg directly rather than through SQLAlchemy's connection
(whose transaction handling costs a BEGIN, a COMMIT and, behind a pooler, a `SET LOCAL`,
each a round trip of its own):

- `Sql`: a SQLAlchemy Core statement (over the SQLModel tables) compiled once for psycopg:
  its text and how its parameters are built. Module-level statements compile at first use;
  built-per-call ones (a list's filters) are looked up by SQLAlchemy's own cache key.
- `Link.send(batch)`: one round trip for the whole batch. A single statement on the direct
  endpoint runs alone in autocommit: no BEGIN, no COMMIT. Several statements, or any
  statement behind the pooler (where the statement timeout must be `SET LOCAL` inside a
  transaction: startup options are refused and a session `SET` leaks to other clients), go
  in psycopg's pipeline mode as `BEGIN; [SET LOCAL statement_timeout]; ...; COMMIT`, one
  Sync, one round trip. Any error aborts the whole batch (nothing of it is committed).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection as DriverConnection
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.engine import Compiled, Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import ClauseElement

_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]
_echo = logging.getLogger("sqlalchemy.engine.Engine")
_CACHE_SIZE = 512
Rows = list[tuple[Any, ...]]
Bound = tuple["Sql", Mapping[str, Any] | None]  # a statement and its values


@dataclass(frozen=True, eq=False)
class Sql:
    """A statement compiled once: `text` for psycopg, `bind(values)` for its parameters."""

    text: str
    compiled: Compiled
    extracted: Sequence[Any] | None = None  # a built-per-call statement's own literal values

    def bind(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        params = dict(
            self.compiled.construct_params(dict(values or {}), extracted_parameters=self.extracted)
            or {}
        )
        processors = getattr(self.compiled, "_bind_processors", {})
        for name, process in processors.items():
            if name in params and params[name] is not None:
                params[name] = process(params[name])
        return params


_by_statement: dict[int, tuple[ClauseElement, Sql]] = {}
_by_key: dict[Any, Compiled] = {}


def sql(statement: ClauseElement) -> Sql:
    """A module-level statement, compiled at its first use and kept."""
    found = _by_statement.get(id(statement))
    if found is not None and found[0] is statement:
        return found[1]
    made = compiled_now(statement)
    _by_statement[id(statement)] = (statement, made)  # the statement kept alive: ids stay unique
    return made


def compiled_now(statement: ClauseElement) -> Sql:
    """A statement compiled for psycopg, kept by the caller (who has its own cache key)."""
    compiled = statement.compile(dialect=_DIALECT)
    return Sql(str(compiled), compiled)


def sql_of_built(statement: ClauseElement) -> Sql:
    """A statement built per call (a list's filters and cursor): compiled once per shape, its
    values taken from this instance, as SQLAlchemy's own compiled cache does."""
    key = statement._generate_cache_key()
    if key is None:
        compiled = statement.compile(dialect=_DIALECT)
        return Sql(str(compiled), compiled)
    found = _by_key.get(key.key)
    if found is not None:
        compiled = found
    else:
        if len(_by_key) >= _CACHE_SIZE:
            _by_key.pop(next(iter(_by_key)))
        # Compiled with its cache key, so later instances map their own values onto it.
        compiled = statement._compiler(_DIALECT, cache_key=key)
        _by_key[key.key] = compiled
    return Sql(str(compiled), compiled, extracted=key.bindparams)


@dataclass(frozen=True)
class Link:
    """One checked-out driver connection (in autocommit) and the path's policy."""

    connection: DriverConnection[Any]
    timeout_per_transaction_ms: int | None  # set behind a pooler: `SET LOCAL` per batch
    observe: Callable[[str, Mapping[str, Any]], None] | None = None
    lock_timeout_per_transaction_ms: int | None = None  # likewise

    @classmethod
    async def on(
        cls,
        connection: AsyncConnection,
        timeout_per_transaction_ms: int | None,
        lock_timeout_per_transaction_ms: int | None = None,
    ) -> Link:
        """The link under a SQLAlchemy connection checked out in AUTOCOMMIT. Its statements
        still reach the engine's `before_cursor_execute` listeners and its SQL echo."""
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, DriverConnection)
        return cls(
            driver,
            timeout_per_transaction_ms,
            _observer(connection.engine, connection.sync_connection),
            lock_timeout_per_transaction_ms,
        )

    @classmethod
    def of(
        cls,
        pooled: PoolProxiedConnection,
        engine: AsyncEngine,
        timeout_per_transaction_ms: int | None,
        lock_timeout_per_transaction_ms: int | None = None,
    ) -> Link:
        """The link on a driver connection checked out of `engine`'s pool in autocommit (see
        `resilience.check_out_driver`); the engine's listeners and echo see its statements."""
        driver = pooled.driver_connection
        assert isinstance(driver, DriverConnection)
        return cls(
            driver,
            timeout_per_transaction_ms,
            _observer(engine),
            lock_timeout_per_transaction_ms,
        )

    async def send(self, batch: Sequence[Bound], *, atomic: bool = False) -> list[Rows]:
        """Run `batch` in one round trip; the rows of each statement, in order. `atomic`:
        the statements commit together or not at all (writes); reads need no transaction:
        pipelined statements before one Sync share PostgreSQL's implicit transaction."""
        transaction = (atomic and len(batch) > 1) or self.timeout_per_transaction_ms is not None
        if not transaction and len(batch) == 1:
            statement, values = batch[0]
            cursor = self.connection.cursor()
            await cursor.execute(statement.text, self._bound(statement, values))
            return [await _rows(cursor)]
        return await self._pipeline(batch, transaction=transaction)

    async def _pipeline(self, batch: Sequence[Bound], *, transaction: bool) -> list[Rows]:
        connection = self.connection
        cursors = []
        try:
            # One Sync, sent when the block exits (an explicit `sync()` here would cost a
            # second round trip: the exit syncs again).
            async with connection.pipeline():
                if transaction:
                    await connection.execute("BEGIN")
                if self.timeout_per_transaction_ms is not None:
                    await connection.execute(self._timeouts())
                for statement, values in batch:
                    cursor = connection.cursor()
                    await cursor.execute(statement.text, self._bound(statement, values))
                    cursors.append(cursor)
                if transaction:
                    await connection.execute("COMMIT")
        except psycopg.Error:
            await self._roll_back_if_open()
            await self._forget_prepared()
            raise
        return [await _rows(cursor) for cursor in cursors]

    def _timeouts(self) -> str:
        timeout = int(self.timeout_per_transaction_ms or 0)
        if self.lock_timeout_per_transaction_ms is None:
            return f"SET LOCAL statement_timeout = {timeout}"
        # Both in one statement (set_config(..., true) is SET LOCAL): no more statements than
        # the statement timeout alone.
        lock = int(self.lock_timeout_per_transaction_ms)
        return (
            f"SELECT set_config('statement_timeout', '{timeout}', true),"
            f" set_config('lock_timeout', '{lock}', true)"
        )

    def _bound(self, statement: Sql, values: Mapping[str, Any] | None) -> dict[str, Any]:
        params = statement.bind(values)
        if self.observe is not None:
            self.observe(statement.text, params)
        return params

    async def _roll_back_if_open(self) -> None:
        # An error inside the pipeline leaves the transaction aborted (nothing committed);
        # close it here so the connection goes back to the pool clean. A broken connection
        # raises again, and is dropped by the pool anyway.
        status = self.connection.info.transaction_status
        if status in (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR):
            with contextlib.suppress(psycopg.Error):
                await self.connection.execute("ROLLBACK")

    async def _forget_prepared(self) -> None:
        # A failed pipeline leaves psycopg's prepared-statement cache out of step with the
        # server: the server skips everything after the failing statement up to the Sync
        # (a Parse psycopg had just decided to send among it), while psycopg records names
        # as prepared that never were, and the next run of such a statement fails with
        # "prepared statement _pg3_N does not exist" (seen in fuzzing as a 500 on sign-up
        # after a duplicate). psycopg offers no public reset, so its cache is cleared here;
        # clearing also schedules a DEALLOCATE ALL before the connection's next statement,
        # so both sides start over. Failed batches only; behind a pooler nothing is prepared.
        prepared = getattr(self.connection, "_prepared", None)
        if prepared is not None and hasattr(prepared, "clear"):
            prepared.clear()
        else:  # another psycopg: do not reuse this connection's statements at all
            await self.connection.close()


async def _rows(cursor: psycopg.AsyncCursor[Any]) -> Rows:
    # Asked of the result's status rather than `cursor.description`, which builds a Column
    # object per column on every call.
    result = cursor.pgresult
    if result is None or result.status != psycopg.pq.ExecStatus.TUPLES_OK:
        return []
    return await cursor.fetchall()


def _observer(
    async_engine: AsyncEngine, sync: Connection | None = None
) -> Callable[[str, Mapping[str, Any]], None] | None:
    engine = async_engine.sync_engine
    listeners = engine.dispatch.before_cursor_execute
    if not listeners and not engine.echo:
        return None

    def observe(statement: str, params: Mapping[str, Any]) -> None:
        if listeners:
            listeners(sync, None, statement, params, None, False)
        if engine.echo:
            _echo.info("%s", statement)  # never the values (`hide_parameters`)

    return observe

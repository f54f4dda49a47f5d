"""The change feed on PostgreSQL, and why a poll can never skip a change.

Design. Statement-level triggers on `tasks` (`record_task_changes`, in `tables.py` and the
migration) run in the transaction of every task insert, update and delete, whoever issues it:
for the rows the statement touched they advance each owner's `change_counters.last_seq` and
upsert each task's `task_changes` row (user, task, seq, deleted). No write path can forget
them, they cost no round trip, and a bulk statement pays once rather than once per row.

Why the order is the commit order. Incrementing the counter row takes that row's lock, held
until the writing transaction ends, so a second writer of the same user waits there until the
first has committed (or rolled back) and only then draws the next number. Per user, numbers
are therefore handed out in commit order: when a transaction holding number n commits, every
number below n is already committed (a rolled-back number is drawn again). A reader's
statement sees one snapshot, so what it sees is exactly a prefix 1..m of the user's numbers,
and its cursor m can only be followed by changes numbered above m. A plain sequence or a
timestamp would not do: those are drawn at the start of a write but become visible at its
commit, in another order, so a poll could pass over a smaller number still in flight.

The price is that one user's writes commit one at a time (from their first task statement on,
which touches the counter row); different users never wait for each other. A task keeps one
row with its latest number, so a task changed several times between two polls appears once,
in its latest state; a delete leaves that row as a tombstone (`deleted`), purged after the
retention.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, select

from todo_core.domain.feed import Change
from todo_core.postgres.link import sql
from todo_core.postgres.repositories import TASK_COLUMNS, TASK_ROWS, tasks
from todo_core.postgres.tables import TaskChangeRow

task_changes: Table = TaskChangeRow.__table__  # type: ignore[attr-defined]

_AFTER = (task_changes.c.user_id == bindparam("owner"), task_changes.c.seq > bindparam("after"))
_FEED = (
    select(task_changes.c.seq, task_changes.c.task_id, task_changes.c.deleted, *TASK_COLUMNS)
    .select_from(task_changes.outerjoin(tasks, tasks.c.id == task_changes.c.task_id))
    .order_by(task_changes.c.seq)
    .limit(bindparam("rows"))
)
_READ = {
    True: sql(_FEED.where(*_AFTER)),
    False: sql(_FEED.where(*_AFTER, task_changes.c.deleted.is_(False))),
}
_OLD_TOMBSTONES = (
    select(task_changes.c.user_id, task_changes.c.task_id)
    .where(task_changes.c.deleted.is_(True), task_changes.c.changed_at < bindparam("before"))
    .limit(bindparam("rows"))
    .with_for_update(skip_locked=True)
    .cte("old")
)
_PURGE = sql(
    delete(task_changes)
    .where(
        task_changes.c.user_id == _OLD_TOMBSTONES.c.user_id,
        task_changes.c.task_id == _OLD_TOMBSTONES.c.task_id,
    )
    .returning(task_changes.c.task_id)
)


class PostgresChangeFeed:
    def __init__(self, channel: Any) -> None:
        self._channel = channel  # the unit of work (see `repositories.Channel`)

    async def read(
        self, *, user_id: UUID, after: int, limit: int, include_deleted: bool = True
    ) -> list[Change]:
        values = {"owner": user_id, "after": after, "rows": limit + 1}
        rows = await self._channel.read(_READ[include_deleted], values)
        return [
            Change.delete(seq, task_id)
            if gone or row[0] is None
            else Change.upsert(seq, TASK_ROWS.entity(row))
            for seq, task_id, gone, *row in rows
        ]

    async def purge(self, *, before: datetime, limit: int) -> int:
        return len(await self._channel.now(_PURGE, {"before": before, "rows": limit}))

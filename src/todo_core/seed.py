"""Development data: one known user and five tasks (two pending, three completed) with varied
priorities, due dates and tags. Idempotent: whatever already exists is left alone, so a second
run adds nothing. Development only; `todo dev` runs it on its throwaway database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from todo_core.domain.queries import TaskQuery
from todo_core.errors import DuplicateAccount
from todo_core.services import AccountService, TaskService

SEED_EMAIL = "test@example.com"
SEED_PASSWORD = "Test123!@#"  # noqa: S105 - the documented development login


@dataclass(frozen=True)
class _SeedTask:
    title: str
    priority: str
    due_in_days: int | None
    tags: tuple[str, ...]
    completed: bool
    recurrence: str | None = None


SEED_TASKS = (
    _SeedTask("Write the project README", "high", 2, ("docs", "work"), completed=False),
    _SeedTask("Water the plants", "low", 1, ("home",), completed=False, recurrence="weekly"),
    _SeedTask("Book dentist appointment", "medium", 7, ("health",), completed=True),
    _SeedTask("Pay the electricity bill", "high", None, ("home", "bills"), completed=True),
    _SeedTask("Read chapter 3", "low", 14, (), completed=True),
)


async def seed_development_data(*, accounts: AccountService, tasks: TaskService) -> int:
    """Returns the number of rows added (0 when everything was already there)."""
    added = 0
    try:
        user = await accounts.sign_up(email=SEED_EMAIL, password=SEED_PASSWORD, name="Test User")
        added += 1
    except DuplicateAccount:
        user = await accounts.authenticate(login=SEED_EMAIL, password=SEED_PASSWORD)
    page = await tasks.list(actor_id=user.id, owner_id=user.id, query=TaskQuery(limit=100))
    present = {task.title for task in page.items}
    now = datetime.now(UTC)
    for spec in SEED_TASKS:
        if spec.title in present:
            continue
        task = await tasks.create(
            actor_id=user.id,
            owner_id=user.id,
            title=spec.title,
            priority=spec.priority,
            due_date=now + timedelta(days=spec.due_in_days) if spec.due_in_days else None,
            tags=spec.tags,
            recurrence=spec.recurrence,
        )
        if spec.completed:
            await tasks.complete(actor_id=user.id, owner_id=user.id, task_id=task.id)
        added += 1
    return added

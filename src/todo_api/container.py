"""What the HTTP layer is given: service interfaces only, never an engine or a session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from todo_api.observability import PoolStats
from todo_api.tokens import TokenService
from todo_core import AccountService, HealthProbe, IdentityService, SyncService, TaskService
from todo_core.ports import LoginFailureLog


async def nothing_to_do() -> None:
    """The default start-up and shutdown."""


@dataclass(frozen=True, kw_only=True)
class Services:
    accounts: AccountService
    tasks: TaskService
    sync: SyncService
    health: HealthProbe
    tokens: TokenService
    identities: IdentityService
    # Failed logins shared by every process (PostgreSQL); None: each app keeps its own in memory.
    login_failures: LoginFailureLog | None = None
    pool_stats: Callable[[], PoolStats] | None = None  # for /metrics
    startup: Callable[[], Awaitable[None]] = nothing_to_do
    shutdown: Callable[[], Awaitable[None]] = nothing_to_do

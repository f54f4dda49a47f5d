"""Use cases over the ports: accounts, external identities, tasks (single writes and batches)
and sync."""

from todo_core.domain.tasks import UNSET, TaskChanges
from todo_core.services.accounts import AccountService, SessionGrant, TokenLifetimes
from todo_core.services.batch import MAX_OPERATIONS, BatchOperation, BatchResult
from todo_core.services.emails import AccountEmails
from todo_core.services.idempotency import DEFAULT_KEY_LIFETIME, Idempotency, Replayed
from todo_core.services.identities import IdentityService, SignInMethods
from todo_core.services.sync import (
    DEFAULT_TOMBSTONE_RETENTION,
    MAX_FEED_LIMIT,
    Purged,
    SyncService,
)
from todo_core.services.tasks import TaskService, TaskUpdate

__all__ = [
    "DEFAULT_KEY_LIFETIME",
    "DEFAULT_TOMBSTONE_RETENTION",
    "MAX_FEED_LIMIT",
    "MAX_OPERATIONS",
    "UNSET",
    "AccountEmails",
    "AccountService",
    "BatchOperation",
    "BatchResult",
    "Idempotency",
    "IdentityService",
    "Purged",
    "Replayed",
    "SessionGrant",
    "SignInMethods",
    "SyncService",
    "TaskChanges",
    "TaskService",
    "TaskUpdate",
    "TokenLifetimes",
]

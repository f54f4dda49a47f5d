"""todo_core: the todo domain, its services and its ports, free of any web framework or driver.

Wire an adapter (`import todo_core.postgres`, or your own implementation of `todo_core.ports`)
into `AccountService` and `TaskService`. `todo_core.testing` ships in-memory fakes.
"""

from todo_core.clock import SystemClock
from todo_core.domain import (
    DEFAULT_SORT,
    MAX_CURSOR_LENGTH,
    UNSET,
    Applied,
    PageCursor,
    Priority,
    SortField,
    Task,
    TaskChanges,
    TaskPage,
    TaskQuery,
    TaskSort,
    User,
)
from todo_core.errors import (
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
from todo_core.hashing import BcryptPasswordHasher
from todo_core.ports import (
    Clock,
    HealthProbe,
    HealthReport,
    PasswordHasher,
    TaskRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    UserRepository,
)
from todo_core.services import AccountService, TaskService, TaskUpdate

__all__ = [
    "DEFAULT_SORT",
    "MAX_CURSOR_LENGTH",
    "UNSET",
    "AccountService",
    "Applied",
    "AuthenticationFailed",
    "BcryptPasswordHasher",
    "Clock",
    "Conflict",
    "DuplicateAccount",
    "FieldError",
    "Forbidden",
    "HealthProbe",
    "HealthReport",
    "NotFound",
    "PageCursor",
    "PasswordHasher",
    "Priority",
    "SortField",
    "StorageError",
    "StorageUnavailable",
    "SystemClock",
    "Task",
    "TaskChanges",
    "TaskPage",
    "TaskQuery",
    "TaskRepository",
    "TaskService",
    "TaskSort",
    "TaskUpdate",
    "TodoError",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "User",
    "UserRepository",
    "ValidationError",
    "VersionMismatch",
]

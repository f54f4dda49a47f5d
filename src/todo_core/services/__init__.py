"""Use cases over the ports: accounts and tasks."""

from todo_core.domain.tasks import UNSET, TaskChanges
from todo_core.services.accounts import AccountService
from todo_core.services.tasks import TaskService, TaskUpdate

__all__ = ["UNSET", "AccountService", "TaskChanges", "TaskService", "TaskUpdate"]

"""Use cases over the ports: accounts, external identities and tasks."""

from todo_core.domain.tasks import UNSET, TaskChanges
from todo_core.services.accounts import AccountService, SessionGrant, TokenLifetimes
from todo_core.services.emails import AccountEmails
from todo_core.services.identities import IdentityService, SignInMethods
from todo_core.services.tasks import TaskService, TaskUpdate

__all__ = [
    "UNSET",
    "AccountEmails",
    "AccountService",
    "IdentityService",
    "SessionGrant",
    "SignInMethods",
    "TaskChanges",
    "TaskService",
    "TaskUpdate",
    "TokenLifetimes",
]

"""OpenAPI operation ids that generated clients read well: `<tag>-<action>`, as the FastAPI
full-stack template does (`tasks-create`, `tasks-list`, `accounts-log-in`), instead of
FastAPI's `create_task_api_v1_users__user_id__tasks_post`.

The action is the endpoint function's name without the tag's own words (`create_task` under
`tasks` is `create`); a function named only by its tag (`health`) takes its HTTP method. It
applies to every route of the app, including routes added later; a test pins the ids and their
uniqueness, so a clash shows up there, not in a client.
"""

from __future__ import annotations

from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    tag = str(route.tags[0]) if route.tags else "api"
    own_words = {tag, tag.removesuffix("s"), f"{tag}s"}
    action = [word for word in route.name.split("_") if word and word not in own_words]
    if not action:
        action = [sorted(route.methods or {"get"})[0].lower()]
    return "-".join([tag.replace("_", "-"), *action])


def unversioned(route: APIRoute) -> str:
    """For a router included a second time without the version prefix (`/health`)."""
    return f"{operation_id(route)}-unversioned"

"""What each scenario sends: method, path, body and whose token, as wrk environment.

Paths name tasks through `{id}`, which the Lua script fills from an id file: GET and PATCH
cycle through the 1,000 tasks of `small`; complete and delete use each of their own ids once,
so every request does real work (no 404s, no no-op completions). The crowd's scenarios send
each request as the next of 32 users (`tokens`, or the owner named beside each id).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import uuid
from dataclasses import dataclass

from bench.data import PASSWORD, Dataset, template_role

TASKS = "/api/v1/users/me/tasks"
ITEMS = "/api/v1/items/"  # the template baseline's (bench/template.py), trailing slash its own
JSON_TYPE = "application/json"
# Ours beside the template's, for the same operation: the same user data, concurrency and
# duration. The template updates with PUT and a partial body (it applies only the fields sent),
# our update is PATCH. `create` and `patch` are one user's writes; `*_crowd`, many users'.
VERSUS = {
    "create": "template_create",
    "get": "template_get",
    "list_100": "template_list_100",
    "patch": "template_update",
    "create_crowd": "template_create_crowd",
    "patch_crowd": "template_update_crowd",
}


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    path: str
    method: str = "GET"
    body: str | None = None
    content_type: str | None = None
    user: str | None = None  # whose token is sent
    tokens: str | None = None  # or which token file's tokens, in turn
    ids: str | None = None  # which id file fills `{id}`
    once: bool = False  # each id at most once
    server: str = "api"  # or "noop", "template"
    keyed: bool = False  # a fresh Idempotency-Key on every request

    def wrk_env(self, data: Dataset) -> dict[str, str]:
        env = {"BENCH_METHOD": self.method, "BENCH_PATH": self.path}
        if self.body is not None:
            env["BENCH_BODY"] = self.body
        if self.content_type:
            env["BENCH_CONTENT_TYPE"] = self.content_type
        if self.user:
            env["BENCH_TOKEN"] = data.tokens[self.user]
        if self.tokens:
            env["BENCH_TOKENS"] = str(data.token_files[self.tokens])
        if self.keyed:  # unique per run, so a warm-up's keys never replay in the measured run
            env["BENCH_KEY_PREFIX"] = uuid.uuid4().hex
        if self.ids:
            env["BENCH_IDS"] = str(data.id_files[self.ids])
            env["BENCH_ONCE"] = "1" if self.once else "0"
        return env


def scenarios(data: Dataset) -> list[Scenario]:
    login_body = f"username={data.email('small').replace('@', '%40')}&password={PASSWORD}"
    deep = f"{TASKS}?limit=100&cursor={data.deep_cursor}"
    changes = "/api/v1/users/me/changes"
    create = Scenario(
        name="create",
        path=TASKS,
        method="POST",
        body='{"title": "Write the benchmark", "priority": "high", "tags": ["bench", "perf"]}',
        content_type=JSON_TYPE,
        user="writer",
    )
    patch = Scenario(
        name="patch",
        path=f"{TASKS}/{{id}}",
        method="PATCH",
        body='{"title": "Renamed {n}"}',
        content_type=JSON_TYPE,
        user="small",
        ids="small",
    )
    return [
        Scenario(name="noop", path="/noop", server="noop"),
        Scenario(name="health", path="/health"),
        Scenario(
            name="login",
            path="/api/v1/auth/login",
            method="POST",
            body=login_body,
            content_type="application/x-www-form-urlencoded",
        ),
        create,
        dataclasses.replace(create, name="create_idempotent", keyed=True),
        # A device polling when it is up to date (the common poll), and a first sync's page.
        Scenario(name="feed_poll", path=f"{changes}?cursor={_head_cursor()}", user="small"),
        Scenario(name="feed_page_100", path=f"{changes}?limit=100", user="small"),
        Scenario(name="get", path=f"{TASKS}/{{id}}", user="small", ids="small"),
        Scenario(name="list_100", path=f"{TASKS}?limit=100", user="small"),
        Scenario(name="first_page_100k", path=f"{TASKS}?limit=100", user="large"),
        Scenario(name="deep_page_100k", path=deep, user="large"),
        patch,
        # The same writes by the crowd: each request the next user's (each id with its owner's).
        dataclasses.replace(create, name="create_crowd", user=None, tokens="crowd"),
        dataclasses.replace(patch, name="patch_crowd", user=None, ids="crowd"),
        dataclasses.replace(
            patch,
            name="complete",
            body='{"completed": true}',
            user="churn",
            ids="complete",
            once=True,
        ),
        Scenario(
            name="delete",
            path=f"{TASKS}/{{id}}",
            method="DELETE",
            user="churn",
            ids="delete",
            once=True,
        ),
    ]


def template_scenarios(data: Dataset) -> list[Scenario]:
    """The template's create, get, list 100 (with its count) and update, as ours are sent."""
    small, writer, crowd = template_role("small"), template_role("writer"), template_role("crowd")
    item = f"{ITEMS}{{id}}"
    create = '{"title": "Write the benchmark", "description": "Its baseline, side by side"}'
    return [
        Scenario(name="template_create", path=ITEMS, method="POST", body=create,
                 content_type=JSON_TYPE, user=writer, server="template"),
        Scenario(name="template_get", path=item, user=small, ids=small, server="template"),
        Scenario(name="template_list_100", path=f"{ITEMS}?skip=0&limit=100", user=small,
                 server="template"),
        Scenario(name="template_update", path=item, method="PUT",
                 body='{"title": "Renamed {n}"}', content_type=JSON_TYPE, user=small,
                 ids=small, server="template"),
        Scenario(name="template_create_crowd", path=ITEMS, method="POST", body=create,
                 content_type=JSON_TYPE, tokens=crowd, server="template"),
        Scenario(name="template_update_crowd", path=item, method="PUT",
                 body='{"title": "Renamed {n}"}', content_type=JSON_TYPE, ids=crowd,
                 server="template"),
    ]  # fmt: skip


def _head_cursor() -> str:
    """A feed cursor past every change (what an up-to-date device holds), issued now."""
    payload = json.dumps({"n": 2**40, "t": int(time.time())}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()

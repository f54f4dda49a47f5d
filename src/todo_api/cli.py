"""The `todo` command: serve the API, run it locally on a throwaway database, manage the schema.

todo serve [--host H] [--port P] [--workers N]   production-style; needs DATABASE_URL
todo dev [--port P] [--no-seed]                   embedded PostgreSQL when DATABASE_URL is unset
todo db upgrade [REV] | downgrade [REV] | current | tables | seed
todo mcp                                          MCP over stdio, as TODO_ACCESS_TOKEN's user
todo --version

The port is --port, else $PORT (as platforms such as Render, Fly and Railway set it), else 8000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from pydantic import ValidationError as SettingsValidationError

from todo_api import __version__, bootstrap, db_commands, mcp
from todo_api.bootstrap import Config
from todo_api.logs import configure_logging
from todo_api.settings import Settings
from todo_core import StorageUnavailable, TodoError

DEFAULT_PORT = 8000


class CommandError(Exception):
    """Ends the command with a one-line message and exit status 2."""


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except CommandError as error:
        print(f"todo: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo", description="The todo backend.")
    parser.add_argument("--version", action="version", version=f"todo {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API (needs DATABASE_URL)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server's job
    serve.add_argument("--port", type=int, default=None, help="default: $PORT, else 8000")
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    dev = commands.add_parser("dev", help="run the API locally, on a throwaway database")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=None, help="default: $PORT, else 8000")
    dev.add_argument("--no-seed", dest="seed", action="store_false")
    dev.set_defaults(run=_dev)

    mcp = commands.add_parser("mcp", help="serve MCP tools over stdio (needs TODO_ACCESS_TOKEN)")
    mcp.set_defaults(run=_mcp)

    db = commands.add_parser("db", help="manage the database").add_subparsers(
        required=True, metavar="ACTION"
    )
    up = db.add_parser("upgrade", help="migrate to REV (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    _lock_timeout_option(up)
    up.set_defaults(
        run=_with_config(
            lambda c, a: db_commands.upgrade(
                c, a.revision, lock_wait=a.lock_timeout, on_wait=_say_waiting
            ),
            "upgraded",
        )
    )
    down = db.add_parser("downgrade", help="migrate down to REV (default: one step)")
    down.add_argument("revision", nargs="?", default="-1")
    down.add_argument("--yes", action="store_true", help="drop tables that hold rows")
    _lock_timeout_option(down)
    down.set_defaults(
        run=_with_config(
            lambda c, a: db_commands.downgrade(
                c,
                a.revision,
                lock_wait=a.lock_timeout,
                on_wait=_say_waiting,
                confirm=partial(_confirm_drop, yes=a.yes),
            ),
            "downgraded",
        )
    )
    db.add_parser("current", help="show the revision").set_defaults(run=_current)
    db.add_parser("tables", help="tables, columns, row counts").set_defaults(run=_tables)
    db.add_parser("seed", help="add the development data").set_defaults(run=_seed)
    return parser


def _port(args: argparse.Namespace) -> int:
    """--port, else $PORT (set by the hosting platform), else 8000."""
    if args.port is not None:
        return int(args.port)
    given = os.environ.get("PORT", "").strip()
    if not given:
        return DEFAULT_PORT
    if not given.isdigit() or not 0 < int(given) < 65536:
        raise CommandError(f"PORT is invalid: {given!r} is not a port number")
    return int(given)


def _lock_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="give up waiting for another migration's lock after this (default: 300)",
    )


def _say_waiting(message: str) -> None:
    print(f"todo: {message}", file=sys.stderr, flush=True)


def _confirm_drop(dropped: db_commands.Dropped, *, yes: bool) -> bool:
    """--yes, or a person at the terminal says yes; otherwise the downgrade is refused."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    listed = db_commands.describe_dropped(dropped)
    print(f"todo: this downgrade drops tables holding rows: {listed}", file=sys.stderr)
    return input("Drop them? [y/N] ").strip().lower() in ("y", "yes")


def _config() -> Config:
    try:
        return bootstrap.load_config()
    except SettingsValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        if not first["loc"]:  # the model's own check: its message names the setting
            raise CommandError(str(first.get("ctx", {}).get("error", first["msg"]))) from None
        field = str(first["loc"][0]).upper()
        raise CommandError(f"{field} is invalid: {first['msg']}") from None
    except TodoError as error:  # DATABASE_URL
        raise CommandError(str(error)) from None


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    try:
        return asyncio.run(coroutine)
    except TodoError as error:
        raise CommandError(str(error)) from None


def _with_config(
    action: Callable[[Config, argparse.Namespace], Coroutine[Any, Any, Any]], done: str
) -> Callable[[argparse.Namespace], None]:
    def run(args: argparse.Namespace) -> None:
        _run(action(_config(), args))
        print(f"todo: {done}")

    return run


def _serve(args: argparse.Namespace) -> None:
    config = _config()  # a bad configuration stops here, in one line, before uvicorn starts
    configure_logging(config.settings)
    try:
        # Waits (retried in production, logged per attempt), then migrates in development or
        # checks the schema in production: once, here, so the app's own start skips it.
        asyncio.run(bootstrap.start_once(config))
    except StorageUnavailable as error:
        said = str(error)
        reach = said if said.startswith("cannot reach") else f"cannot reach the database ({said})"
        raise CommandError(reach) from None
    except TodoError as error:  # a migration in development: what is in the way, in one line
        raise CommandError(str(error)) from None
    _uvicorn(config.settings, host=args.host, port=_port(args), workers=args.workers)


def _uvicorn(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    uvicorn.run(
        # The start-up work is done; the app's long-lived heap is frozen (see the factory).
        "todo_api.bootstrap:served_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # X-Forwarded-For/-Proto are believed only from FORWARDED_ALLOW_IPS (the platform's
        # proxy), so throttling and logs see the real client, and nobody else can spoof it.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=20,
        # Logging is the app's (todo_api.observability, set up by the factory in each worker):
        # its access log replaces uvicorn's, with route templates and request ids.
        access_log=False,
        log_config=None,
        log_level="warning" if settings.is_production else "info",
    )


def _dev(args: argparse.Namespace) -> None:
    _port(args)  # a bad $PORT stops here, before a database is started
    if os.environ.get("DATABASE_URL"):
        _serve_dev(args)
        return
    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it unwinds the
    # `with` below, so the throwaway database is stopped and deleted instead of orphaned.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(db_commands.embedded_database())
        except db_commands.EmbeddedPostgresUnavailableError as error:
            raise CommandError(str(error)) from None
        os.environ["DATABASE_URL"] = url
        print("todo: started a throwaway PostgreSQL (deleted on exit)")
        _serve_dev(args)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve_dev(args: argparse.Namespace) -> None:
    os.environ.setdefault("ENVIRONMENT", "development")
    port = _port(args)
    # Links in the emails `todo dev` logs (and the MCP metadata) point at this very server.
    os.environ.setdefault("PUBLIC_URL", f"http://{args.host}:{port}")
    config = _config()
    _run(db_commands.upgrade(config))  # the start-up work: the app's own start skips it
    if args.seed:
        _run(db_commands.seed(config))
    print(f"todo: API on http://{args.host}:{port}  docs: http://{args.host}:{port}/docs")
    _uvicorn(config.settings, host=args.host, port=port)


def _mcp(_: argparse.Namespace) -> None:
    try:
        token = mcp.access_token()
    except mcp.AgentTokenError as error:
        raise CommandError(str(error)) from None
    config = _config()
    settings = config.settings
    # To stderr (stdout is the protocol), and quiet unless asked: agents show it as errors.
    configure_logging(settings.model_copy(update={"log_level": settings.log_level or "WARNING"}))
    services = bootstrap.build_services(config)

    async def serve() -> None:
        await services.startup()
        try:
            await mcp.serve_stdio(services, token=token, version=__version__)
        finally:
            await services.shutdown()

    try:
        _run(serve())
    except mcp.AgentTokenError as error:
        raise CommandError(str(error)) from None


def _current(_: argparse.Namespace) -> None:
    current, head = _run(db_commands.current(_config()))
    state = "up to date" if current == head else "behind"
    print(f"current: {current or '(none)'}\nhead:    {head}\nstate:   {state}")


def _tables(_: argparse.Namespace) -> None:
    config = _config()
    overview = _run(db_commands.tables(config))
    current, _head = _run(db_commands.current(config))
    for name, columns, rows in overview:
        print(f"{name} ({rows} rows)")
        for column, type_ in columns:
            print(f"    {column:<16} {type_}")
    print(f"migration revision: {current or '(none)'}")


def _seed(_: argparse.Namespace) -> None:
    created = _run(db_commands.seed(_config()))
    print(f"todo: seed {'added ' + str(created) + ' rows' if created else 'changed nothing'}")


if __name__ == "__main__":
    main()

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest

import todo_core
from todo_core import BcryptPasswordHasher, SystemClock


async def test_hash_and_verify(hasher: BcryptPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")
    assert hashed.startswith("$2b$04$")
    assert await hasher.verify("correct horse battery", hashed)
    assert not await hasher.verify("Correct horse battery", hashed)
    assert await hasher.hash("correct horse battery") != hashed  # salted


@pytest.mark.parametrize("bad_hash", ["", "not a hash", "$2b$04$short", "\u00e9"])
async def test_verify_never_raises_on_a_malformed_hash(
    hasher: BcryptPasswordHasher, bad_hash: str
) -> None:
    assert await hasher.verify("whatever1", bad_hash) is False


async def test_hashing_does_not_block_the_event_loop(hasher: BcryptPasswordHasher) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await BcryptPasswordHasher(rounds=10).hash("correct horse battery")
    task.cancel()
    assert ticks > 1  # the loop kept running while bcrypt worked in a thread


async def test_passwords_bcrypt_cannot_check_faithfully_are_refused(
    hasher: BcryptPasswordHasher,
) -> None:
    with pytest.raises(ValueError, match="72 bytes"):
        await hasher.hash("x" * 73)


def test_rounds_are_bounded() -> None:
    with pytest.raises(ValueError, match="rounds"):
        BcryptPasswordHasher(rounds=3)


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC


def test_public_surface_resolves() -> None:
    for name in todo_core.__all__:
        assert getattr(todo_core, name) is not None, name
    assert len(set(todo_core.__all__)) == len(todo_core.__all__)


def test_core_imports_no_framework_orm_or_driver() -> None:
    # A fresh interpreter: this test process has SQLAlchemy loaded by other fixtures.
    code = (
        "import sys, todo_core, todo_core.testing, todo_core.domain, todo_core.services\n"
        "banned = ('fastapi', 'starlette', 'sqlmodel', 'sqlalchemy', 'psycopg',"
        " 'todo_core.postgres')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in banned or m.startswith(banned)]\n"
        "assert not loaded, loaded\n"
    )
    src = str(Path(todo_core.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)  # noqa: S603

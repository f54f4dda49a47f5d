"""External identities on PostgreSQL: the repository round trip, profile updates, and many
first requests of one new subject at once making exactly one user."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from todo_core import ExternalClaims, IdentityService
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWorkFactory
from todo_core.testing import FixedClock

T0 = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
ISSUER = "https://auth.example.test"


def claims(subject: str, *, name: str = "Ada", at: datetime = T0) -> ExternalClaims:
    return ExternalClaims.parse(
        issuer=ISSUER,
        subject=subject,
        email=f"{subject}@example.com",
        name=name,
        email_verified=True,
        issued_at=at,
    )


def service(database: PostgresDatabase) -> IdentityService:
    # A fresh service per caller: no shared cache, every call goes to the database.
    return IdentityService(uow=PostgresUnitOfWorkFactory(database), clock=FixedClock(T0))


async def test_identities_are_stored_and_followed(database: PostgresDatabase) -> None:
    user_id = await service(database).resolve(claims("abc"))
    assert await service(database).resolve(claims("abc")) == user_id
    later = T0 + timedelta(minutes=1)
    await service(database).resolve(claims("abc", name="Ada King", at=later))
    async with database.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT u.name, u.password_hash, i.claims_issued_at FROM users u "
                    "JOIN external_identities i ON i.user_id = u.id WHERE u.id = :id"
                ),
                {"id": user_id},
            )
        ).one()
    assert tuple(row) == ("Ada King", None, later)
    methods = await service(database).sign_in_methods(user_id=user_id)
    assert (methods.password, methods.issuers) == (False, (ISSUER,))


async def test_concurrent_first_requests_of_a_subject_make_one_user(
    database: PostgresDatabase,
) -> None:
    ids = await asyncio.gather(*(service(database).resolve(claims("race")) for _ in range(5)))
    assert len(set(ids)) == 1
    async with database.engine.connect() as connection:
        users = await connection.scalar(text("SELECT count(*) FROM users"))
    assert users == 1

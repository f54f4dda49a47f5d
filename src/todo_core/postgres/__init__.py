"""The PostgreSQL adapter for `todo_core`: SQLModel tables, an async SQLAlchemy engine on
psycopg 3 tuned for Neon, repositories, a unit of work, migrations and a health probe.

Import it explicitly (`import todo_core.postgres`); `import todo_core` alone stays free of
SQLAlchemy. Wiring it into the services::

    url = normalize_database_url(os.environ["DATABASE_URL"])
    database = PostgresDatabase.from_url(url, EngineOptions())
    tasks = TaskService(uow=PostgresUnitOfWorkFactory(database), clock=SystemClock())
    ...
    await database.dispose()

`PostgresDatabase` is the adapter's one object: the engine with its connection guard and
transaction policy. The unit-of-work factory and the health probe take it; nothing else
holds adapter state.
"""

from todo_core.postgres import migrate
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.embedded import EmbeddedPostgresUnavailableError, embedded_postgres
from todo_core.postgres.engine import EngineOptions
from todo_core.postgres.health import PostgresHealthProbe
from todo_core.postgres.throttle import PostgresLoginFailureLog
from todo_core.postgres.unit_of_work import PostgresUnitOfWork, PostgresUnitOfWorkFactory
from todo_core.postgres.url import DatabaseUrlError, normalize_database_url

__all__ = [
    "DatabaseUrlError",
    "EmbeddedPostgresUnavailableError",
    "EngineOptions",
    "PostgresDatabase",
    "PostgresHealthProbe",
    "PostgresLoginFailureLog",
    "PostgresUnitOfWork",
    "PostgresUnitOfWorkFactory",
    "embedded_postgres",
    "migrate",
    "normalize_database_url",
]

"""The PostgreSQL adapter for `todo_core`: SQLModel tables, an async SQLAlchemy engine on
psycopg 3 tuned for Neon, repositories, a unit of work, migrations and a health probe.

Import it explicitly (`import todo_core.postgres`); `import todo_core` alone stays free of
SQLAlchemy. Wiring it into the services takes three lines::

    engine = create_engine(normalize_database_url(os.environ["DATABASE_URL"]))
    uow = PostgresUnitOfWorkFactory(engine)
    tasks = TaskService(uow=uow, clock=SystemClock())
"""

from todo_core.postgres import migrate
from todo_core.postgres.embedded import embedded_postgres
from todo_core.postgres.engine import EngineOptions, create_engine
from todo_core.postgres.health import PostgresHealthProbe
from todo_core.postgres.unit_of_work import PostgresUnitOfWork, PostgresUnitOfWorkFactory
from todo_core.postgres.url import DatabaseUrlError, normalize_database_url

__all__ = [
    "DatabaseUrlError",
    "EngineOptions",
    "PostgresHealthProbe",
    "PostgresUnitOfWork",
    "PostgresUnitOfWorkFactory",
    "create_engine",
    "embedded_postgres",
    "migrate",
    "normalize_database_url",
]

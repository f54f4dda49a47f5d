"""The PostgreSQL adapter for `todo_core`: SQLModel tables, an async SQLAlchemy engine on
psycopg 3 tuned for Neon, repositories, a unit of work, migrations and a health probe.

Import it explicitly (`import todo_core.postgres`); `import todo_core` alone stays free of
SQLAlchemy.
"""

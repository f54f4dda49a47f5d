"""Read the live schema back out of PostgreSQL's catalogue, in the shape of `specs/schema.toml`.

Used by the schema test (spec = models = migrated database) and by `todo db tables`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

_IGNORED_TABLES = ("alembic_version",)

_TABLES = text("""
    SELECT c.oid, c.relname FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
    ORDER BY c.relname
""")
_COLUMNS = text("""
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid)
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
""")
_CONSTRAINTS = text("""
    SELECT con.conname, con.contype, pg_get_constraintdef(con.oid),
           ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                 ORDER BY k.i)
    FROM pg_constraint con WHERE con.conrelid = :oid ORDER BY con.conname
""")
_INDEXES = text("""
    SELECT i.relname, am.amname, pg_get_indexdef(x.indexrelid)
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_am am ON am.oid = i.relam
    WHERE x.indrelid = :oid
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
    ORDER BY i.relname
""")
_TRIGGERS = text("""
    SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
    WHERE t.tgrelid = :oid AND NOT t.tgisinternal ORDER BY t.tgname
""")
_ENUMS = text("""
    SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname ORDER BY t.typname
""")


def describe_schema(connection: Connection) -> dict[str, Any]:
    """The public schema as a plain dict shaped like the spec file."""
    tables = {
        name: _describe_table(connection, oid)
        for oid, name in connection.execute(_TABLES)
        if name not in _IGNORED_TABLES
    }
    enums = {name: list(labels) for name, labels in connection.execute(_ENUMS)}
    return {"enums": enums, "tables": tables}


def _describe_table(connection: Connection, oid: int) -> dict[str, Any]:
    table: dict[str, Any] = {"columns": {}, "unique": {}, "checks": {}, "foreign_keys": {}}
    for name, type_, nullable, default in connection.execute(_COLUMNS, {"oid": oid}):
        column = {"type": type_, "nullable": nullable}
        if default is not None:
            column["default"] = default
        table["columns"][name] = column
    for name, kind, definition, columns in connection.execute(_CONSTRAINTS, {"oid": oid}):
        _add_constraint(table, name, kind, definition, list(columns))
    table["indexes"] = {
        name: {"columns": index_keys(definition), "method": method}
        for name, method, definition in connection.execute(_INDEXES, {"oid": oid})
    }
    table["triggers"] = {
        name: definition for name, definition in connection.execute(_TRIGGERS, {"oid": oid})
    }
    return {key: value for key, value in table.items() if value}


def index_keys(definition: str) -> list[str]:
    """The keys of `CREATE INDEX ... USING gin (title gin_trgm_ops)` as PostgreSQL prints
    them: a plain column is its name; an operator class or an order follows it
    (`due_date DESC NULLS LAST`)."""
    keys, depth, current = [], 0, ""
    for char in definition[definition.index("(", definition.index(" USING ")) + 1 :]:
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            keys.append(current.strip())
            current = ""
        else:
            current += char
    return [*keys, current.strip()]


def _add_constraint(
    table: dict[str, Any], name: str, kind: str, definition: str, columns: list[str]
) -> None:
    if kind == "p":
        table["primary_key"] = columns
    elif kind == "u":
        table["unique"][name] = columns
    elif kind == "c":
        table["checks"][name] = definition
    elif kind == "f":
        references = definition.split("REFERENCES ", 1)[1]
        target, _, rest = references.partition(")")
        on_delete = rest.split("ON DELETE ", 1)[1].strip() if "ON DELETE" in rest else None
        table["foreign_keys"][name] = {
            "columns": columns,
            "references": target + ")",
            **({"on_delete": on_delete} if on_delete else {}),
        }


def table_overview(connection: Connection) -> list[tuple[str, list[tuple[str, str]], int]]:
    """Each table's name, its columns (name, type) and exact row count: a Tables view."""
    overview = []
    for oid, name in connection.execute(_TABLES):
        columns = [(row[0], row[1]) for row in connection.execute(_COLUMNS, {"oid": oid})]
        quoted = connection.dialect.identifier_preparer.quote(name)
        count = connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one()  # noqa: S608
        overview.append((name, columns, int(count)))
    return overview

"""The login throttle's statements, shared by its failure log (`throttle`) and a login's own
statement (`tokens`), which reads and records failures at no round trip of their own."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

KEYS = bindparam("keys", type_=ARRAY(String))

# Each key's failures within the window, as ages in seconds, newest first (binds `keys`,
# `window`): the read a login folds into its own statement (see `tokens`).
RECENT = """
    SELECT t.key, array_agg(EXTRACT(EPOCH FROM now() - f) ORDER BY f DESC) AS ages
    FROM login_throttle AS t, unnest(t.failures) AS f
    WHERE t.key = ANY(CAST(:keys AS text[])) AND f > now() - make_interval(secs => :window)
    GROUP BY t.key
"""

# One failure now for each of `keys` (binds `keys`, `window`, `keep`): `PURGE` is a CTE,
# `ADD` the statement it goes with (a failed login puts one more CTE before them).
PURGE = """
    purged AS (
        DELETE FROM login_throttle
        WHERE last_failed_at <= now() - make_interval(secs => :window)
        AND key <> ALL(CAST(:keys AS text[]))
    )
"""
ADD = """
    INSERT INTO login_throttle AS t (key, failures, last_failed_at)
    SELECT k, ARRAY[now()], now() FROM unnest(CAST(:keys AS text[])) AS k
    ON CONFLICT (key) DO UPDATE SET
        failures = (
            SELECT array_agg(f ORDER BY f)
            FROM (
                SELECT f FROM unnest(t.failures || now()) AS f
                WHERE f > now() - make_interval(secs => :window)
                ORDER BY f DESC
                LIMIT :keep
            ) AS recent
        ),
        last_failed_at = now()
"""

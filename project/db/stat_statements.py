"""The heaviest queries by total time, from PostgreSQL's ``pg_stat_statements`` (``flask db top``)."""

import psycopg

from project.db import connection

HOW_TO_ENABLE = (
    "pg_stat_statements is not available on this database server. To enable it, add it to "
    "shared_preload_libraries in postgresql.conf (shared_preload_libraries = 'pg_stat_statements', "
    "or ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'), restart PostgreSQL, then run "
    "CREATE EXTENSION pg_stat_statements; in this database. On a managed service, turn it on in the "
    "provider's database settings.")
TOP_QUERY = """
    SELECT calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows, query
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY total_exec_time DESC
    LIMIT %s
"""


class Unavailable(Exception):
    """``pg_stat_statements`` cannot be read here; the message says how to enable it."""


def _ensure_extension(conn):
    """Create the extension when the server preloads its library and we may; else raise Unavailable."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone():
        return False
    libraries = conn.execute("SELECT current_setting('shared_preload_libraries') AS value").fetchone()["value"]
    if "pg_stat_statements" not in libraries:
        raise Unavailable(HOW_TO_ENABLE)
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.errors.InsufficientPrivilege:
        raise Unavailable("pg_stat_statements is preloaded but not created in this database, and this role may "
                          "not create it: ask an administrator to run CREATE EXTENSION pg_stat_statements;") from None
    return True


def top(*, limit=10):
    """``(created, rows)``: the ``limit`` heaviest statements of this database, by total execution time.

    ``created`` is True when this call created the extension. Raises
    Unavailable when the server does not collect the statistics.
    """
    with connection() as conn:
        created = _ensure_extension(conn)
        try:
            return created, conn.execute(TOP_QUERY, (limit,)).fetchall()
        except (psycopg.errors.ObjectNotInPrerequisiteState, psycopg.errors.UndefinedTable):
            raise Unavailable(HOW_TO_ENABLE) from None

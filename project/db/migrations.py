"""Versioned SQL migrations: ``project/db/migrations/NNNN_name.sql``, applied in order.

Each file runs once, in its own transaction, and is recorded in
``schema_migrations``. An advisory lock makes concurrent ``release`` runs
(two instances deploying at once) wait for each other instead of racing.
"""

from pathlib import Path

from project.db import connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 7_250_001  # any constant; names this project's migration lock


def available():
    """Every migration file as ``(version, path)``, in order."""
    return [(path.stem, path) for path in sorted(MIGRATIONS_DIR.glob("*.sql"))]


def applied_versions(conn):
    """Versions recorded as applied (empty before the first upgrade)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return {row["version"] for row in conn.execute("SELECT version FROM schema_migrations")}


def upgrade():
    """Apply every pending migration; return the versions applied now."""
    done = []
    with connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            applied = applied_versions(conn)
            for version, path in available():
                if version in applied:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                done.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done


def pending():
    """Versions not applied yet (used by health checks and tests)."""
    with connection() as conn:
        applied = applied_versions(conn)
    return [version for version, _ in available() if version not in applied]

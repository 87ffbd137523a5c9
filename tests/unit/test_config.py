"""Settings: defaults, environment overrides and the fail-fast cases."""

import pytest

from project import create_app
from project.config import ConfigError
from project.config_defaults import PLACEHOLDER_SECRET
from tests.settings import load_mapping as load

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgresql://db.internal/store",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def test_factory_takes_a_test_mapping(settings):
    app = create_app({**settings, "TOKEN_TTL_SECONDS": 60})
    assert app.config["TESTING"] is True
    assert app.config["TOKEN_TTL_SECONDS"] == 60
    assert app.config["APP_ENV"] == "test"


def test_production_with_real_values_loads():
    config = load(PRODUCTION)
    assert config["APP_ENV"] == "production"
    assert config["TESTING"] is False


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_a_missing_variable(name):
    with pytest.raises(ConfigError, match=name):
        load({**PRODUCTION, name: None})


@pytest.mark.parametrize("value", [PLACEHOLDER_SECRET, "changeme", "", "   "])
def test_production_refuses_a_placeholder_secret(value):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load({**PRODUCTION, "SECRET_KEY": value})


def test_production_refuses_a_short_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32"):
        load({**PRODUCTION, "SECRET_KEY": "x" * 20})


def test_development_allows_the_placeholder_secret():
    config = load({"APP_ENV": "development", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x"})
    assert config["SECRET_KEY"] == PLACEHOLDER_SECRET


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL"])
def test_any_environment_needs_the_service_urls(name):
    mapping = {"APP_ENV": "development", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x", name: None}
    with pytest.raises(ConfigError, match=f"{name} is not set"):
        load(mapping)


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load({**PRODUCTION, "APP_ENV": "staging"})


def test_environment_variables_override_defaults(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    monkeypatch.setenv("REDIS_URL", "redis://env:6379/0")
    monkeypatch.setenv("PORT", "9090")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "8")
    config = load(None)
    assert config["DATABASE_URL"] == "postgresql://env/db"
    assert config["PORT"] == 9090
    assert config["DB_POOL_MAX_SIZE"] == 8


def test_a_non_numeric_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    monkeypatch.setenv("REDIS_URL", "redis://env:6379/0")
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ConfigError, match="PORT must be a number"):
        load(None)


def test_production_start_up_fails_through_the_factory(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/store")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()

"""Rate-limit settings: documented defaults, environment overrides, and the fail-fast cases."""

import pytest

from project.config import ConfigError, load_config
from project.config_defaults import RATE_LIMITS
from tests.settings import BASE, FakeApp
from tests.settings import load_mapping as load


def test_every_tier_and_endpoint_has_a_default_limit():
    config = load(BASE)
    assert config["RATELIMIT_ANONYMOUS"] == "60/minute"
    assert all(config[name] for name in RATE_LIMITS)
    assert config["RATELIMIT_FAIL_OPEN"] is True
    assert config["TRUSTED_PROXY_HOPS"] == 0


@pytest.mark.parametrize("value", ["lots", "", "0/minute", "5/minute;100/hour", "5/fortnight", 5, None])
@pytest.mark.parametrize("name", RATE_LIMITS)
def test_a_bad_limit_stops_start_up_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load({**BASE, name: value})


@pytest.mark.parametrize("value", ["10/second", "10 per 2 minutes", " 1/day "])
def test_limits_take_flask_limiters_notation(value):
    assert load({**BASE, "RATELIMIT_FREE": value})["RATELIMIT_FREE"] == value.strip()


@pytest.mark.parametrize("value", [-1, True, 1.5])
def test_proxy_hops_must_be_a_count(value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        load({**BASE, "TRUSTED_PROXY_HOPS": value})


def test_redis_timeout_must_be_positive():
    with pytest.raises(ConfigError, match="RATELIMIT_REDIS_TIMEOUT"):
        load({**BASE, "RATELIMIT_REDIS_TIMEOUT": 0})


def test_settings_come_from_the_environment(monkeypatch):
    for name, value in {**BASE, "RATELIMIT_PREMIUM": "5/second", "RATELIMIT_FAIL_OPEN": "no",
                        "TRUSTED_PROXY_HOPS": "2", "RATELIMIT_REDIS_TIMEOUT": "0.25"}.items():
        monkeypatch.setenv(name, value)
    app = FakeApp()
    load_config(app)
    assert app.config["RATELIMIT_PREMIUM"] == "5/second"
    assert app.config["RATELIMIT_FAIL_OPEN"] is False
    assert app.config["TRUSTED_PROXY_HOPS"] == 2
    assert app.config["RATELIMIT_REDIS_TIMEOUT"] == 0.25


@pytest.mark.parametrize(("name", "value"), [("RATELIMIT_FAIL_OPEN", "maybe"), ("TRUSTED_PROXY_HOPS", "one")])
def test_unreadable_environment_values_name_the_variable(monkeypatch, name, value):
    for key, setting in {**BASE, name: value}.items():
        monkeypatch.setenv(key, setting)
    with pytest.raises(ConfigError, match=name):
        load_config(FakeApp())

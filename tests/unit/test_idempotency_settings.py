"""IDEMPOTENCY_TTL_SECONDS: read from the environment as a number, refused unless a whole number of at least 1."""

import pytest

from project.config import ConfigError, _from_environment, load_config
from tests.settings import BASE, FakeApp


def test_the_ttl_defaults_to_a_day_and_comes_from_the_environment_as_a_number():
    app = FakeApp()
    load_config(app, BASE)
    assert app.config["IDEMPOTENCY_TTL_SECONDS"] == 86400
    assert _from_environment({"IDEMPOTENCY_TTL_SECONDS": "60"}) == {"IDEMPOTENCY_TTL_SECONDS": 60}


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "60"])
def test_a_ttl_that_is_not_a_whole_number_of_seconds_is_refused(value):
    with pytest.raises(ConfigError, match="IDEMPOTENCY_TTL_SECONDS"):
        load_config(FakeApp(), {**BASE, "IDEMPOTENCY_TTL_SECONDS": value})


def test_a_ttl_in_the_environment_that_is_not_a_number_is_refused():
    with pytest.raises(ConfigError, match="IDEMPOTENCY_TTL_SECONDS"):
        _from_environment({"IDEMPOTENCY_TTL_SECONDS": "a day"})

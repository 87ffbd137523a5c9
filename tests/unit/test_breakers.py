"""The breaker's rules, on the suite's real Valkey (and a dead address for the fallback), and its settings."""

import socket
import time

import pytest
from prometheus_client import REGISTRY

from project import create_app
from project.config import ConfigError, environment_settings
from project.outbound import OutboundError
from project.protection import breakers
from tests.logs import captured_log_lines
from tests.settings import load_settings

RESET = 0.3


@pytest.fixture
def make_app(settings):
    """``make_app(**overrides)``: a fresh app with fast breakers (threshold 3, reset 0.3 s, 2 trial calls)."""
    made = []

    def make(**overrides):
        app = create_app({**settings, "BREAKER_FAILURE_THRESHOLD": 3, "BREAKER_RESET_TIMEOUT": RESET,
                          "BREAKER_HALF_OPEN_CALLS": 2, **overrides})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["db"].close()


@pytest.fixture
def webhook(make_app):
    """The webhook breaker of a fresh app, inside its app context."""
    with make_app().app_context():
        yield breakers.get("webhook")


def fail(breaker, times=1):
    for _ in range(times):
        with pytest.raises(OutboundError):
            breaker.call(_raise, OutboundError("down"))


def _raise(error):
    raise error


def transitions(capsys):
    lines = captured_log_lines(capsys)
    return [(line["from"], line["to"], line["shared"]) for line in lines
            if line.get("message") == "circuit_breaker_state_changed"]


def test_the_threshold_counts_failures_in_a_row(webhook):
    fail(webhook, 2)
    assert webhook.call(lambda: "ok") == "ok"  # a success starts the count again
    fail(webhook, 2)
    assert webhook.status()["state"] == "closed"
    assert webhook.status()["failures"] == 2

    fail(webhook)

    assert webhook.status()["state"] == "open"
    with pytest.raises(breakers.CircuitOpen) as refused:
        webhook.call(pytest.fail, "must not be called")
    assert refused.value.retry_after == 1  # 0.3 s left, rounded up to whole seconds for Retry-After
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}


def test_other_errors_are_the_callers_and_do_not_count(webhook):
    for _ in range(5):
        with pytest.raises(KeyError):
            webhook.call(_raise, KeyError("a bug of ours"))

    assert webhook.status()["state"] == "closed"


def test_half_open_lets_a_limited_number_of_trials_through_and_closes_when_all_succeed(webhook, capsys):
    fail(webhook, 3)
    time.sleep(RESET + 0.05)

    with webhook.guard(), webhook.guard():  # the two trial calls, both in flight
        with pytest.raises(breakers.CircuitOpen):
            webhook.call(pytest.fail, "a third trial must not be let through")
        assert webhook.status()["state"] == "half_open"
    assert webhook.status()["state"] == "closed"
    assert transitions(capsys) == [("closed", "open", True), ("open", "half_open", True), ("half_open", "closed", True)]


def test_a_failed_trial_opens_it_again_for_another_reset_timeout(webhook, capsys):
    fail(webhook, 3)
    time.sleep(RESET + 0.05)

    fail(webhook)

    assert webhook.status()["state"] == "open"
    with pytest.raises(breakers.CircuitOpen):
        webhook.call(pytest.fail, "open again")
    assert transitions(capsys)[-1] == ("half_open", "open", True)


def test_a_result_from_an_earlier_phase_changes_nothing(webhook):
    slow_success, slow_failure = webhook.guard(), webhook.guard()
    slow_success.__enter__()  # two calls let through while closed, still running
    slow_failure.__enter__()
    fail(webhook, 3)

    slow_success.__exit__(None, None, None)  # must not close the circuit that opened meanwhile
    assert webhook.status()["state"] == "open"

    time.sleep(RESET + 0.05)
    webhook.call(lambda: None)
    webhook.call(lambda: None)
    assert webhook.status()["state"] == "closed"
    late = OutboundError("late")
    assert slow_failure.__exit__(OutboundError, late, None) is False  # fails now; it belongs to the old phase
    assert webhook.status()["failures"] == 0


def test_breakers_are_namespaced_per_dependency(make_app):
    with make_app().app_context():
        fail(breakers.get("webhook"), 3)

        assert breakers.get("webhook").status()["state"] == "open"
        assert breakers.get("cache").status()["state"] == "closed"
        assert breakers.get("cache").call(lambda: 1) == 1
        assert breakers.get("webhook").key == "store-api:breaker:webhook"


def dead_redis_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


def store_errors():
    return REGISTRY.get_sample_value("circuit_breaker_store_errors_total") or 0


def test_with_its_redis_unreachable_a_breaker_still_protects_this_process(make_app, capsys):
    app = make_app(REDIS_URL=dead_redis_url())
    capsys.readouterr()
    errors_before = store_errors()
    with app.app_context():
        cache = breakers.get("cache")
        assert cache.call(lambda: "through") == "through"  # unknown shared state: treated as closed
        for _ in range(3):
            with pytest.raises(ConnectionRefusedError):
                cache.call(_raise, ConnectionRefusedError("the cache is down too"))
        with pytest.raises(breakers.CircuitOpen):
            cache.call(pytest.fail, "open in this process")
        status = cache.status()

    assert (status["state"], status["shared"]) == ("open", False)
    lines = captured_log_lines(capsys)
    warned = [line for line in lines if line["message"] == "circuit_breaker_store_unreachable"]
    assert [line["error"] for line in warned] == ["ConnectionError"]  # once per outage, not once per call
    assert [(line["from"], line["to"], line["shared"]) for line in lines
            if line["message"] == "circuit_breaker_state_changed"] == [("closed", "open", False)]
    assert store_errors() == errors_before + 1  # Redis is retried only after a pause


def test_retry_later_defers_a_job_until_trials_may_go_through(make_app):
    with make_app(BREAKER_JOB_MAX_RETRIES=7).app_context():
        retry = breakers.retry_later(breakers.CircuitOpen("webhook", 8_200))

    assert retry.max == 7
    [interval] = retry.intervals
    # Retry-After (9 s), one second for RQ's scheduling to the whole second, and jitter of up to a quarter
    assert 10 <= interval <= 10 + 9 // 4


def load(mapping):
    return load_settings(**mapping)


def test_each_breaker_takes_the_defaults_or_its_own_overrides():
    policies = load({"BREAKER_WEBHOOK_FAILURE_THRESHOLD": 2, "BREAKER_CACHE_RESET_TIMEOUT": 0.5})["BREAKER_POLICIES"]

    assert policies == {
        "webhook": {"failure_threshold": 2, "reset_timeout": 30.0, "half_open_calls": 1},
        "cache": {"failure_threshold": 5, "reset_timeout": 0.5, "half_open_calls": 1}}


@pytest.mark.parametrize(("name", "value"), [
    ("BREAKER_FAILURE_THRESHOLD", 0), ("BREAKER_HALF_OPEN_CALLS", 1.5), ("BREAKER_RESET_TIMEOUT", 0),
    ("BREAKER_WEBHOOK_RESET_TIMEOUT", -1), ("BREAKER_CACHE_FAILURE_THRESHOLD", True),
    ("BREAKER_JOB_MAX_RETRIES", 0), ("BREAKER_REDIS_TIMEOUT", 0)])
def test_a_bad_breaker_setting_names_its_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load({name: value})


def test_breaker_settings_are_typed_from_the_environment():
    settings = environment_settings({"BREAKER_WEBHOOK_RESET_TIMEOUT": "1.5", "BREAKER_CACHE_HALF_OPEN_CALLS": "3"})
    assert (settings["BREAKER_WEBHOOK_RESET_TIMEOUT"], settings["BREAKER_CACHE_HALF_OPEN_CALLS"]) == (1.5, 3)
    with pytest.raises(ConfigError, match="BREAKER_RESET_TIMEOUT"):
        environment_settings({"BREAKER_RESET_TIMEOUT": "soon"})

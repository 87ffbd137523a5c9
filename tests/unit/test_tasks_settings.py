"""Background-job settings and the retry backoff: validated at start-up, computed from settings."""

import pytest

from project.config import ConfigError, _from_environment
from project.tasks import registry
from tests.settings import load_settings as load


def test_defaults():
    config = load()

    assert config["RQ_QUEUE_NAMES"] == ["high", "default", "low"]
    assert (config["JOB_MAX_RETRIES"], config["JOB_RETRY_BASE_SECONDS"], config["JOB_RETRY_JITTER"]) == (3, 2, 0.5)
    assert config["WEBHOOK_JOB_TIMEOUT"] < config["REPORT_JOB_TIMEOUT"]


def test_the_environment_sets_them_with_their_types():
    values = _from_environment({"JOB_MAX_RETRIES": "5", "JOB_RETRY_JITTER": "0.25", "RQ_QUEUES": "high,low"})

    assert values == {"JOB_MAX_RETRIES": 5, "JOB_RETRY_JITTER": 0.25, "RQ_QUEUES": "high,low"}
    assert load(**values)["RQ_QUEUE_NAMES"] == ["high", "low"]


@pytest.mark.parametrize(("name", "value"), [
    ("RQ_QUEUES", ""), ("RQ_QUEUES", "high, de fault"), ("JOB_MAX_RETRIES", -1), ("JOB_RETRY_BASE_SECONDS", 1.5),
    ("JOB_RETRY_MAX_SECONDS", 0), ("JOB_RETRY_JITTER", 1.5), ("JOB_RETRY_JITTER", -0.1), ("DEAD_LETTER_TTL", 0),
    ("WORKER_MAINTENANCE_INTERVAL", 0), ("WORKER_HEARTBEAT_GRACE_SECONDS", True), ("WEBHOOK_JOB_TIMEOUT", "30"),
])
def test_a_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load(**{name: value})


def test_retries_and_schedule_may_be_turned_off():
    config = load(JOB_MAX_RETRIES=0, JOB_RETRY_BASE_SECONDS=0, CACHE_WARM_SCHEDULE_SECONDS=0)

    assert config["JOB_MAX_RETRIES"] == 0


def test_backoff_doubles_up_to_the_cap_without_jitter():
    assert registry.backoff_intervals(6, base=2, cap=30, jitter=0) == [2, 4, 8, 16, 30, 30]


def test_jitter_adds_up_to_its_fraction():
    low = registry.backoff_intervals(4, base=10, cap=1000, jitter=0.5, rand=lambda: 0.0)
    high = registry.backoff_intervals(4, base=10, cap=1000, jitter=0.5, rand=lambda: 0.999)

    assert low == [10, 20, 40, 80]
    assert high == [15, 30, 60, 120]


def test_a_base_of_zero_retries_at_once():
    assert registry.backoff_intervals(3, base=0, cap=300, jitter=0.5) == [0, 0, 0]


def test_registered_kinds_are_found_by_function_or_name():
    from project.store.reports.jobs import generate_sales_report

    assert registry.kind_of(generate_sales_report) is registry.SALES_REPORT
    assert registry.kind_of("project.store.orders.jobs.notify_order_placed") is registry.ORDER_WEBHOOK
    assert registry.kind_of("tests.jobs.tick") is None
    assert {kind.queue for kind in registry.KINDS.values()} <= set(registry.QUEUES)

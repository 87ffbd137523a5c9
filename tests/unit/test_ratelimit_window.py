"""ReportingMovingWindow: the library's moving window, with the window read in the hit's round trip.

Against the run's real Valkey: the numbers must match what limits' own
strategy reads, and filling headers must cost no further Redis command.
"""

import flask
import pytest
import redis
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from project.protection.limiter import ReportingMovingWindow


@pytest.fixture
def storage(services):
    return RedisStorage(services["REDIS_URL"])


@pytest.fixture
def request_context():
    with flask.Flask(__name__).test_request_context():
        yield


@pytest.fixture
def commands(services):
    """``commands(only=None)``: commands the server has run so far (inside scripts too), from INFO commandstats."""
    client = redis.Redis.from_url(services["REDIS_URL"])  # one connection: its own set-up is counted once, first

    def count(only=None):
        stats = client.info("commandstats")
        return sum(entry["calls"] for name, entry in stats.items()
                   if name != "cmdstat_info" and (only is None or name == f"cmdstat_{only}"))

    count()
    return count


def test_hits_agree_with_the_librarys_own_window(storage, request_context):
    strategy, reference, limit = ReportingMovingWindow(storage), MovingWindowRateLimiter(storage), parse("3/minute")

    allowed = [strategy.hit(limit, "user:1", "free") for _ in range(4)]

    assert allowed == [True, True, True, False]
    mine = strategy.get_window_stats(limit, "user:1", "free")
    theirs = reference.get_window_stats(limit, "user:1", "free")
    assert mine.remaining == theirs.remaining == 0
    assert mine.reset_time == pytest.approx(theirs.reset_time)


def test_headers_cost_no_round_trip_after_the_hit(storage, request_context, commands):
    strategy, limit = ReportingMovingWindow(storage), parse("5/minute")
    strategy.hit(limit, "warm", "up")  # the scripts are loaded now

    scripts_before = commands("evalsha")
    assert strategy.hit(limit, "user:2", "free")
    after_hit, scripts_after = commands(), commands("evalsha")
    stats = strategy.get_window_stats(limit, "user:2", "free")

    assert scripts_after - scripts_before == 2  # the acquire and the window read, sent as one pipeline
    assert commands() == after_hit  # nothing at all for the headers
    assert stats.remaining == 4


def test_scripts_missing_on_the_server_are_loaded_and_nothing_counts_twice(storage, request_context, services):
    strategy, limit = ReportingMovingWindow(storage), parse("2/minute")
    redis.Redis.from_url(services["REDIS_URL"]).script_flush()  # as after a restart

    assert strategy.hit(limit, "user:3", "free")
    assert strategy.get_window_stats(limit, "user:3", "free").remaining == 1
    assert strategy.hit(limit, "user:3", "free")
    assert not strategy.hit(limit, "user:3", "free")


def test_outside_a_request_the_window_is_read_from_redis(storage, services):
    strategy, limit = ReportingMovingWindow(storage), parse("2/minute")
    with flask.Flask(__name__).test_request_context():
        strategy.hit(limit, "user:4", "free")

    assert strategy.get_window_stats(limit, "user:4", "free").remaining == 1

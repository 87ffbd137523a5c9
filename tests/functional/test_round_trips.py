"""One Redis round trip a read: block check, rate limit and cache lookup together (``project.protection.roundtrip``).

Round trips are counted where redis-py writes to its sockets
(``Connection.send_packed_command``: one call a command or a pipeline), on the
run's real Valkey; what each part decided is checked by its usual signs: the
headers, the cache metrics, the 403 and 429 answers and the keys in Redis.
"""

import pytest
import redis
from prometheus_client import REGISTRY
from redis.connection import Connection

from project import create_app
from project.security import blocking
from tests.builders import make_product

PRODUCTS = "/api/v1/products"


@pytest.fixture
def sends(monkeypatch):
    """A list that gets one entry per command or pipeline any Redis client sends."""
    sent = []
    original = Connection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


def hits():
    return REGISTRY.get_sample_value("cache_requests_total", {"cache": "product", "result": "hit"}) or 0.0


def test_a_cached_anonymous_read_is_one_round_trip_with_every_check_made(client, ctx, sends):
    product = make_product(name="One trip")
    assert client.get(f"{PRODUCTS}/{product['id']}").status_code == 200  # fills the cache
    before = hits()
    sends.clear()

    answer = client.get(f"{PRODUCTS}/{product['id']}")

    assert answer.status_code == 200 and answer.get_json()["name"] == "One trip"
    assert len(sends) == 1
    assert hits() == before + 1
    assert answer.headers["ETag"] and answer.headers["X-RateLimit-Limit"]
    assert answer.headers["RateLimit"].startswith('"anonymous";r=')
    assert int(answer.headers["X-RateLimit-Remaining"]) == int(answer.headers["X-RateLimit-Limit"]) - 2


def test_a_blocked_client_is_refused_and_neither_counted_nor_looked_up(app, settings, ctx, sends):
    limited = create_app({**settings, "RATELIMIT_ANONYMOUS": "2/minute"}).test_client()
    product = make_product(name="Not for you")
    assert limited.get(f"{PRODUCTS}/{product['id']}").status_code == 200
    redis.Redis.from_url(settings["REDIS_URL"]).set(blocking.BLOCK_PREFIX + "127.0.0.1", 1, ex=60)
    before = hits()
    sends.clear()

    refused = [limited.get(f"{PRODUCTS}/{product['id']}") for _ in range(3)]

    assert [answer.status_code for answer in refused] == [403] * 3
    assert all("RateLimit" not in answer.headers for answer in refused)
    assert 0 < int(refused[0].headers["Retry-After"]) <= 60
    assert len(sends) == 3 and hits() == before
    redis.Redis.from_url(settings["REDIS_URL"]).delete(blocking.BLOCK_PREFIX + "127.0.0.1")
    assert limited.get(f"{PRODUCTS}/{product['id']}").status_code == 200  # the blocked reads used no quota
    assert limited.get(f"{PRODUCTS}/{product['id']}").status_code == 429


def test_a_refused_read_takes_no_fill_lock_and_counts_no_view(app, settings, ctx):
    limited = create_app({**settings, "RATELIMIT_ANONYMOUS": "1/minute"}).test_client()
    product = make_product(name="Over quota")
    assert limited.get(PRODUCTS).status_code == 200

    assert limited.get(f"{PRODUCTS}/{product['id']}").status_code == 429

    client = redis.Redis.from_url(settings["REDIS_URL"])
    assert client.keys("*:lock") == []
    assert client.zscore(app.extensions["caching"].store.views, str(product["id"])) is None


def test_a_signed_in_read_sends_its_limit_and_lookup_together(client, ctx, customer, sends):
    product = make_product(name="Signed in")
    assert client.get(f"{PRODUCTS}/{product['id']}", headers=customer["headers"]).status_code == 200
    sends.clear()

    answer = client.get(f"{PRODUCTS}/{product['id']}", headers=customer["headers"])

    assert answer.status_code == 200 and answer.headers["RateLimit"].startswith('"free";')
    assert len(sends) == 2  # the block check before the token is checked, then limit and lookup


def test_with_redis_down_a_read_fails_open_once_for_each_check(app, settings, ctx, capsys):
    from project.devservices import start_valkey

    server, url = start_valkey()
    outage = create_app({**settings, "REDIS_URL": url, "RATELIMIT_ANONYMOUS": "1/minute"})
    client = outage.test_client()
    product = make_product(name="Still served")
    assert client.get(f"{PRODUCTS}/{product['id']}").status_code == 200
    server.stop()
    samples = ("ratelimit_storage_errors_total", {}), ("security_checks_failed_open_total", {"check": "ip_block"}), \
        ("cache_requests_total", {"cache": "product", "result": "error"})
    before = [REGISTRY.get_sample_value(name, labels) or 0 for name, labels in samples]
    capsys.readouterr()

    answer = client.get(f"{PRODUCTS}/{product['id']}")  # over the 1/minute limit: let through, Redis is down

    assert answer.status_code == 200 and answer.get_json()["name"] == "Still served"
    assert "RateLimit" not in answer.headers
    after = [REGISTRY.get_sample_value(name, labels) or 0 for name, labels in samples]
    assert [late - early for early, late in zip(before, after, strict=True)] == [1, 1, 1]
    events = [line for line in capsys.readouterr().out.splitlines() if '"ratelimit_storage_unavailable"' in line]
    assert len(events) == 1


def test_with_redis_down_and_failing_closed_a_read_is_503(app, settings, ctx):
    from project.devservices import start_valkey

    server, url = start_valkey()
    server.stop()
    client = create_app({**settings, "REDIS_URL": url, "RATELIMIT_FAIL_OPEN": False}).test_client()

    answer = client.get(PRODUCTS)

    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0

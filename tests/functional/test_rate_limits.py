"""Rate limits: tiers, endpoint policies, IETF and X- headers, 429 problems, keys, and Redis outages.

Each test builds an app (or a real gunicorn) with small limits through
settings; ``clean_state`` empties Redis between tests, so every test starts
with fresh windows. Limits are per minute or per hour: no test waits for a window.
"""

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from prometheus_client import REGISTRY

from project import create_app
from project.devservices import start_valkey
from tests.builders import TEST_PASSWORD, make_user, sign_in
from tests.logs import captured_log_lines
from tests.problems import assert_problem

PRODUCTS = "/api/v1/products"
TOKEN = "/api/v1/auth/token"
REGISTER = "/api/v1/auth/register"
PARAM = r";([a-z*][a-z0-9_.*-]*)=(-?\d+)"
ITEM = re.compile(rf'\s*"((?:[^"\\]|\\.)*)"((?:{PARAM})*)\s*(,|$)')


def parse_list(value):
    """An RFC 8941 list of string items with integer parameters: ``{name: {param: int}}``, in order."""
    items, position = {}, 0
    while position < len(value):
        match = ITEM.match(value, position)
        assert match, f"not a structured-field list at {position}: {value!r}"
        assert match.group(1) not in items, f"policy named twice: {value!r}"
        items[match.group(1)] = {key: int(number) for key, number in re.findall(PARAM, match.group(2))}
        position = match.end()
        assert match.group(3) or position == len(value)
    return items


def policies(response):
    """``{name: {"q", "w", "r", "t"}}`` from ``RateLimit-Policy`` and ``RateLimit``, which must agree."""
    declared, state = parse_list(response.headers["RateLimit-Policy"]), parse_list(response.headers["RateLimit"])
    assert list(declared) == list(state)
    return {name: {**declared[name], **state[name]} for name in declared}


def rejections(route, tier):
    return REGISTRY.get_sample_value("ratelimit_rejections_total", {"route": route, "tier": tier}) or 0


@pytest.fixture
def limited(app, settings):
    """``limited(**settings)``: a fresh app (on the run's servers) with these rate-limit settings."""
    return lambda **overrides: create_app({**settings, **overrides})


def client_at(app, ip):
    """A test client whose requests come from ``ip``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def assert_quota_exceeded(response, policy):
    body = assert_problem(response, 429)
    assert body["type"] == "/problems/quota-exceeded"
    assert f'"{policy}"' in body["detail"]
    assert 1 <= int(response.headers["Retry-After"]) <= policies(response)[policy]["w"]
    assert policies(response)[policy]["r"] == 0
    return body


# --- under a real gunicorn: the window is shared by every worker --------------------------------------------------


def get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), json.load(answer)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.load(error)


def test_a_limit_of_n_allows_n_then_429_whichever_worker_answers(start_gunicorn):
    server = start_gunicorn(workers=2, RATELIMIT_ANONYMOUS="5/minute")

    answers = [get(f"{server.url}{PRODUCTS}") for _ in range(6)]

    assert [status for status, _, _ in answers] == [200] * 5 + [429]
    assert [parse_list(headers["RateLimit"])["anonymous"]["r"] for _, headers, _ in answers] == [4, 3, 2, 1, 0, 0]
    status, headers, body = answers[-1]
    assert headers["Content-Type"] == "application/problem+json"
    assert body["type"] == "/problems/quota-exceeded" and '"anonymous"' in body["detail"]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["X-RateLimit-Limit"] == "5" and headers["X-RateLimit-Remaining"] == "0"


def test_a_concurrent_burst_over_both_workers_gets_exactly_n(start_gunicorn):
    server = start_gunicorn(workers=2, RATELIMIT_ANONYMOUS="10/minute")

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for status, _, _ in pool.map(lambda _: get(f"{server.url}/problems"), range(30))]

    assert statuses.count(200) == 10
    assert statuses.count(429) == 20


# --- tiers and headers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "role", "quota"), [("free", "customer", 3), ("premium", "customer", 4),
                                                     ("premium", "admin", 5)])
def test_each_tier_has_its_own_quota_and_headers(limited, tier, role, quota):
    app = limited(RATELIMIT_FREE="3/minute", RATELIMIT_PREMIUM="4/minute", RATELIMIT_ADMIN="5/minute")
    client = app.test_client()
    with app.app_context():
        caller = sign_in(client, tier=tier, role=role)
    policy = "admin" if role == "admin" else tier

    answers = [client.get(PRODUCTS, headers=caller["headers"]) for _ in range(quota + 1)]

    assert [answer.status_code for answer in answers] == [200] * quota + [429]
    seen = [policies(answer)[policy] for answer in answers[:-1]]
    assert [entry["r"] for entry in seen] == list(range(quota - 1, -1, -1))
    assert all(entry["q"] == quota and entry["w"] == 60 and 0 <= entry["t"] <= 60 for entry in seen)
    assert [answer.headers["X-RateLimit-Remaining"] for answer in answers[:-1]] == [
        str(entry["r"]) for entry in seen]
    assert_quota_exceeded(answers[-1], policy)


def test_anonymous_callers_are_limited_per_ip(limited):
    app = limited(RATELIMIT_ANONYMOUS="2/minute")
    first, second = client_at(app, "10.0.0.1"), client_at(app, "10.0.0.2")

    assert [first.get(PRODUCTS).status_code for _ in range(3)] == [200, 200, 429]
    assert second.get(PRODUCTS).status_code == 200
    assert_quota_exceeded(first.get(PRODUCTS), "anonymous")


def test_signed_in_callers_are_limited_per_user_not_per_ip(limited):
    app = limited(RATELIMIT_FREE="2/minute")
    with app.app_context():
        caller = sign_in(app.test_client())

    assert client_at(app, "10.0.0.1").get(PRODUCTS, headers=caller["headers"]).status_code == 200
    assert client_at(app, "10.0.0.2").get(PRODUCTS, headers=caller["headers"]).status_code == 200
    assert_quota_exceeded(client_at(app, "10.0.0.3").get(PRODUCTS, headers=caller["headers"]), "free")
    assert client_at(app, "10.0.0.3").get(PRODUCTS).status_code == 200  # the IP's anonymous quota is its own


def test_order_placing_adds_its_policy_and_counts_the_rejection(limited):
    app = limited(RATELIMIT_FREE="100/minute", RATELIMIT_ORDERS="2/minute")
    client = app.test_client()
    with app.app_context():
        caller = sign_in(client)
    before = rejections("/api/v1/orders", "free")

    answers = [client.post("/api/v1/orders", json={"items": [{"product_id": 1, "quantity": 1}]},
                           headers=caller["headers"]) for _ in range(3)]

    assert [answer.status_code for answer in answers[:2]] == [422, 422]  # no such product: refused, still counted
    assert list(policies(answers[0])) == ["free", "orders"]
    assert {key: policies(answers[0])["orders"][key] for key in "qwr"} == {"q": 2, "w": 60, "r": 1}
    assert policies(answers[1])["free"]["r"] == 98
    assert_quota_exceeded(answers[2], "orders")
    assert rejections("/api/v1/orders", "free") == before + 1
    listing = client.get("/api/v1/orders", headers=caller["headers"])  # reading orders is only the tier's
    assert listing.status_code == 200 and list(policies(listing)) == ["free"]


def test_reports_have_their_own_policy(limited):
    app = limited(RATELIMIT_REPORTS="1/minute")
    client = app.test_client()
    with app.app_context():
        caller = sign_in(client, role="admin", tier="premium")

    assert client.post("/api/v1/reports", json={}, headers=caller["headers"]).status_code == 202
    assert_quota_exceeded(client.post("/api/v1/reports", json={}, headers=caller["headers"]), "reports")


# --- sign-in and registration: per IP and per account -------------------------------------------------------------


def signin(client, email):
    return client.post(TOKEN, json={"email": email, "password": TEST_PASSWORD})


def test_sign_in_is_limited_per_account_across_ips(limited):
    app = limited(RATELIMIT_SIGN_IN_ACCOUNT="2/minute", RATELIMIT_ANONYMOUS="100/minute")
    with app.app_context():
        ada, bob = make_user(email="ada@example.com"), make_user(email="bob@example.com")

    assert signin(client_at(app, "10.0.0.1"), ada["email"]).status_code == 200
    assert signin(client_at(app, "10.0.0.2"), "ADA@Example.com").status_code == 200  # the same account
    assert_quota_exceeded(signin(client_at(app, "10.0.0.3"), ada["email"]), "sign-in-account")
    assert signin(client_at(app, "10.0.0.3"), bob["email"]).status_code == 200


def test_sign_in_is_limited_per_ip_across_accounts(limited):
    app = limited(RATELIMIT_SIGN_IN_IP="2/minute", RATELIMIT_ANONYMOUS="100/minute")
    with app.app_context():
        emails = [make_user()["email"] for _ in range(3)]
    here = client_at(app, "10.0.0.1")

    assert [signin(here, email).status_code for email in emails[:2]] == [200, 200]
    answer = signin(here, emails[2])
    assert_quota_exceeded(answer, "sign-in-ip")
    assert set(policies(answer)) >= {"anonymous", "sign-in-ip"}
    assert signin(client_at(app, "10.0.0.2"), emails[2]).status_code == 200
    assert client_at(app, "10.0.0.1").delete(TOKEN).status_code == 401  # signing out is not signing in


def test_registration_is_limited_per_ip_and_per_account(limited):
    app = limited(RATELIMIT_REGISTER_IP="2/hour", RATELIMIT_REGISTER_ACCOUNT="1/hour")
    here, there = client_at(app, "10.0.0.1"), client_at(app, "10.0.0.2")

    def register(client, email):
        return client.post(REGISTER, json={"email": email, "password": TEST_PASSWORD})

    assert register(here, "new1@example.com").status_code == 201
    assert_quota_exceeded(register(there, "new1@example.com"), "register-account")  # not even a 409
    assert register(here, "new2@example.com").status_code == 201
    answer = register(here, "new3@example.com")
    assert_quota_exceeded(answer, "register-ip")
    assert policies(answer)["register-ip"]["w"] == 3600


def test_no_email_reaches_redis_keys_or_logs(limited, services, capsys):
    app = limited(RATELIMIT_SIGN_IN_ACCOUNT="1/minute")
    with app.app_context():
        user = make_user(email="secret.person@example.com")
    client = app.test_client()
    signin(client, user["email"])
    capsys.readouterr()

    assert signin(client, user["email"]).status_code == 429

    keys = [key.decode() for key in redis.Redis.from_url(services["REDIS_URL"]).keys("*")]
    assert any("sign-in-account" in key for key in keys), keys
    assert not [key for key in keys if "secret.person" in key]
    assert "secret.person" not in capsys.readouterr().out


# --- keys: X-Forwarded-For ----------------------------------------------------------------------------------------


def test_a_forged_x_forwarded_for_does_not_buy_a_new_quota(limited):
    client = limited(RATELIMIT_ANONYMOUS="2/minute").test_client()

    statuses = [client.get(PRODUCTS, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(3)]

    assert statuses == [200, 200, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_key(limited):
    client = limited(RATELIMIT_ANONYMOUS="2/minute", TRUSTED_PROXY_HOPS=1).test_client()

    def from_(chain):
        return client.get(PRODUCTS, headers={"X-Forwarded-For": chain}).status_code

    assert [from_(f"203.0.113.{n}") for n in range(3)] == [200, 200, 200]
    # The client's own (forged) entries come before the proxy's: only the last hop is trusted.
    assert [from_(f"198.51.100.{n}, 203.0.113.9") for n in range(3)] == [200, 200, 429]


# --- never limited, and errors that stay what they are ------------------------------------------------------------


def test_health_metrics_and_docs_are_never_limited(limited):
    client = limited(RATELIMIT_ANONYMOUS="1/minute").test_client()

    for path in ("/health", "/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs") * 3:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "RateLimit" not in answer.headers and "X-RateLimit-Limit" not in answer.headers, path
    assert client.get(PRODUCTS).status_code == 200
    assert client.get(PRODUCTS).status_code == 429
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("path", [PRODUCTS, "/problems"])
def test_a_bad_token_is_still_a_401(limited, path):
    client = limited().test_client()
    answer = client.get(path, headers={"Authorization": "Bearer not-a-real-token"})
    assert_problem(answer, 401)


def test_retry_after_is_only_on_rejections(limited):
    client = limited().test_client()
    answer = client.get(PRODUCTS)
    assert answer.status_code == 200
    assert "Retry-After" not in answer.headers and "X-Store-RateLimit-Retry-After" not in answer.headers
    assert policies(answer)["anonymous"]["r"] == 59


# --- Redis down ---------------------------------------------------------------------------------------------------


@pytest.fixture
def doomed_valkey():
    """A Valkey server of this test's own, to stop; stopped at the end in any case."""
    server, url = start_valkey()
    yield server, url
    server.terminate()  # a no-op when the test stopped it


def storage_errors():
    return REGISTRY.get_sample_value("ratelimit_storage_errors_total") or 0


def warnings_named(capsys, event):
    return [line for line in captured_log_lines(capsys) if line.get("event") == event]


def test_with_redis_down_requests_fail_open_with_one_warning(limited, doomed_valkey, capsys):
    server, url = doomed_valkey
    client = limited(REDIS_URL=url, RATELIMIT_ANONYMOUS="1/minute").test_client()
    assert client.get("/problems").status_code == 200
    server.stop()
    before = storage_errors()
    capsys.readouterr()

    answers = [client.get("/problems") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]  # over the limit, but let through
    assert all("RateLimit" not in answer.headers for answer in answers)
    assert storage_errors() == before + 3
    [warning] = warnings_named(capsys, "ratelimit_storage_unavailable")
    assert warning["level"] == "WARNING" and warning["fail_open"] is True
    assert warning["error_type"] == "ConnectionError"


def test_fail_closed_answers_503_with_retry_after(limited, doomed_valkey):
    server, url = doomed_valkey
    client = limited(REDIS_URL=url, RATELIMIT_FAIL_OPEN=False).test_client()
    server.stop()

    answer = client.get("/problems")

    body = assert_problem(answer, 503)
    assert body["type"] == "/problems/service-unavailable"
    assert int(answer.headers["Retry-After"]) > 0
    assert client.get("/health").status_code == 200  # never limited, so never refused either

"""Security events: OWASP-named JSON log lines and ``security_events_total``; patterns detected in Redis.

Each test captures what the app logs (JSON lines on stdout) and reads the events
back; pattern thresholds are lowered through settings.
"""

import logging

import pytest

from project import create_app, db
from project.security import passwords
from tests.builders import TEST_PASSWORD, make_user
from tests.builders import sign_in as signed_in
from tests.problems import assert_problem, without_ids
from tests.security import WRONG_PASSWORD, counter, events, fail, log_lines, sign_in

QUIET = {"SECURITY_BLOCK_THRESHOLD": 100, "SECURITY_LOCK_THRESHOLD": 100}  # blocks and locks out of the way


def make_client(settings, **overrides):
    return create_app({**settings, **QUIET, **overrides}).test_client()


# --- authentication events -------------------------------------------------------------------------


def test_sign_ins_are_logged_with_user_ip_agent_and_request_id(client, ctx, capsys):
    user = make_user()

    ok = sign_in(client, user["email"], TEST_PASSWORD, headers={"User-Agent": "probe/1.0"})
    wrong = sign_in(client, user["email"], WRONG_PASSWORD, ip="10.3.3.3")
    unknown = sign_in(client, "ghost@example.com", WRONG_PASSWORD)

    out = capsys.readouterr().out
    [success] = events(out, "authn_login_success")
    assert success["user_id"] == user["id"]
    assert (success["client_ip"], success["user_agent"]) == ("127.0.0.1", "probe/1.0")
    assert success["request_id"] == ok.headers["X-Request-ID"]
    assert success["level"] == "INFO"
    known, ghost = events(out, "authn_login_fail")
    assert known["user_id"] == user["id"] and known["client_ip"] == "10.3.3.3"
    assert known["request_id"] == wrong.headers["X-Request-ID"]
    assert "user_id" not in ghost and len(ghost["email_hmac"]) == 32
    assert ghost["request_id"] == unknown.headers["X-Request-ID"]
    assert known["email_hmac"] != ghost["email_hmac"]
    assert known["level"] == ghost["level"] == "WARNING"


def test_the_email_hmac_is_keyed_with_the_secret_key(settings, ctx, capsys):
    for secret in ("one-secret-key", "another-secret-key"):
        client = make_client(settings, SECRET_KEY=secret)
        assert fail(client, "Ghost@Example.COM").status_code == 401
        assert fail(client, "ghost@example.com").status_code == 401
    first, same, second, _ = (line["email_hmac"] for line in events(capsys.readouterr().out, "authn_login_fail"))
    assert first == same  # normalised: the case does not matter
    assert first != second


def test_nothing_secret_reaches_a_log(client, ctx, capsys):
    user = make_user()
    password, unknown_email = TEST_PASSWORD, "never-registered@example.com"

    token = sign_in(client, user["email"], password).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    client.get("/api/v1/orders", headers=bearer)
    sign_in(client, user["email"], password + "x")
    sign_in(client, unknown_email, password)
    client.delete("/api/v1/auth/token", headers=bearer)
    client.get("/api/v1/orders", headers=bearer)  # revoked
    client.get("/api/v1/orders", headers={"Authorization": "Bearer made-up-token-value-123"})

    out = capsys.readouterr().out
    assert len(log_lines(out)) >= 7
    for secret in (password, token, unknown_email, "made-up-token-value-123"):
        assert secret not in out, secret
    assert events(out, "authn_login_success") and events(out, "authn_token_invalid")


def test_token_events_say_why_without_the_token(client, ctx, customer, capsys):
    client.get("/api/v1/orders", headers={"Authorization": "Bearer no-such-token"})
    db.fetch_one("UPDATE api_tokens SET expires_at = now() - interval '1 second' RETURNING id")
    client.get("/api/v1/orders", headers=customer["headers"])
    db.fetch_one("UPDATE api_tokens SET revoked_at = now() RETURNING id")
    client.get("/api/v1/orders", headers=customer["headers"])

    out = capsys.readouterr().out
    unknown, revoked = events(out, "authn_token_invalid")
    assert unknown["reason"] == "unknown" and "user_id" not in unknown
    assert revoked["reason"] == "revoked" and revoked["user_id"] == customer["user"]["id"]
    [expired] = events(out, "authn_token_expired")
    assert expired["user_id"] == customer["user"]["id"]


def test_unknown_email_and_wrong_password_get_the_same_answer_and_the_same_work(client, ctx, monkeypatch):
    class CountingHasher:
        """The real hasher, recording which hash each verification ran against."""

        def __init__(self, real):
            self.real, self.verified = real, []

        def verify(self, password_hash, password):
            self.verified.append(password_hash)
            return self.real.verify(password_hash, password)

        def __getattr__(self, name):
            return getattr(self.real, name)

    hasher = CountingHasher(passwords._hasher)  # noqa: SLF001 - wrapping, not replacing, the real one
    monkeypatch.setattr(passwords, "_hasher", hasher)
    user = make_user()

    wrong = sign_in(client, user["email"], WRONG_PASSWORD)
    unknown = sign_in(client, "nobody@example.com", WRONG_PASSWORD)

    assert without_ids(assert_problem(wrong, 401)) == without_ids(assert_problem(unknown, 401))
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    real_hash, dummy_hash = hasher.verified
    assert dummy_hash != real_hash
    params = real_hash.rsplit("$", 2)[0]  # $argon2id$v=19$m=...,t=...,p=...: the cost of one verification
    assert dummy_hash.startswith(params + "$")


# --- authorization events ------------------------------------------------------------------------


def test_every_denial_is_logged_with_user_resource_and_rule(client, admin, customer, capsys):
    other = signed_in(client, email="other@example.com")
    product = client.post("/api/v1/products", json={"name": "Pan", "category": "kitchen", "price": "5.00",
                                                    "stock": 3}, headers=admin["headers"]).get_json()
    order = client.post("/api/v1/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]},
                        headers=other["headers"]).get_json()
    job_id = client.post("/api/v1/reports", json={}, headers=admin["headers"]).get_json()["job_id"]
    capsys.readouterr()
    before = counter("security_events_total", event="authz_fail")

    assert_problem(client.post("/api/v1/products", json={}, headers=customer["headers"]), 403)
    assert_problem(client.get(f"/api/v1/orders/{order['id']}", headers=customer["headers"]), 404)
    assert_problem(client.get(f"/api/v1/jobs/{job_id}", headers=customer["headers"]), 404)
    assert_problem(client.get("/api/v1/orders/999999", headers=customer["headers"]), 404)  # not a denial

    denials = events(capsys.readouterr().out, "authz_fail")
    assert [(d["resource"], d["rule"]) for d in denials] == [
        ("/api/v1/products", "admin_role"), (f"order/{order['id']}", "owner_or_admin"),
        (f"job/{job_id}", "owner_or_admin")]
    assert {d["user_id"] for d in denials} == {customer["user"]["id"]}
    assert all(d["level"] == "WARNING" and d["client_ip"] == "127.0.0.1" for d in denials)
    assert counter("security_events_total", event="authz_fail") == before + 3


def test_grants_are_logged_at_debug(client, admin, capsys):
    logger = logging.getLogger("project.security")
    before = counter("security_events_total", event="authz_grant")
    logger.setLevel(logging.DEBUG)
    try:
        client.post("/api/v1/products", json={"name": "Pan", "category": "kitchen", "price": "5.00", "stock": 3},
                    headers=admin["headers"])
    finally:
        logger.setLevel(logging.NOTSET)

    [grant] = events(capsys.readouterr().out, "authz_grant")
    assert (grant["level"], grant["rule"], grant["user_id"]) == ("DEBUG", "admin_role", admin["user"]["id"])
    assert counter("security_events_total", event="authz_grant") == before + 1


# --- patterns --------------------------------------------------------------------------------------


def test_brute_force_on_one_account_from_many_ips_is_detected_once(settings, ctx, capsys):
    client = make_client(settings, SECURITY_BRUTE_FORCE_THRESHOLD=4)
    user = make_user()
    before = counter("security_events_total", event="authn_login_fail_max")

    for n in range(7):
        fail(client, user["email"], ip=f"10.20.0.{n}")
    for n in range(3):
        fail(client, "other-account@example.com", ip=f"10.21.0.{n}")  # below the threshold

    [detected] = events(capsys.readouterr().out, "authn_login_fail_max")
    assert detected["user_id"] == user["id"] and detected["failures"] == 4
    assert detected["client_ip"] == "10.20.0.3"
    assert counter("security_events_total", event="authn_login_fail_max") == before + 1


def test_spraying_one_password_across_accounts_from_one_ip_is_detected_once(settings, ctx, capsys):
    client = make_client(settings, SECURITY_STUFFING_THRESHOLD=4)
    real = [make_user()["email"] for _ in range(3)]
    before = counter("security_events_total", event="authn_credential_stuffing")

    fail(client, real[0], times=5, ip="10.30.0.1")  # many tries, one account: not spraying
    assert events(capsys.readouterr().out, "authn_credential_stuffing") == []
    for email in [*real, "nobody1@example.com", "nobody2@example.com", "nobody3@example.com"]:
        sign_in(client, email, "Summer2024!", ip="10.30.0.2")

    [detected] = events(capsys.readouterr().out, "authn_credential_stuffing")
    assert detected["client_ip"] == "10.30.0.2" and detected["accounts"] == 4
    assert detected["level"] == "WARNING"
    assert counter("security_events_total", event="authn_credential_stuffing") == before + 1


def test_a_burst_of_404s_from_one_ip_is_detected_once_per_window(settings, ctx, capsys):
    client = make_client(settings, SECURITY_SCAN_THRESHOLD=5)
    before = counter("security_events_total", event="malicious_excess_404")

    for n in range(9):
        client.get(f"/api/v1/products/{900000 + n}", environ_base={"REMOTE_ADDR": "10.40.0.1"})
    for n in range(4):
        client.get(f"/wp-admin/{n}.php", environ_base={"REMOTE_ADDR": "10.40.0.2"})  # below the threshold
    for _ in range(6):
        client.get("/api/v1/products", environ_base={"REMOTE_ADDR": "10.40.0.3"})  # 200s are not probing
        client.get("/health/nope", environ_base={"REMOTE_ADDR": "10.40.0.3"})  # health is never counted

    [detected] = events(capsys.readouterr().out, "malicious_excess_404")
    assert detected["client_ip"] == "10.40.0.1" and detected["answers"] == 5
    assert detected["last_status"] == 404
    assert counter("security_events_total", event="malicious_excess_404") == before + 1


@pytest.mark.parametrize("status_path", ["/api/v1/orders", "/api/v1/products/1"])
def test_401s_and_404s_both_count_as_probing(settings, ctx, capsys, status_path):
    client = make_client(settings, SECURITY_SCAN_THRESHOLD=3)
    for _ in range(3):
        client.get(status_path, environ_base={"REMOTE_ADDR": "10.41.0.1"})

    assert len(events(capsys.readouterr().out, "malicious_excess_404")) == 1

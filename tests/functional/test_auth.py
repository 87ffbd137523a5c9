"""Accounts and bearer tokens: ``/api/v1/auth/register`` and ``/api/v1/auth/token``.

Registration validates and stores an Argon2id hash, never the password; a
token is shown once and stored only as its SHA-256, expires and can be
revoked. Every failure is an ``application/problem+json`` answer.
"""

import hashlib

import pytest

from project import db
from tests.builders import make_user
from tests.problems import assert_problem, error_fields, messages_for, without_ids

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
PROTECTED = "/api/v1/orders"
GOOD_PASSWORD = "a long enough password"




def user_count():
    return db.fetch_one("SELECT count(*) AS n FROM users")["n"]


def register(client, email="ada@example.com", password=GOOD_PASSWORD, **extra):
    return client.post(REGISTER, json={"email": email, "password": password, **extra})


def get_token(client, email, password):
    return client.post(TOKEN, json={"email": email, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --- register --------------------------------------------------------------


def test_register_creates_a_free_customer(client, ctx):
    response = register(client)

    assert response.status_code == 201
    body = response.get_json()
    assert body["email"] == "ada@example.com"
    assert body["role"] == "customer"
    assert body["tier"] == "free"
    assert isinstance(body["id"], int)
    assert "password" not in body and "password_hash" not in body
    assert GOOD_PASSWORD not in response.get_data(as_text=True)
    assert user_count() == 1


def test_register_stores_an_argon2id_hash_not_the_password(client, ctx):
    user_id = register(client).get_json()["id"]

    stored = db.fetch_one("SELECT password_hash FROM users WHERE id = %s", (user_id,))["password_hash"]
    assert stored.startswith("$argon2id$")
    assert GOOD_PASSWORD not in stored


def test_registered_account_can_sign_in(client, ctx):
    register(client)

    assert get_token(client, "ada@example.com", GOOD_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ada@example.com", "password": "short"}, "password"),
        ({"email": "ada@example.com", "password": "123456789"}, "password"),
        ({"email": "ada@example.com", "password": " " * 12}, "password"),
        ({"email": "ada@example.com", "password": "x" * 129}, "password"),
        ({"email": "not-an-email", "password": GOOD_PASSWORD}, "email"),
        ({"email": "", "password": GOOD_PASSWORD}, "email"),
        ({"password": GOOD_PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"email": "ada@example.com", "password": GOOD_PASSWORD, "role": "admin"}, "role"),
        ({"email": "ada@example.com", "password": GOOD_PASSWORD, "tier": "premium"}, "tier"),
        ({"email": "ada@example.com", "password": 1234567890123}, "password"),
    ],
    ids=["too-short", "nine-chars", "whitespace-only", "too-long", "bad-email", "empty-email",
         "no-email", "no-password", "unknown-role", "unknown-tier", "password-not-string"],
)
def test_register_rejects_invalid_fields(client, ctx, body, field):
    body = assert_problem(client.post(REGISTER, json=body), 422)

    assert field in error_fields(body)
    assert body["type"] == "/problems/validation-error"
    assert user_count() == 0


def test_register_reports_every_missing_field(client, ctx):
    body = assert_problem(client.post(REGISTER, json={}), 422)

    assert error_fields(body) == {"email", "password"}


def test_whitespace_only_password_has_its_own_message(client, ctx):
    body = assert_problem(register(client, password=" " * 12), 422)

    assert "whitespace" in " ".join(messages_for(body, "/password"))


def test_register_accepts_exactly_the_minimum_length(client, ctx):
    assert register(client, password="0123456789").status_code == 201


@pytest.mark.parametrize("email", ["ada@example.com", "ADA@Example.COM"])
def test_register_duplicate_email_is_a_conflict(client, ctx, email):
    make_user(email="ada@example.com")

    body = assert_problem(register(client, email=email), 409)

    assert body["type"] == "/problems/conflict"
    assert user_count() == 1


def test_register_malformed_json_is_400(client, ctx):
    response = client.post(REGISTER, data='{"email": "ada@example.com",', content_type="application/json")

    assert_problem(response, 400)
    assert user_count() == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("email=ada%40example.com&password=a+long+enough+password", "application/x-www-form-urlencoded"),
        ('{"email": "ada@example.com", "password": "a long enough password"}', "text/plain"),
    ],
)
def test_register_non_json_body_is_415(client, ctx, data, content_type):
    assert_problem(client.post(REGISTER, data=data, content_type=content_type), 415)
    assert user_count() == 0


def test_register_body_over_the_size_limit_is_413(client, ctx):
    response = register(client, password="p" * (64 * 1024))

    assert_problem(response, 413)
    assert user_count() == 0


def test_register_is_post_only(client):
    assert_problem(client.get(REGISTER), 405)


# --- token: sign in ---------------------------------------------------------


def test_sign_in_returns_a_bearer_token(client, ctx, password):
    user = make_user()

    response = get_token(client, user["email"], password)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 40


def test_sign_in_email_is_case_insensitive(client, ctx, password):
    make_user(email="ada@example.com")

    assert get_token(client, "Ada@Example.com", password).status_code == 200


def test_wrong_password_and_unknown_email_look_the_same(client, ctx, password):
    user = make_user()

    wrong = get_token(client, user["email"], password + "!")
    unknown = get_token(client, "nobody@example.com", password)

    assert without_ids(assert_problem(wrong, 401)) == without_ids(assert_problem(unknown, 401))
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    assert db.fetch_one("SELECT count(*) AS n FROM api_tokens")["n"] == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "ada@example.com"}, {"email": "ada@example.com", "password": ""}, {"email": "x", "password": "y"}],
)
def test_sign_in_with_invalid_fields_is_422(client, ctx, body):
    assert_problem(client.post(TOKEN, json=body), 422)


def test_token_is_stored_only_as_its_sha256(client, ctx, customer):
    token = customer["token"]

    rows = db.fetch_all("SELECT token_hash FROM api_tokens")
    assert [bytes(row["token_hash"]) for row in rows] == [hashlib.sha256(token.encode()).digest()]
    leaked = db.fetch_one("SELECT count(*) AS n FROM api_tokens t WHERE position(%s IN t::text) > 0", (token,))
    assert leaked["n"] == 0


def test_each_sign_in_issues_a_different_token(client, ctx, password):
    user = make_user()

    first = get_token(client, user["email"], password).get_json()["access_token"]
    second = get_token(client, user["email"], password).get_json()["access_token"]

    assert first != second


# --- token: use, revoke, expire ---------------------------------------------


def test_token_opens_a_protected_endpoint(client, customer):
    response = client.get(PROTECTED, headers=customer["headers"])

    assert response.status_code == 200
    assert response.get_json()["total"] == 0


def test_protected_endpoint_without_token_is_401(client):
    response = client.get(PROTECTED)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(client, customer):
    assert client.delete(TOKEN, headers=customer["headers"]).status_code == 204

    response = client.get(PROTECTED, headers=customer["headers"])

    body = assert_problem(response, 401)
    assert "revoked" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoking_one_token_keeps_the_others(client, ctx, customer, password):
    other = get_token(client, customer["user"]["email"], password).get_json()["access_token"]

    client.delete(TOKEN, headers=customer["headers"])

    assert client.get(PROTECTED, headers=bearer(other)).status_code == 200


def test_revoking_twice_is_401(client, customer):
    client.delete(TOKEN, headers=customer["headers"])

    assert_problem(client.delete(TOKEN, headers=customer["headers"]), 401)


def test_revoking_needs_a_token(client):
    assert_problem(client.delete(TOKEN), 401)


def test_expired_token_is_refused(client, ctx, customer):
    db.fetch_one("UPDATE api_tokens SET expires_at = now() - interval '1 second' RETURNING id")

    response = client.get(PROTECTED, headers=customer["headers"])

    body = assert_problem(response, 401)
    assert "expired" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_expires_after_its_ttl(client, ctx, customer):
    row = db.fetch_one("SELECT expires_at - created_at AS ttl FROM api_tokens")

    assert row["ttl"].total_seconds() == pytest.approx(3600, abs=5)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-real-token",
        "Bearer ",
        "Bearer",
        "Basic Y3VzdG9tZXJAZXhhbXBsZS5jb206Y29ycmVjdCBob3JzZSBiYXR0ZXJ5",
        "Token abc",
        "Bearer " + "x" * 300,
    ],
    ids=["garbage", "empty", "scheme-only", "basic", "other-scheme", "too-long"],
)
def test_bad_authorization_header_is_401(client, customer, authorization):
    response = client.get(PROTECTED, headers={"Authorization": authorization})

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_scheme_is_case_insensitive(client, customer):
    response = client.get(PROTECTED, headers={"Authorization": f"bearer {customer['token']}"})

    assert response.status_code == 200


def test_a_bad_token_is_refused_even_on_a_public_endpoint(client, ctx):
    anonymous = client.get("/api/v1/products")
    bad = client.get("/api/v1/products", headers={"Authorization": "Bearer not-a-real-token"})
    assert anonymous.status_code == 200
    assert bad.status_code == 401 and "Bearer" in bad.headers["WWW-Authenticate"]


def test_health_ignores_the_authorization_header(client):
    assert client.get("/health", headers={"Authorization": "Bearer whatever"}).status_code == 200

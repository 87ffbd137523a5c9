"""CLI commands through the runner: db upgrade, seed, users create."""

import pytest

from project import create_app
from project.db import fetch_all, fetch_one, migrations
from project.security.passwords import verify_password


def count(table):
    return fetch_one(f"SELECT count(*) AS n FROM {table}")["n"]  # noqa: S608 - test constant


def schema_snapshot():
    return fetch_all(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY table_name, column_name")


def test_upgrade_twice_changes_nothing(runner, ctx):
    before = schema_snapshot()
    first = runner.invoke(args=["db", "upgrade"])
    second = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "up to date" in second.output
    assert schema_snapshot() == before
    assert migrations.pending() == []
    versions = [row["version"] for row in fetch_all("SELECT version FROM schema_migrations")]
    assert versions == [version for version, _ in migrations.available()]


def test_seed_is_idempotent(runner, ctx, app):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    products, users = count("products"), count("users")
    assert products >= 10 and users == 3
    categories = fetch_one("SELECT count(DISTINCT category) AS n FROM products")["n"]
    assert categories >= 3
    second = runner.invoke(args=["seed"])
    assert "seeded: 0 products, 0 users" in second.output
    assert (count("products"), count("users")) == (products, users)
    admin = fetch_one("SELECT role, tier, password_hash FROM users WHERE email = %s",
                      (app.config["SEED_ADMIN_EMAIL"],))
    assert admin["role"] == "admin"
    assert verify_password(admin["password_hash"], app.config["SEED_ADMIN_PASSWORD"])
    tiers = {row["tier"] for row in fetch_all("SELECT tier FROM users WHERE role = 'customer'")}
    assert tiers == {"free", "premium"}


def test_seed_uses_the_configured_admin(settings):
    app = create_app({**settings, "SEED_ADMIN_EMAIL": "boss@example.com", "SEED_ADMIN_PASSWORD": "a-long-password"})
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0
    with app.app_context():
        row = fetch_one("SELECT role, password_hash FROM users WHERE email = 'boss@example.com'")
    assert row["role"] == "admin" and verify_password(row["password_hash"], "a-long-password")


def test_seed_is_refused_in_production(settings):
    app = create_app({**settings, "APP_ENV": "production", "SECRET_KEY": "p" * 40})
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code != 0
    assert "refused in production" in result.output
    with app.app_context():
        assert count("users") == 0


def test_users_create_reads_the_password_from_the_environment(runner, ctx):
    result = runner.invoke(args=["users", "create", "--email", "ops@example.com", "--role", "admin",
                                 "--tier", "premium"], env={"NEW_USER_PASSWORD": "a-strong-password"})
    assert result.exit_code == 0, result.output
    row = fetch_one("SELECT role, tier, password_hash FROM users WHERE email = 'ops@example.com'")
    assert (row["role"], row["tier"]) == ("admin", "premium")
    assert verify_password(row["password_hash"], "a-strong-password")
    assert "a-strong-password" not in result.output


def test_users_create_prompts_for_the_password(runner, ctx):
    result = runner.invoke(args=["users", "create", "--email", "c@example.com"],
                           input="prompted-password\nprompted-password\n", env={"NEW_USER_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    row = fetch_one("SELECT role, tier, password_hash FROM users WHERE email = 'c@example.com'")
    assert (row["role"], row["tier"]) == ("customer", "free")
    assert verify_password(row["password_hash"], "prompted-password")


def test_users_create_has_no_password_argument(runner, ctx):
    result = runner.invoke(args=["users", "create", "--email", "x@example.com", "--password", "secret-password"])
    assert result.exit_code != 0
    assert count("users") == 0


@pytest.mark.parametrize(("email", "password", "message"), [
    ("x@example.com", "short", "at least 10"),
    ("not-an-email", "long-enough-password", "email"),
])
def test_users_create_validates_like_registration(runner, ctx, email, password, message):
    result = runner.invoke(args=["users", "create", "--email", email], env={"NEW_USER_PASSWORD": password})
    assert result.exit_code != 0 and message in result.output
    assert count("users") == 0


def test_users_create_refuses_a_duplicate_email(runner, ctx):
    env = {"NEW_USER_PASSWORD": "a-strong-password"}
    assert runner.invoke(args=["users", "create", "--email", "d@example.com"], env=env).exit_code == 0
    again = runner.invoke(args=["users", "create", "--email", "D@example.com"], env=env)
    assert again.exit_code != 0 and "exists" in again.output
    assert count("users") == 1

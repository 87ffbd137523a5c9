"""Flask CLI commands: database, demo data, accounts and background jobs.

``db upgrade``, ``db top``, ``db purge-idempotency-keys``, ``seed``, ``users create``, ``rq worker``.
"""

import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

db_cli = AppGroup("db", help="Database schema.")
users_cli = AppGroup("users", help="Accounts.")
rq_cli = AppGroup("rq", help="Background jobs (RQ).")
PASSWORD_VARIABLE = "NEW_USER_PASSWORD"  # noqa: S105 - the variable's name, not a password


@db_cli.command("upgrade")
def db_upgrade():
    """Apply pending SQL migrations (idempotent; run by the Procfile's release)."""
    from project.db import migrations

    applied = migrations.upgrade()
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@db_cli.command("purge-idempotency-keys")
def db_purge_idempotency_keys():
    """Delete Idempotency-Key records older than IDEMPOTENCY_TTL_SECONDS (they are ignored already)."""
    from project.store.orders import idempotency

    purged = idempotency.purge_expired(ttl_seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"])
    click.echo(f"purged {purged} expired idempotency keys")


@db_cli.command("top")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many statements.")
def db_top(limit):
    """The heaviest queries by total time, from pg_stat_statements (exit 1 when it is not enabled)."""
    from project.db import stat_statements

    try:
        created, rows = stat_statements.top(limit=limit)
    except stat_statements.Unavailable as exc:
        raise click.ClickException(str(exc)) from None
    if created:
        click.echo("created the pg_stat_statements extension in this database")
    click.echo(f"{'calls':>10} {'total ms':>12} {'mean ms':>10} {'rows':>10}  query")
    for row in rows:
        query = " ".join(row["query"].split())
        query = query if len(query) <= 80 else query[:77] + "..."
        click.echo(f"{row['calls']:>10} {row['total_ms']:>12.1f} {row['mean_ms']:>10.2f} {row['rows']:>10}  {query}")


@click.command("seed")
@with_appcontext
def seed():
    """Load demo products and accounts (idempotent; refused in production)."""
    from project.store.seed import seed as load

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("flask seed loads demo accounts and is refused in production")
    created = load()
    if created["products"]:
        from project.caching import clear_all

        clear_all()  # products were added outside the API: no cached list may hide them
    click.echo(f"seeded: {created['products']} products, {created['users']} users")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["customer", "admin"]), default="customer", show_default=True)
@click.option("--tier", type=click.Choice(["free", "premium"]), default="free", show_default=True)
def users_create(email, role, tier):
    """Create an account. The password comes from $NEW_USER_PASSWORD or a prompt, never an argument."""
    from marshmallow import ValidationError

    from project.security.passwords import hash_password
    from project.store.users import repository
    from project.store.users.schemas import RegisterSchema

    password = os.environ.get(PASSWORD_VARIABLE) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        RegisterSchema().load({"email": email, "password": password})
    except ValidationError as exc:
        raise click.ClickException("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.messages.items())) from None
    try:
        user = repository.create_user(email=email, password_hash=hash_password(password), role=role, tier=tier)
    except repository.DuplicateEmail:
        raise click.ClickException(f"an account with email {email} exists") from None
    click.echo(f"created user {user['id']} ({user['email']}, {role}, {tier})")


@rq_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also move due scheduled jobs (delayed retries) to their queues; one worker does it at a time.")
@click.argument("queues", nargs=-1)
def rq_worker(burst, with_scheduler, queues):
    """Run an RQ worker inside this app (jobs get its database pool and settings); SIGTERM: warm shutdown."""
    from project.tasks import worker

    worker.run(list(queues) or current_app.config["RQ_QUEUE_NAMES"], burst=burst, with_scheduler=with_scheduler)


def init_app(app):
    """Register the commands on the app's CLI."""
    for command in (db_cli, users_cli, rq_cli, seed):
        app.cli.add_command(command)

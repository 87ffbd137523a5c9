"""The store API: application factory."""

from pathlib import Path

from project.app_class import StoreFlask

INSTANCE_PATH = Path(__file__).resolve().parent.parent / "instance"


def create_app(test_config=None):
    """Build the application: settings, then each concern wiring itself in.

    ``test_config`` is a mapping used instead of ``instance/config.py`` and the
    environment (tests pass the URLs of their embedded servers this way).
    """
    app = StoreFlask(__name__, instance_path=str(INSTANCE_PATH), instance_relative_config=True)
    register_settings(app, test_config)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_settings(app, test_config):
    """Load and validate settings; fail fast with the variable's name."""
    from project.config import load_config

    load_config(app, test_config)


def register_logging(app):
    """JSON logs for this process (once), with request context on every line."""
    from project.observability import logging

    logging.init_app(app)


def register_extensions(app):
    """Bind the shared resources and extensions to this app."""
    from project import caching, content_type, db, openapi, redis_client, tasks
    from project.extensions import api
    from project.observability import correlation, metrics
    from project.protection import breakers, ratelimits, roundtrip
    from project.security import auth, blocking, monitoring

    correlation.init_app(app)
    blocking.init_app(app)  # right after correlation: a blocked client costs one Redis read, nothing more
    monitoring.init_app(app)
    metrics.init_app(app)
    content_type.init_app(app)
    db.init_app(app)
    redis_client.init_app(app)
    tasks.init_app(app)
    breakers.init_app(app)
    api.init_app(app)
    openapi.init_app(app)  # right after the Api: keeps this app's spec, serves the finished one and /docs assets
    auth.init_app(app)
    ratelimits.init_app(app)  # after auth: the caller's tier and ID key the limits
    roundtrip.init_app(app)  # block check, first limit and cache lookup in one round trip
    caching.init_app(app)  # after breakers: reads go around the cache while its circuit is open


def register_blueprints(app):
    """Register every feature's blueprint on the Api (so each is documented)."""
    from project import store
    from project.extensions import api
    from project.observability import health, problems
    from project.store.orders.routes import blp as orders
    from project.store.products.routes import blp as products
    from project.store.reports.routes import blp as reports
    from project.store.users.routes import blp as users
    from project.tasks.routes import blp as jobs

    store.init_app(app)
    for blueprint in (users, products, orders, reports, jobs):
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix}")
    health.init_app(app)
    problems.init_app(app)


def register_errorhandlers(app):
    """One error handler for the whole app (registered after the Api, to replace its own)."""
    from project.observability import errors

    errors.init_app(app)


def register_commands(app):
    """Flask CLI commands: db upgrade, seed, users create, rq worker."""
    from project import cli

    cli.init_app(app)

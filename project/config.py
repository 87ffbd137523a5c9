"""Settings: defaults, then ``instance/config.py``, then the environment.

Every setting is validated once, at start-up, and a bad one stops the process
with a message that names the variable. Nothing else in the project reads
``os.environ`` for application settings.
"""

import os

from project.version import VERSION

ENVIRONMENTS = ("development", "test", "production")
PLACEHOLDER_SECRET = "dev-only-insecure-secret-key"  # noqa: S105 - refused in production

DEFAULTS = {
    "APP_ENV": "development",
    "SECRET_KEY": PLACEHOLDER_SECRET,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "PORT": 8000,
    "SERVICE_NAME": "store-api",
    "VERSION": VERSION,
    # Logs: JSON lines on stdout; "console" (readable) is allowed in development only.
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    # Database pool, per process (a gunicorn sync worker serves one request at a time).
    "DB_POOL_MIN_SIZE": 1,
    "DB_POOL_MAX_SIZE": 4,
    "DB_POOL_TIMEOUT": 5.0,
    "DB_STATEMENT_TIMEOUT_MS": 5000,
    # Requests and authentication.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "TOKEN_TTL_SECONDS": 3600,
    "PASSWORD_MIN_LENGTH": 10,
    # Background jobs.
    "RQ_QUEUES": "default",
    "REPORT_JOB_TIMEOUT": 300,
    "JOB_RESULT_TTL": 86400,
    # OpenAPI (flask-smorest): /openapi.json and /docs.
    "API_TITLE": "Store API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
    # Outbound: each new order is POSTed here by a background job when set.
    "WEBHOOK_URL": None,
    "WEBHOOK_TIMEOUT": 5.0,
    # Demo data (flask seed); never used in production.
    "SEED_ADMIN_EMAIL": "admin@example.com",
    "SEED_ADMIN_PASSWORD": "admin-password",
    "SEED_DEMO_PASSWORD": "customer-password",
}

# Settings converted from their environment string, by type.
INTEGERS = ("PORT", "DB_POOL_MIN_SIZE", "DB_POOL_MAX_SIZE", "DB_STATEMENT_TIMEOUT_MS",
            "MAX_CONTENT_LENGTH", "TOKEN_TTL_SECONDS", "PASSWORD_MIN_LENGTH",
            "REPORT_JOB_TIMEOUT", "JOB_RESULT_TTL")
FLOATS = ("DB_POOL_TIMEOUT", "WEBHOOK_TIMEOUT")
PRODUCTION_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
PLACEHOLDERS = {"", PLACEHOLDER_SECRET, "changeme", "change-me", "secret", "dev"}


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


def load_config(app, test_config=None):
    """Fill ``app.config`` from defaults, the instance folder and the environment.

    ``test_config`` (a mapping) replaces the instance file and the environment,
    so tests never depend on the developer's machine.
    """
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(_from_environment(os.environ))
    else:
        app.config.update(test_config)
    validate(app.config)


def environment_settings(environ=os.environ):
    """Defaults overlaid with the environment, unvalidated: for gunicorn's config, which has no app."""
    return {**DEFAULTS, **_from_environment(environ)}


def _from_environment(environ):
    """Read every known setting that the environment defines, converted to its type."""
    values = {}
    for name in DEFAULTS:
        if name not in environ:
            continue
        raw = environ[name]
        try:
            if name in INTEGERS:
                values[name] = int(raw)
            elif name in FLOATS:
                values[name] = float(raw)
            else:
                values[name] = raw
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    return values


def validate(config):
    """Refuse a configuration that cannot run safely; name the variable at fault."""
    env = config["APP_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    level = str(config["LOG_LEVEL"]).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {config['LOG_LEVEL']!r}")
    config["LOG_LEVEL"] = level
    if config["LOG_FORMAT"] not in ("json", "console"):
        raise ConfigError(f"LOG_FORMAT must be json or console, got {config['LOG_FORMAT']!r}")
    if config["LOG_FORMAT"] == "console" and env != "development":
        raise ConfigError("LOG_FORMAT=console is for development only; logs are JSON everywhere else")
    if env == "production":
        for name in PRODUCTION_REQUIRED:
            value = config.get(name)
            if value is None or str(value).strip().lower() in PLACEHOLDERS:
                raise ConfigError(f"{name} must be set to a real value in production")
        if len(config["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not config.get(name):
            raise ConfigError(
                f"{name} is not set: point it at the service, or start the app "
                "through `make run` / `python -m project.devservices`, which start "
                "embedded servers and set it"
            )
    if not 1 <= config["DB_POOL_MIN_SIZE"] <= config["DB_POOL_MAX_SIZE"]:
        raise ConfigError("DB_POOL_MIN_SIZE must be at least 1 and at most DB_POOL_MAX_SIZE")
    config["DEBUG"] = False
    config["TESTING"] = env == "test"

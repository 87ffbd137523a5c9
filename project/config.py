"""Settings: defaults, then ``instance/config.py``, then the environment.

Every setting is validated once, at start-up, and a bad one stops the process
with a message that names the variable. Nothing else in the project reads
``os.environ`` for application settings.
"""

import functools
import os
import subprocess
from pathlib import Path

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
    # Database monitoring: a warning line for statements slower than this (0 turns it off), and
    # every statement's SQL logged at DEBUG when SQL_LOG is true (1/true/yes/on), for debugging.
    "SLOW_QUERY_MS": 200,
    "SQL_LOG": False,
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
    # Health: checks run together under HEALTH_TIMEOUT seconds; results are reused for
    # HEALTH_CACHE_SECONDS; /health/details shows everything to an admin or HEALTH_TOKEN.
    "HEALTH_TOKEN": None,
    "HEALTH_TIMEOUT": 2.0,
    "HEALTH_CACHE_SECONDS": 2.0,
    # Queued jobs older than this make the queues component DEGRADED.
    "QUEUE_MAX_AGE_SECONDS": 300,
    # GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>" when set.
    "METRICS_TOKEN": None,
    # Seconds of readiness 503 after SIGTERM before gunicorn stops (default: 5 in production, else 0).
    "DRAIN_SECONDS": None,
    # The deployed commit (Heroku sets SOURCE_VERSION at build time); else git, else "unknown".
    "SOURCE_VERSION": None,
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
            "REPORT_JOB_TIMEOUT", "JOB_RESULT_TTL", "QUEUE_MAX_AGE_SECONDS", "SLOW_QUERY_MS")
FLOATS = ("DB_POOL_TIMEOUT", "WEBHOOK_TIMEOUT", "HEALTH_TIMEOUT", "HEALTH_CACHE_SECONDS", "DRAIN_SECONDS")
BOOLEANS = ("SQL_LOG",)
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
PRODUCTION_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
PLACEHOLDERS = {"", PLACEHOLDER_SECRET, "changeme", "change-me", "secret", "dev"}


def source_version(config):
    """The deployed commit: ``SOURCE_VERSION`` (Heroku), else ``git rev-parse HEAD``, else "unknown"."""
    if config.get("SOURCE_VERSION"):
        return str(config["SOURCE_VERSION"])
    return _git_commit()


@functools.cache
def _git_commit():
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=2,  # noqa: S607
                                cwd=Path(__file__).resolve().parent, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unknown"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


def parse_bool(name, value):
    """``value`` (a bool, or a word like ``yes``/``off`` from the environment) as a bool."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ConfigError(f"{name} must be true or false (1/0, true/false, yes/no, on/off), got {value!r}")


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
    settings = {**DEFAULTS, **_from_environment(environ)}
    settings["DRAIN_SECONDS"] = drain_seconds(settings)
    return settings


def drain_seconds(config):
    """``DRAIN_SECONDS``, or its default: 5 in production (time for load balancers to notice), else 0."""
    if config.get("DRAIN_SECONDS") is not None:
        return config["DRAIN_SECONDS"]
    return 5.0 if config["APP_ENV"] == "production" else 0.0


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
            elif name in BOOLEANS:
                values[name] = parse_bool(name, raw)
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
    for name in BOOLEANS:
        config[name] = parse_bool(name, config[name])
    if isinstance(config["SLOW_QUERY_MS"], bool) or not isinstance(config["SLOW_QUERY_MS"], int) \
            or config["SLOW_QUERY_MS"] < 0:
        raise ConfigError(f"SLOW_QUERY_MS must be a whole number of milliseconds (0 turns it off), "
                          f"got {config['SLOW_QUERY_MS']!r}")
    if config["HEALTH_TIMEOUT"] <= 0:
        raise ConfigError("HEALTH_TIMEOUT must be a positive number of seconds")
    config["DRAIN_SECONDS"] = drain_seconds(config)
    config["COMMIT"] = source_version(config)
    config["DEBUG"] = False
    config["TESTING"] = env == "test"

"""Validation of the settings: one pass at start-up that names the variable at fault.

``project.config.load_config`` calls ``validate`` once the defaults, the
instance file and the environment are merged; settings are converted and
checked here (rate limits parsed, networks read, policies built), so the
rest of the project reads plain, correct values.
"""

import ipaddress

from project.config import ConfigError, drain_seconds, parse_bool, source_version
from project.config_defaults import (
    BOOLEANS,
    BREAKER_INTEGERS,
    BREAKER_NAMES,
    ENVIRONMENTS,
    PLACEHOLDERS,
    PRODUCTION_REQUIRED,
    RATE_LIMITS,
    SECURITY_INTEGERS,
    TASK_INTEGERS,
)


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
    ttl = config["IDEMPOTENCY_TTL_SECONDS"]
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise ConfigError(f"IDEMPOTENCY_TTL_SECONDS must be a whole number of seconds of at least 1, got {ttl!r}")
    _validate_security(config)
    _validate_breakers(config)
    _validate_ratelimits(config)
    _validate_tasks(config)
    _validate_cache(config)
    config["DRAIN_SECONDS"] = drain_seconds(config)
    config["COMMIT"] = source_version(config)
    config["DEBUG"] = False
    config["TESTING"] = env == "test"


def parse_networks(name, value):
    """A comma-separated list of CIDRs (or single addresses) as ``ipaddress`` networks."""
    networks = []
    for item in (part.strip() for part in str(value or "").split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConfigError(f"{name} must be comma-separated CIDRs like 10.0.0.0/8, got {item!r}") from None
    return tuple(networks)


def _validate_security(config):
    """Security monitoring: positive whole numbers, a sane block ladder, a parseable allow-list."""
    for name in SECURITY_INTEGERS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
    if config["SECURITY_BLOCK_MAX_SECONDS"] < config["SECURITY_BLOCK_SECONDS"]:
        raise ConfigError("SECURITY_BLOCK_MAX_SECONDS must be at least SECURITY_BLOCK_SECONDS")
    config["SECURITY_ALLOWLIST_NETWORKS"] = parse_networks("SECURITY_ALLOWLIST", config["SECURITY_ALLOWLIST"])


def _validate_breakers(config):
    """Circuit breakers: positive numbers; each breaker's policy (override, else default) in BREAKER_POLICIES."""

    def checked(name, value, integer):
        if integer and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
        if not integer and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
            raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
        return value

    checked("BREAKER_JOB_MAX_RETRIES", config["BREAKER_JOB_MAX_RETRIES"], True)
    checked("BREAKER_REDIS_TIMEOUT", config["BREAKER_REDIS_TIMEOUT"], False)
    settings = ("FAILURE_THRESHOLD", "RESET_TIMEOUT", "HALF_OPEN_CALLS")
    for setting in settings:
        checked(f"BREAKER_{setting}", config[f"BREAKER_{setting}"], setting in BREAKER_INTEGERS)
    policies = {}
    for breaker in BREAKER_NAMES:
        policies[breaker] = {}
        for setting in settings:
            name = f"BREAKER_{breaker.upper()}_{setting}"
            if config.get(name) is None:
                name = f"BREAKER_{setting}"
            policies[breaker][setting.lower()] = checked(name, config[name], setting in BREAKER_INTEGERS)
    config["BREAKER_POLICIES"] = policies


def _validate_cache(config):
    """Response cache: TTLs and the warm count at least 1, max-age at least 0, positive timeouts."""
    for name, least in (("CACHE_PRODUCT_TTL", 1), ("CACHE_LIST_TTL", 1), ("CACHE_WARM_TOP", 1),
                        ("CACHE_HTTP_MAX_AGE", 0)):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{name} must be a whole number of at least {least}, got {value!r}")
    for name in ("CACHE_LOCK_SECONDS", "CACHE_SOCKET_TIMEOUT"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")


def parse_rate_limit(name, value):
    """One limit in flask-limiter's notation (``60/minute``, ``10 per 2 hours``), at least 1 a window."""
    from limits import parse_many

    try:
        items = parse_many(value) if isinstance(value, str) else []
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ConfigError(f"{name} must be one rate limit like 60/minute (N per second, minute, hour or day), "
                          f"got {value!r}")
    return value.strip()


def _validate_ratelimits(config):
    """Rate limits parse, proxy hops are a count, the Redis timeout is positive."""
    for name in RATE_LIMITS:
        config[name] = parse_rate_limit(name, config[name])
    hops = config["TRUSTED_PROXY_HOPS"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be a whole number of proxies (0: trust none), got {hops!r}")
    if not config["RATELIMIT_REDIS_TIMEOUT"] > 0:
        raise ConfigError("RATELIMIT_REDIS_TIMEOUT must be a positive number of seconds")


def _validate_tasks(config):
    """Background jobs: known queue names, whole numbers in range, a jitter between 0 and 1."""
    names = [name.strip() for name in str(config["RQ_QUEUES"]).split(",") if name.strip()]
    if not names or any(not name.replace("_", "").replace("-", "").isalnum() for name in names):
        raise ConfigError(f"RQ_QUEUES must be comma-separated queue names like high,default,low, "
                          f"got {config['RQ_QUEUES']!r}")
    config["RQ_QUEUE_NAMES"] = names
    at_least = {"JOB_MAX_RETRIES": 0, "JOB_RETRY_BASE_SECONDS": 0, "CACHE_WARM_SCHEDULE_SECONDS": 0}
    for name in TASK_INTEGERS:
        value, low = config[name], at_least.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} must be a whole number of at least {low}, got {value!r}")
    jitter = config["JOB_RETRY_JITTER"]
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 1:
        raise ConfigError(f"JOB_RETRY_JITTER must be a fraction between 0 and 1, got {jitter!r}")

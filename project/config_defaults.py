"""Every setting: its default, with what it means, and its type when read from the environment.

``project.config`` loads them (defaults, then ``instance/config.py``, then the
environment) and ``project.config_validation`` checks them; the README's
Configuration table documents the same names.
"""

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
    # Idempotency-Key on POST /api/v1/orders: a key's first answer is replayed for this long (24 h).
    "IDEMPOTENCY_TTL_SECONDS": 86400,
    # Background jobs.
    # Background jobs (project/tasks): queues listened to in this priority order; per-kind timeouts;
    # retries with exponential backoff (BASE * 2**n seconds, capped at MAX, plus up to JITTER of it
    # at random); jobs out of retries are dead letters, kept DEAD_LETTER_TTL seconds. A worker's
    # heartbeat every WORKER_JOB_MONITORING_INTERVAL s, plus WORKER_HEARTBEAT_GRACE_SECONDS, bounds
    # how long a killed worker's job stays "started"; workers look for such abandoned jobs every
    # WORKER_MAINTENANCE_INTERVAL s. CACHE_WARM_SCHEDULE_SECONDS enqueues cache warming (0: never).
    "RQ_QUEUES": "high,default,low",
    "REPORT_JOB_TIMEOUT": 300,
    "WEBHOOK_JOB_TIMEOUT": 30,
    "CACHE_WARM_JOB_TIMEOUT": 120,
    "CACHE_WARM_SCHEDULE_SECONDS": 600,
    "JOB_RESULT_TTL": 86400,
    "JOB_MAX_RETRIES": 3,
    "JOB_RETRY_BASE_SECONDS": 2,
    "JOB_RETRY_MAX_SECONDS": 300,
    "JOB_RETRY_JITTER": 0.5,
    "DEAD_LETTER_TTL": 7 * 86400,
    "WORKER_JOB_MONITORING_INTERVAL": 10,
    "WORKER_HEARTBEAT_GRACE_SECONDS": 30,
    "WORKER_MAINTENANCE_INTERVAL": 60,
    # rq-dashboard at /admin/rq: an admin's browser session (POST /admin/login) lasts this long.
    "ADMIN_SESSION_SECONDS": 3600,
    # OpenAPI (flask-smorest, completed by project/openapi): /openapi.json and Swagger UI at /docs, its
    # assets served by this app from the flask-swagger-ui package (no CDN). Contact and licence go in info.
    "API_TITLE": "Store API",
    "API_VERSION": VERSION,
    "API_CONTACT_NAME": "Store API team",
    "API_CONTACT_EMAIL": "api@example.com",
    "API_LICENSE": "Proprietary",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
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
    # Circuit breakers (project/protection/breakers.py), state shared in Redis: this many failures
    # in a row open a breaker; it stays open RESET_TIMEOUT seconds, then lets HALF_OPEN_CALLS trial
    # calls through (all succeed: closed; one fails: open again). BREAKER_<NAME>_... overrides one
    # breaker (webhook, cache). A job that meets an open circuit is retried later, at most
    # BREAKER_JOB_MAX_RETRIES times. BREAKER_REDIS_TIMEOUT bounds each read or write of the state.
    "BREAKER_FAILURE_THRESHOLD": 5,
    "BREAKER_RESET_TIMEOUT": 30.0,
    "BREAKER_HALF_OPEN_CALLS": 1,
    "BREAKER_WEBHOOK_FAILURE_THRESHOLD": None,
    "BREAKER_WEBHOOK_RESET_TIMEOUT": None,
    "BREAKER_WEBHOOK_HALF_OPEN_CALLS": None,
    "BREAKER_CACHE_FAILURE_THRESHOLD": None,
    "BREAKER_CACHE_RESET_TIMEOUT": None,
    "BREAKER_CACHE_HALF_OPEN_CALLS": None,
    "BREAKER_JOB_MAX_RETRIES": 100,
    "BREAKER_REDIS_TIMEOUT": 0.5,
    # Rate limits (project/protection), "N/second|minute|hour|day" each, shared in Redis: per caller
    # tier across the API, and per endpoint (sign-in and registration per IP and per account).
    # RATELIMIT_FAIL_OPEN: Redis down lets requests through (else 503). TRUSTED_PROXY_HOPS > 0 takes
    # the client IP from that many X-Forwarded-For hops (ProxyFix); 0 ignores the header.
    "RATELIMIT_ANONYMOUS": "60/minute",
    "RATELIMIT_FREE": "300/minute",
    "RATELIMIT_PREMIUM": "1200/minute",
    "RATELIMIT_ADMIN": "3000/minute",
    "RATELIMIT_SIGN_IN_IP": "30/minute",
    "RATELIMIT_SIGN_IN_ACCOUNT": "20/minute",
    "RATELIMIT_REGISTER_IP": "10/hour",
    "RATELIMIT_REGISTER_ACCOUNT": "5/hour",
    "RATELIMIT_ORDERS": "30/minute",
    "RATELIMIT_REPORTS": "10/minute",
    "RATELIMIT_FAIL_OPEN": True,
    "RATELIMIT_REDIS_TIMEOUT": 0.5,
    "TRUSTED_PROXY_HOPS": 0,
    # Security monitoring (project/security): sign-in failures from one IP within the window block
    # it for SECURITY_BLOCK_SECONDS, doubling on each repeat (remembered for HISTORY) up to MAX;
    # SECURITY_ALLOWLIST (comma-separated CIDRs) is never blocked. A (account, IP) pair is locked
    # after SECURITY_LOCK_THRESHOLD failures; patterns are detected once per window.
    "SECURITY_BLOCK_THRESHOLD": 5,
    "SECURITY_BLOCK_WINDOW_SECONDS": 600,
    "SECURITY_BLOCK_SECONDS": 900,
    "SECURITY_BLOCK_MAX_SECONDS": 86400,
    "SECURITY_BLOCK_HISTORY_SECONDS": 7 * 86400,
    "SECURITY_ALLOWLIST": "",
    "SECURITY_LOCK_THRESHOLD": 5,
    "SECURITY_LOCK_WINDOW_SECONDS": 600,
    "SECURITY_LOCK_SECONDS": 900,
    "SECURITY_PATTERN_WINDOW_SECONDS": 600,
    "SECURITY_BRUTE_FORCE_THRESHOLD": 10,
    "SECURITY_STUFFING_THRESHOLD": 5,
    "SECURITY_SCAN_THRESHOLD": 20,
    "SECURITY_SCAN_WINDOW_SECONDS": 60,
    # Response cache (project/caching): product detail and list bodies in Redis for these TTLs
    # (seconds), served with Cache-Control max-age CACHE_HTTP_MAX_AGE; a miss holds a fill lock for
    # at most CACHE_LOCK_SECONDS; each cache call waits at most CACHE_SOCKET_TIMEOUT; warming fills
    # the CACHE_WARM_TOP most viewed products. CACHE_ENABLED=false serves everything from the database.
    "CACHE_ENABLED": True,
    "CACHE_PRODUCT_TTL": 300,
    "CACHE_LIST_TTL": 60,
    "CACHE_HTTP_MAX_AGE": 30,
    "CACHE_LOCK_SECONDS": 2.0,
    "CACHE_SOCKET_TIMEOUT": 0.25,
    "CACHE_WARM_TOP": 50,
    # Demo data (flask seed); never used in production.
    "SEED_ADMIN_EMAIL": "admin@example.com",
    "SEED_ADMIN_PASSWORD": "admin-password",
    "SEED_DEMO_PASSWORD": "customer-password",
}

# Settings converted from their environment string, by type.
INTEGERS = ("PORT", "DB_POOL_MIN_SIZE", "DB_POOL_MAX_SIZE", "DB_STATEMENT_TIMEOUT_MS",
            "MAX_CONTENT_LENGTH", "TOKEN_TTL_SECONDS", "PASSWORD_MIN_LENGTH",
            "REPORT_JOB_TIMEOUT", "JOB_RESULT_TTL", "QUEUE_MAX_AGE_SECONDS", "SLOW_QUERY_MS",
            "IDEMPOTENCY_TTL_SECONDS")
# Whole numbers of at least 1 (counts and seconds).
SECURITY_INTEGERS = ("SECURITY_BLOCK_THRESHOLD", "SECURITY_BLOCK_WINDOW_SECONDS", "SECURITY_BLOCK_SECONDS",
                     "SECURITY_BLOCK_MAX_SECONDS", "SECURITY_BLOCK_HISTORY_SECONDS", "SECURITY_LOCK_THRESHOLD",
                     "SECURITY_LOCK_WINDOW_SECONDS", "SECURITY_LOCK_SECONDS", "SECURITY_PATTERN_WINDOW_SECONDS",
                     "SECURITY_BRUTE_FORCE_THRESHOLD", "SECURITY_STUFFING_THRESHOLD", "SECURITY_SCAN_THRESHOLD",
                     "SECURITY_SCAN_WINDOW_SECONDS")
INTEGERS += SECURITY_INTEGERS
FLOATS = ("DB_POOL_TIMEOUT", "WEBHOOK_TIMEOUT", "HEALTH_TIMEOUT", "HEALTH_CACHE_SECONDS", "DRAIN_SECONDS")
BREAKER_NAMES = ("webhook", "cache")  # one breaker per dependency (project/protection/breakers.py)
BREAKER_INTEGERS = ("FAILURE_THRESHOLD", "HALF_OPEN_CALLS")  # BREAKER_[<NAME>_]<setting>
INTEGERS += ("BREAKER_JOB_MAX_RETRIES",) + tuple(
    f"BREAKER_{prefix}{setting}" for prefix in ("", *(f"{n.upper()}_" for n in BREAKER_NAMES))
    for setting in BREAKER_INTEGERS)
FLOATS += ("BREAKER_REDIS_TIMEOUT", "BREAKER_RESET_TIMEOUT") + tuple(
    f"BREAKER_{name.upper()}_RESET_TIMEOUT" for name in BREAKER_NAMES)
TASK_INTEGERS = ("WEBHOOK_JOB_TIMEOUT", "CACHE_WARM_JOB_TIMEOUT", "CACHE_WARM_SCHEDULE_SECONDS", "JOB_MAX_RETRIES",
                 "JOB_RETRY_BASE_SECONDS", "JOB_RETRY_MAX_SECONDS", "DEAD_LETTER_TTL", "WORKER_JOB_MONITORING_INTERVAL",
                 "WORKER_HEARTBEAT_GRACE_SECONDS", "WORKER_MAINTENANCE_INTERVAL", "ADMIN_SESSION_SECONDS")
INTEGERS += TASK_INTEGERS
FLOATS += ("JOB_RETRY_JITTER",)
BOOLEANS = ("SQL_LOG",)
RATE_LIMITS = ("RATELIMIT_ANONYMOUS", "RATELIMIT_FREE", "RATELIMIT_PREMIUM", "RATELIMIT_ADMIN",
               "RATELIMIT_SIGN_IN_IP", "RATELIMIT_SIGN_IN_ACCOUNT", "RATELIMIT_REGISTER_IP",
               "RATELIMIT_REGISTER_ACCOUNT", "RATELIMIT_ORDERS", "RATELIMIT_REPORTS")
INTEGERS += ("TRUSTED_PROXY_HOPS",)
FLOATS += ("RATELIMIT_REDIS_TIMEOUT",)
BOOLEANS += ("RATELIMIT_FAIL_OPEN",)
INTEGERS += ("CACHE_PRODUCT_TTL", "CACHE_LIST_TTL", "CACHE_HTTP_MAX_AGE", "CACHE_WARM_TOP")
FLOATS += ("CACHE_LOCK_SECONDS", "CACHE_SOCKET_TIMEOUT")
BOOLEANS += ("CACHE_ENABLED",)
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
PRODUCTION_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
PLACEHOLDERS = {"", PLACEHOLDER_SECRET, "changeme", "change-me", "secret", "dev"}

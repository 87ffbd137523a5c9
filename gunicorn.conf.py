"""gunicorn settings, from the environment (Heroku and Kubernetes names)."""

import multiprocessing
import os

from project.observability import gunicorn_hooks

# Before anything imports prometheus_client: every worker writes its metrics to this directory.
gunicorn_hooks.prepare()

from project.config import environment_settings  # noqa: E402
from project.observability.logging import logging_config_for  # noqa: E402

settings = environment_settings()

port = os.environ.get("PORT", "8000")
# Heroku and containers need 0.0.0.0; `make run` binds 127.0.0.1 through GUNICORN_BIND.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{port}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 4)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM: DRAIN_SECONDS of readiness 503 (still serving), then up to graceful_timeout for
# in-flight requests. Heroku sends SIGKILL 30 s after SIGTERM: keep the sum under 30.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Bound what a client can send before the app sees it.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
# JSON logs for the master and workers, the access line carrying the app's request ID.
logconfig_dict = logging_config_for(settings)
logger_class = "project.observability.gunicorn_logging.JsonLogger"

# Prometheus multiprocess files, and the drain on SIGTERM.
on_starting = gunicorn_hooks.on_starting
when_ready = gunicorn_hooks.drain_on_sigterm(settings["DRAIN_SECONDS"])
child_exit = gunicorn_hooks.child_exit
on_exit = gunicorn_hooks.on_exit

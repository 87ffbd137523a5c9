"""gunicorn settings, from the environment (Heroku and Kubernetes names)."""

import multiprocessing
import os

from project.config import environment_settings
from project.observability.logging import logging_config_for

port = os.environ.get("PORT", "8000")
# Heroku and containers need 0.0.0.0; `make run` binds 127.0.0.1 through GUNICORN_BIND.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{port}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 4)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# Bound what a client can send before the app sees it.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
# JSON logs for the master and workers, the access line carrying the app's request ID.
logconfig_dict = logging_config_for(environment_settings())
logger_class = "project.observability.gunicorn_logging.JsonLogger"

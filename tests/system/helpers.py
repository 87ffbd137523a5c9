"""Data and scraping helpers for the system tests (run inside the cluster app's context)."""

import itertools
import urllib.request

import psutil
import psycopg
from flask import current_app
from prometheus_client.parser import text_string_to_metric_families

from project.security.auth import issue_token
from tests.builders import make_product, make_user

_ips = itertools.count(10)


def client_ip():
    """A fresh client address (sent as X-Forwarded-For; the cluster trusts one proxy hop)."""
    number = next(_ips)
    return f"198.51.{number // 250}.{number % 250 + 1}"


def customer(tier="premium", role="customer"):
    """A new account and a bearer token for it: ``(user, token)``."""
    user = make_user(role=role, tier=tier)
    token, _ = issue_token(user_id=user["id"])
    return user, token


def products(count=3, stock=1_000_000):
    """``count`` products with stock enough for any load; their ids."""
    return [make_product(stock=stock)["id"] for _ in range(count)]


def scrape(url):
    """``/metrics`` of one instance, as ``{(name, labels): value}`` over every sample."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def requests_counted(samples, route, method="GET"):
    """Requests that the exporter counted for ``route`` (the request-duration histogram's count)."""
    return sum(value for (name, labels), value in samples.items()
               if name == "flask_http_request_duration_seconds_count"
               and dict(labels).get("route") == route and dict(labels).get("method") == method)


def customer_orders(user_id):
    """The ids of ``user_id``'s orders in the database (on a fresh connection: the server may have restarted)."""
    with psycopg.connect(current_app.config["DATABASE_URL"]) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM orders WHERE user_id = %s", (user_id,))}


def has_work_horse(worker):
    """True while the RQ worker has forked a work horse (it is running a job)."""
    try:
        return bool(psutil.Process(worker.pid).children())
    except psutil.NoSuchProcess:
        return False

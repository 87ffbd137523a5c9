"""Load scenarios for the store API: shoppers, buyers, admins, and a calibration probe.

Run through ``perf/run.py`` (``make perf``), which starts the service on the
embedded servers, seeds it, and points Locust here. The weights give the mix
of a small shop: most traffic browses the catalogue; some customers sign in
and buy; an admin now and then edits a product or asks for a report.

``calibration`` requests go to a bare Flask app under its own gunicorn
(``perf/bare_app.py``, ``PERF_CALIBRATION_HOST``): the machine's speed in
this run, which ``check_regression.py`` divides every figure by, because a
shared machine's absolute times drift from one run to the next.
"""

import itertools
import os
import random
import time
import uuid

from locust import FastHttpUser, between, constant, events, task

API = "/api/v1"
CATEGORIES = ("kitchen", "stationery", "home", "outdoor")
SEARCHES = ("cup", "pen", "lamp", "wool", "bottle", "note")
SORTS = ("id", "name", "-price", "price")
ADMIN_EMAIL = os.environ.get("SEED_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("SEED_ADMIN_PASSWORD", "admin-password")
REPORT_POLL_SECONDS = 30
PENDING = ("queued", "started", "scheduled", "deferred")
_users = itertools.count(1)
PRODUCT_IDS = []


@events.test_start.add_listener
def _load_product_ids(environment, **_kwargs):
    """The seeded catalogue's IDs, read once (the runner seeded it before Locust started)."""
    import json
    import urllib.request

    url = f"{environment.host}{API}/products?limit=100"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the runner's own 127.0.0.1 server
        PRODUCT_IDS[:] = [item["id"] for item in json.load(response)["items"]]
    if not PRODUCT_IDS:
        raise RuntimeError("the catalogue is empty: run `flask seed` first (perf/run.py does)")


def bearer(token):
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


class Browsing:
    """Catalogue tasks shared by shoppers and buyers."""

    def list_products(self):
        offset = random.choice((0, 0, 0, 5, 10))  # noqa: S311 - load mix, not security
        self.client.get(f"{API}/products?limit=10&offset={offset}", name="GET /products")

    def filter_by_category(self):
        category = random.choice(CATEGORIES)  # noqa: S311
        sort = random.choice(SORTS)  # noqa: S311
        self.client.get(f"{API}/products?category={category}&sort={sort}", name="GET /products?category")

    def search(self):
        self.client.get(f"{API}/products?q={random.choice(SEARCHES)}", name="GET /products?q")  # noqa: S311

    def view_product(self):
        product_id = random.choice(PRODUCT_IDS)  # noqa: S311
        self.client.get(f"{API}/products/{product_id}", name="GET /products/{id}")


class Shopper(Browsing, FastHttpUser):
    """Anonymous browsing: most of the traffic."""

    weight = 8
    wait_time = between(0.5, 2.0)

    @task(5)
    def browse(self):
        """The first page of the catalogue."""
        self.list_products()

    @task(3)
    def by_category(self):
        """A category, sorted."""
        self.filter_by_category()

    @task(2)
    def find(self):
        """A name search."""
        self.search()

    @task(6)
    def view(self):
        """One product."""
        self.view_product()


class Buyer(Browsing, FastHttpUser):
    """Registers, signs in, browses, places orders and looks at them."""

    weight = 3
    wait_time = between(1.0, 3.0)

    def on_start(self):
        """A fresh account per simulated user, then a token."""
        self.email = f"perf-{next(_users)}-{uuid.uuid4().hex[:8]}@example.com"
        self.password = uuid.uuid4().hex  # a throw-away account's password, 32 characters
        self.client.post(f"{API}/auth/register", json={"email": self.email, "password": self.password},
                         name="POST /auth/register")
        self.sign_in()
        self.orders = []

    @task(1)
    def sign_in(self):
        """Sign in (again: a returning customer's new session)."""
        answer = self.client.post(f"{API}/auth/token", json={"email": self.email, "password": self.password},
                                  name="POST /auth/token")
        self.headers = bearer(answer.json()["access_token"]) if answer.status_code == 200 else {}

    @task(3)
    def browse(self):
        """Look around first."""
        self.view_product()

    @task(2)
    def place_order(self):
        """One or two products, a unit or two each."""
        lines = [{"product_id": product_id, "quantity": random.randint(1, 2)}  # noqa: S311
                 for product_id in random.sample(PRODUCT_IDS, k=random.randint(1, 2))]  # noqa: S311
        answer = self.client.post(f"{API}/orders", json={"items": lines}, headers=self.headers,
                                  name="POST /orders")
        if answer.status_code == 201:
            self.orders.append(answer.json()["id"])

    @task(1)
    def my_orders(self):
        """The order history."""
        self.client.get(f"{API}/orders", headers=self.headers, name="GET /orders")

    @task(1)
    def one_order(self):
        """One of this buyer's orders."""
        if self.orders:
            self.client.get(f"{API}/orders/{random.choice(self.orders)}", headers=self.headers,  # noqa: S311
                            name="GET /orders/{id}")


class Admin(FastHttpUser):
    """The seeded admin: edits products, runs a report and polls its job."""

    weight = 1
    fixed_count = 1
    wait_time = between(2.0, 5.0)

    def on_start(self):
        """Sign in as the seeded admin."""
        answer = self.client.post(f"{API}/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                                  name="POST /auth/token")
        self.headers = bearer(answer.json()["access_token"]) if answer.status_code == 200 else {}
        self.turn = 0

    @task
    def work(self):
        """Three price changes to one report, in turn: every run measures both, however short.

        (Chosen at random, a 45-second smoke ran no report in about one run in forty, and
        the regression check then failed on endpoints it had not measured.)
        """
        self.turn += 1
        if self.turn % 4 == 2:  # the second task: after the stats reset at the end of the spawn
            self.report()
        else:
            self.update_price()

    def update_price(self):
        """Nudge a price (invalidates the product's cached answers)."""
        product_id = random.choice(PRODUCT_IDS)  # noqa: S311
        price = f"{random.randint(5, 90)}.{random.randint(0, 99):02d}"  # noqa: S311
        self.client.patch(f"{API}/products/{product_id}", json={"price": price}, headers=self.headers,
                          name="PATCH /products/{id}")

    def report(self):
        """Enqueue a sales report, then poll its job until it has finished."""
        answer = self.client.post(f"{API}/reports", json={}, headers=self.headers, name="POST /reports")
        if answer.status_code != 202:
            return
        job_id = answer.json()["job_id"]
        deadline = time.monotonic() + REPORT_POLL_SECONDS
        while True:
            with self.client.get(f"{API}/jobs/{job_id}", headers=self.headers, name="GET /jobs/{id}",
                                 catch_response=True) as poll:
                status = poll.json().get("status") if poll.status_code == 200 else f"HTTP {poll.status_code}"
                if status == "finished":
                    poll.success()
                    return
                if status not in PENDING or time.monotonic() > deadline:
                    poll.failure(f"report job ended {status!r} (or took over {REPORT_POLL_SECONDS} s)")
                    return
                poll.success()
            time.sleep(0.5)


class Calibration(FastHttpUser):
    """The machine's speed in this run: a bare Flask endpoint under its own gunicorn."""

    fixed_count = 1
    wait_time = constant(0.05)
    # Locust gives every user class the --host; this one calls its own server by absolute URL.
    bare_url = os.environ.get("PERF_CALIBRATION_HOST", "http://127.0.0.1:8001") + "/bare"

    @task
    def bare(self):
        """Constant JSON, no extension."""
        self.client.get(self.bare_url, name="calibration")

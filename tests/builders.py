"""Builders for test data, through the same repositories the app uses."""

import itertools
from decimal import Decimal

from project.security.passwords import hash_password
from project.store.orders import repository as orders
from project.store.products import repository as products
from project.store.users import repository as users

TEST_PASSWORD = "correct horse battery"
_HASH = None
_counter = itertools.count(1)


def make_user(*, email=None, role="customer", tier="free"):
    """Create an account with TEST_PASSWORD (hashed once per run: Argon2 is slow on purpose)."""
    global _HASH
    _HASH = _HASH or hash_password(TEST_PASSWORD)
    return users.create_user(email=email or f"user{next(_counter)}@example.com", password_hash=_HASH,
                             role=role, tier=tier)


def sign_in(client, **user_fields):
    """Create an account and sign it in; return user, token and the Authorization header."""
    user = make_user(**user_fields)
    response = client.post("/api/v1/auth/token", json={"email": user["email"], "password": TEST_PASSWORD})
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["access_token"]
    return {"user": user, "token": token, "headers": {"Authorization": f"Bearer {token}"}}


def make_product(*, name=None, category="kitchen", price="9.99", stock=10, description=""):
    """Create a product."""
    return products.create_product(name=name or f"Product {next(_counter)}", description=description,
                                   category=category, price=Decimal(price), stock=stock)


def make_order(user, *lines):
    """Place an order for ``user`` through the repository; ``lines`` are ``(product, quantity)`` pairs."""
    return orders.place_order(user_id=user["id"],
                              lines=[{"product_id": product["id"], "quantity": qty} for product, qty in lines])

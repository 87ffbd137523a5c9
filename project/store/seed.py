"""Demo data for development: products in a few categories and three accounts.

Idempotent: rows that exist (same product name, same email) are left alone.
"""

from decimal import Decimal

from flask import current_app

from project.security.passwords import hash_password
from project.store.products import repository as products
from project.store.users import repository as users

PRODUCTS = [
    ("Espresso cup", "Porcelain, 90 ml.", "kitchen", "9.99", 120),
    ("Pour-over kettle", "Gooseneck, 1 litre, stainless steel.", "kitchen", "39.50", 40),
    ("Chef's knife", "20 cm, carbon steel.", "kitchen", "64.00", 25),
    ("Linen apron", "Washed linen, adjustable strap.", "kitchen", "24.90", 60),
    ("Field notebook", "A5, dotted, 192 pages.", "stationery", "12.00", 200),
    ("Fountain pen", "Steel nib, medium.", "stationery", "29.00", 80),
    ("Ink bottle", "50 ml, blue-black.", "stationery", "8.50", 150),
    ("Desk lamp", "LED, warm white, dimmable.", "home", "49.00", 35),
    ("Wool throw", "130 x 170 cm, merino.", "home", "89.00", 20),
    ("Ceramic planter", "15 cm, with saucer.", "home", "18.75", 70),
    ("Trail socks", "Merino blend, pair.", "outdoor", "16.00", 180),
    ("Water bottle", "750 ml, insulated.", "outdoor", "27.00", 90),
]


def seed():
    """Insert what is missing; return counts of rows created."""
    created = {"products": 0, "users": 0}
    for name, description, category, price, stock in PRODUCTS:
        try:
            products.create_product(name=name, description=description, category=category,
                                    price=Decimal(price), stock=stock)
            created["products"] += 1
        except products.DuplicateName:
            pass
    config = current_app.config
    accounts = [
        (config["SEED_ADMIN_EMAIL"], config["SEED_ADMIN_PASSWORD"], "admin", "premium"),
        ("free@example.com", config["SEED_DEMO_PASSWORD"], "customer", "free"),
        ("premium@example.com", config["SEED_DEMO_PASSWORD"], "customer", "premium"),
    ]
    for email, password, role, tier in accounts:
        try:
            users.create_user(email=email, password_hash=hash_password(password), role=role, tier=tier)
            created["users"] += 1
        except users.DuplicateEmail:
            pass
    return created

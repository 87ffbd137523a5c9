"""A bare Flask app: the yardstick for calibration and for ``make bench``.

No extension at all: no logging, metrics, limits, cache or database. ``/bare``
is the calibration endpoint of ``make perf``; ``/api/v1/products/<id>`` answers
a product the shape of the store's, from memory, for the cost-of-readiness
benchmark.
"""

from flask import Flask

app = Flask(__name__)

PRODUCT = {"id": 1, "name": "Espresso cup", "description": "Porcelain, 90 ml.", "category": "kitchen",
           "price": "9.99", "stock": 120}


@app.get("/bare")
def bare():
    """Constant JSON."""
    return {"status": "ok"}


@app.get("/api/v1/products/<int:product_id>")
def product(product_id):
    """The same answer as the store's product read, without the store."""
    return {**PRODUCT, "id": product_id}

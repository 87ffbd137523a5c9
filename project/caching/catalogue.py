"""What the catalogue caches, how writes invalidate it, and warming.

Two caches: ``product`` (``GET /api/v1/products/<id>``, namespaces
``catalogue`` and ``product:<id>``) and ``products`` (the list, namespaces
``catalogue`` and ``products``). A product's create, change, delete or stock
change bumps its own namespace and ``products`` (lists show every product);
``clear_all`` bumps ``catalogue``. Call these after the change is committed.
"""

import hashlib

from flask import current_app, has_app_context, request

from project.caching.metrics import INVALIDATIONS
from project.caching.responses import RESULT_KEY, WARMING_KEY, CachedView
from project.caching.store import FAILURES
from project.errors import AppError
from project.observability.logging import get_logger
from project.store.products.schemas import ProductQuerySchema

log = get_logger(__name__)
PRODUCTS_ENDPOINT, PRODUCT_ENDPOINT = "products.Products", "products.Product"
# The list's query arguments with their defaults as strings: unknown arguments and explicit defaults
# do not make new keys (``?limit=20`` is ``?``), so junk query strings cannot fill Redis.
LIST_ARGUMENTS = {name: None if field.load_default is None or not isinstance(field.load_default, int | str)
                  else str(field.load_default) for name, field in ProductQuerySchema().fields.items()}


def list_entry(_kwargs):
    """The list's entry: its normalised query string (the first value of each known argument), hashed."""
    args = request.args
    pairs = [(name, args[name]) for name in LIST_ARGUMENTS if name in args and args[name] != LIST_ARGUMENTS[name]]
    digest = hashlib.blake2b(repr(pairs).encode(), digest_size=12).hexdigest() if pairs else "first"
    return f"products:{digest}:"


product_list_cache = CachedView("products", entry=list_entry, namespaces=lambda _: ("catalogue", "products"),
                                ttl_setting="CACHE_LIST_TTL")
product_cache = CachedView("product", entry=lambda kwargs: f"product:{kwargs['product_id']}:",
                           namespaces=lambda kwargs: ("catalogue", f"product:{kwargs['product_id']}"),
                           ttl_setting="CACHE_PRODUCT_TTL", member=lambda kwargs: str(kwargs["product_id"]))

# Cached GET views by endpoint: ``project.protection.roundtrip`` looks them up with the request's limit.
CACHED_VIEWS = {PRODUCT_ENDPOINT: product_cache, PRODUCTS_ENDPOINT: product_list_cache}


def _bump(*namespaces):
    """Invalidate ``namespaces`` now (never through the open breaker: a write must always try)."""
    state = current_app.extensions["caching"]
    try:
        state.store.bump(namespaces)
    except FAILURES as error:
        # The write is committed; failing it now would invite a duplicate retry. Entries expire within their TTL.
        INVALIDATIONS.labels("error").inc()
        log.error("cache_invalidation_failed", namespaces=list(namespaces), error=type(error).__name__)
        state.guard.failed(error)
        return False
    INVALIDATIONS.labels("ok").inc()
    return True


def product_created():
    """A product was added: every list may show it."""
    return _bump("products")


def product_changed(product_id):
    """A product was changed or deleted."""
    return _bump(f"product:{product_id}", "products")


def stock_changed(product_ids):
    """Orders took stock from these products."""
    return _bump(*(f"product:{product_id}" for product_id in sorted(set(product_ids))), "products")


def clear_all():
    """Invalidate every catalogue entry (bulk changes such as ``flask seed``; ``flask cache clear``)."""
    return _bump("catalogue")


def _fill(app, endpoint, path, **kwargs):
    """Run ``endpoint``'s cached view for ``path`` without hooks; return hit, miss, error or bypass."""
    with app.test_request_context(path, environ_overrides={WARMING_KEY: True}):
        app.view_functions[endpoint](**kwargs)
        return request.environ.get(RESULT_KEY)


def warm_cache(top=None):
    """Fill the cache for the ``top`` (``CACHE_WARM_TOP``) most viewed products and the first list page.

    The periodic job and ``flask cache warm`` call it; it needs the app (an app
    context, or it builds one). Returns counts: ``{"products", "filled", "missing"}``.
    Raises ``redis.RedisError`` when Redis is unreachable (the job is retried).
    """
    if not has_app_context():
        from project import create_app

        with create_app().app_context():
            return warm_cache(top)
    app = current_app._get_current_object()  # noqa: SLF001 - the app itself, for test_request_context
    store = app.extensions["caching"].store
    ids = store.most_viewed(top or app.config["CACHE_WARM_TOP"])
    counts = {"products": len(ids), "filled": 0, "missing": 0}
    for product_id in ids:
        try:
            result = _fill(app, PRODUCT_ENDPOINT, f"/api/v1/products/{product_id}", product_id=product_id)
        except AppError:  # deleted since it was viewed
            store.forget_view(str(product_id))
            counts["missing"] += 1
            continue
        counts["filled"] += result == "miss"
    counts["filled"] += _fill(app, PRODUCTS_ENDPOINT, "/api/v1/products") == "miss"
    log.info("cache_warmed", **counts)
    return counts

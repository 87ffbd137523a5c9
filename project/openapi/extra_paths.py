"""Operations outside flask-smorest's blueprints: metrics, the admin pages, and the docs themselves.

They are plain Flask routes (rq-dashboard and prometheus-flask-exporter bring
their own), so their operations are written out here; the errors and headers
they share with everything else are added by ``operations.document`` as usual.
rq-dashboard's own pages and JSON under ``/admin/rq/...`` (besides its front
page) are its internals, not a client API, and stay out of the spec.
"""

CREDENTIALS = {"type": "object", "required": ["email", "password"], "properties": {
    "email": {"type": "string", "format": "email", "example": "admin@example.com"},
    "password": {"type": "string", "writeOnly": True, "example": "admin-password"}}}
HTML = {"text/html": {"schema": {"type": "string"}, "example": "<!doctype html><html>...</html>"}}


def paths():
    """``{path: {method: operation}}`` for the routes flask-smorest does not document."""
    return {
        "/metrics": {"get": {
            "tags": ["metrics"], "summary": "Prometheus metrics of every worker.",
            "description": "The Prometheus text format (OpenMetrics when the `Accept` header asks for it), "
                           "aggregated over every gunicorn worker. Needs `Authorization: Bearer <METRICS_TOKEN>` "
                           "when `METRICS_TOKEN` is set; never rate limited.",
            "security": [{}, {"metricsToken": []}],
            "responses": {
                "200": {"description": "The metrics.", "content": {"text/plain": {
                    "schema": {"type": "string"},
                    "example": "# HELP store_ready 1 when ready.\n# TYPE store_ready gauge\nstore_ready 1.0\n"}}},
                "401": {"description": "`METRICS_TOKEN` is set and the request does not carry it."}}}},
        "/admin/login": {
            "get": {"tags": ["admin"], "summary": "The admin sign-in form (HTML).",
                    "description": "A form that posts to `POST /admin/login`; credentials never go in a URL.",
                    "responses": {"200": {"description": "The form.", "content": HTML}}},
            "post": {"tags": ["admin"], "summary": "Sign an admin's browser in to the admin pages.",
                     "description": "Checks the email and password (form or JSON) with the same sign-in locks as "
                                    "`POST /api/v1/auth/token`, then sets a signed session cookie (HttpOnly, "
                                    "`SameSite=Strict`, path `/admin`) and redirects to `/admin/rq/`.",
                     "requestBody": {"required": True, "content": {
                         "application/x-www-form-urlencoded": {"schema": CREDENTIALS},
                         "application/json": {"schema": CREDENTIALS}}},
                     "responses": {
                         "303": {"description": "Signed in: on to the dashboard; `Set-Cookie` holds the session.",
                                 "headers": {"Location": {"schema": {"type": "string"}, "example": "/admin/rq/"}}},
                         "401": {"description": "Wrong email or password."},
                         "403": {"description": "The account is not an admin."}}}},
        "/admin/logout": {"post": {
            "tags": ["admin"], "summary": "End the admin browser session.",
            "description": "Clears the session cookie; harmless without one.",
            "responses": {"204": {"description": "Signed out."}}}},
        "/admin/rq/": {"get": {
            "tags": ["admin"], "summary": "rq-dashboard: queues, workers, jobs and dead letters (HTML).",
            "description": "The job console, for an admin's bearer token or browser session (`POST /admin/login`).",
            "security": [{"bearerAuth": []}, {"adminSession": []}], "x-required-role": "admin",
            "responses": {"200": {"description": "The dashboard.", "content": HTML}}}},
        "/openapi.json": {"get": {
            "tags": ["docs"], "summary": "This OpenAPI description.",
            "description": "OpenAPI 3.1, as JSON; never rate limited.",
            "responses": {"200": {"description": "The description.", "content": {"application/json": {
                "schema": {"type": "object"}, "example": {"openapi": "3.1.0", "info": {"title": "Store API"}}}}}}}},
        "/docs": {"get": {
            "tags": ["docs"], "summary": "Swagger UI for this description.",
            "description": "Served with its assets from this server (no CDN); never rate limited.",
            "responses": {"200": {"description": "The page.", "content": HTML}}}},
    }


SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "A token from `POST /api/v1/auth/token`, sent as `Authorization: Bearer <token>`."},
    "metricsToken": {"type": "http", "scheme": "bearer", "description": "`METRICS_TOKEN`, when it is set."},
    "adminSession": {"type": "apiKey", "in": "cookie", "name": "store_admin",
                     "description": "The admin browser session set by `POST /admin/login`."},
}

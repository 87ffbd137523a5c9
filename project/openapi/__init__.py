"""The API's description: OpenAPI 3.1 at ``/openapi.json``, Swagger UI at ``/docs``.

flask-smorest documents each view from its decorators and docstring; this
module completes the result once per app (``build``): the front matter
(``info``), every operation's security, error answers and headers
(``operations``), body examples composed from field examples (``examples``),
and the plain Flask routes smorest does not see (``extra_paths``). The
finished document is rendered to bytes once and served from memory.

Swagger UI's assets come from the ``flask-swagger-ui`` package and are served
by this app under ``/docs/assets/`` (no CDN: users behind firewalls have none).
"""

import json
from importlib.resources import files

from flask import Blueprint, current_app, send_from_directory

from project.observability.problems import PROBLEMS
from project.openapi import examples, extra_paths, fields, info, operations, problems

ASSETS = str(files("flask_swagger_ui") / "dist")
METHODS = ("get", "put", "post", "patch", "delete")
assets_blp = Blueprint("docs_assets", __name__, url_prefix="/docs/assets")


@assets_blp.get("/<path:filename>")
def asset(filename):
    """One of Swagger UI's files, cached by browsers for a day (they change only with the package)."""
    return send_from_directory(ASSETS, filename, max_age=86400)


def build(app, spec):
    """The finished OpenAPI document of ``app``, as a dict."""
    document = spec.to_dict()
    document["info"] = info.info(app.config)
    document["servers"] = info.SERVERS
    for path, item in extra_paths.paths().items():
        document["paths"].setdefault(path, item)
    components = document.setdefault("components", {})
    for kind, found in problems.components().items():
        components.setdefault(kind, {}).update(found)
    components["securitySchemes"] = extra_paths.SECURITY_SCHEMES
    components.pop("responses", None)  # flask-smorest's Error answers: every error is a Problem instead
    components["schemas"].pop("Error", None)
    components["schemas"].pop("PaginationMetadata", None)
    # RegisterSchema checks the length against the setting at run time; say so, with this app's value.
    components["schemas"]["Register"]["properties"]["password"]["minLength"] = app.config["PASSWORD_MIN_LENGTH"]
    for parameter in document["paths"]["/problems/{slug}"].get("parameters", []):
        if parameter["name"] == "slug":  # the catalogue is closed: name its slugs
            parameter["schema"]["enum"] = list(PROBLEMS)
    used = set()
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operations.document(app, path, method, item[method])
                examples.add_examples(document, item[method])
                used.update(item[method].get("tags", []))
    document["tags"] = info.tags(used)
    return document


def spec_json(app=None):
    """The finished document as JSON bytes, built on first use and kept for the app's lifetime."""
    app = app or current_app
    state = app.extensions["openapi"]
    if state.get("json") is None:
        state["json"] = json.dumps(build(app, state["spec"]), indent=1).encode()
    return state["json"]


def serve_spec():
    """``GET /openapi.json``: this app's document (never the spec of another app in the process)."""
    return current_app.response_class(spec_json(), mimetype="application/json")


def init_app(app):
    """Right after ``api.init_app``: keep this app's spec, map our fields, serve the document and the UI assets."""
    from project.extensions import api

    app.extensions["openapi"] = {"spec": api.spec, "json": None}  # the one Api object re-specs for each app
    fields.register(api)
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"deepLinking": True, "displayRequestDuration": True,
                                                        "docExpansion": "list", "persistAuthorization": False})
    app.view_functions["api-docs.openapi_json"] = serve_spec
    app.register_blueprint(assets_blp)

"""The OpenAPI description: valid, complete, and true to what the app really answers."""

import re
from html.parser import HTMLParser

import jsonschema
import pytest
from openapi_spec_validator import validate

from project.openapi import examples
from project.version import VERSION
from tests.problems import assert_problem

METHODS = ("get", "put", "post", "patch", "delete")
# Routes that are not API operations: static files, the docs' own assets, rq-dashboard's internals.
UNDOCUMENTED = re.compile(r"/static/.*|/docs/assets/.*|/admin/rq/.+")
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def spec(app):
    document = app.test_client().get("/openapi.json").get_json()
    assert document is not None
    return document


def operations(spec):
    """Every ``(path, method, operation)`` of the spec."""
    return [(path, method, item[method]) for path, item in spec["paths"].items() for method in METHODS
            if method in item]


def fill(path):
    """A concrete URL for a templated path (IDs that exist in no table)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_spec_is_valid_openapi_3_1(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_info_says_what_a_client_needs(spec, app):
    info = spec["info"]
    assert info["title"] == "Store API" and info["version"] == VERSION
    for topic in ("## Authentication", "POST /api/v1/auth/token", "## Rate limits", "RateLimit-Policy",
                  "## Errors", "application/problem+json", "reference_id", "X-Request-ID", "traceparent"):
        assert topic in info["description"], topic
    assert info["contact"]["email"] and info["license"]["name"]
    assert spec["servers"] == [{"url": "/", "description": spec["servers"][0]["description"]}]
    described = {tag["name"]: tag["description"] for tag in spec["tags"]}
    used = {tag for _, _, operation in operations(spec) for tag in operation["tags"]}
    assert used == set(described) and all(described.values())
    blueprints = {name for name in app.blueprints if name not in ("api-docs", "docs_assets", "rq_dashboard")}
    assert blueprints <= set(described)


def test_every_route_of_the_app_is_in_the_spec(app, spec):
    documented = {(re.sub(r"\{[^}]+\}", "*", path), method.upper()) for path, method, _ in operations(spec)}
    missing = []
    for rule in app.url_map.iter_rules():
        if UNDOCUMENTED.fullmatch(rule.rule):
            continue
        path = re.sub(r"<[^>]+>", "*", rule.rule)
        missing += [(rule.rule, m) for m in sorted(rule.methods - {"HEAD", "OPTIONS"}) if (path, m) not in documented]
    assert not missing


def test_every_operation_has_a_summary_a_description_and_its_security(spec):
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("summary") and operation.get("description"), where
        assert "security" in operation, where
        if operation.get("x-required-role") == "admin":
            assert "Admin only" in operation["description"], where


def test_request_and_success_bodies_have_complete_examples(spec):
    for path, method, operation in operations(spec):
        bodies = [("request", operation["requestBody"])] if "requestBody" in operation else []
        bodies += [("response", answer) for status, answer in operation["responses"].items() if status[0] == "2"]
        for direction, body in bodies:
            for media_type, media in body.get("content", {}).items():
                where = f"{method.upper()} {path} {direction} {media_type}"
                assert "example" in media, where
                if "json" in media_type and media["schema"] != {"type": "object"}:
                    assert examples.missing(spec, media["schema"], media["example"], direction=direction) == [], where
                    jsonschema.validate(media["example"], {**media["schema"], "components": spec["components"]})


def test_every_operation_documents_its_errors_as_problems(spec):
    for path, method, operation in operations(spec):
        where, answers = f"{method.upper()} {path}", operation["responses"]
        expected = {"default"}
        if path.startswith("/api/"):
            expected |= {"401", "403", "429", "503"}
        if "requestBody" in operation:
            expected |= {"413"} | ({"400", "415", "422"} if path.startswith("/api/") else set())
        if "{" in path:
            expected.add("404")
        if operation.get("x-required-role") == "admin":
            expected |= {"401", "403"}
        assert expected <= set(answers), (where, expected - set(answers))
        for status, answer in answers.items():
            assert "X-Request-ID" in answer["headers"], (where, status)
            if status == "default" or int(status) >= 400:
                media = answer["content"][PROBLEM_JSON]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
                assert media["examples"], (where, status)
                for example in media["examples"].values():
                    slug = example["$ref"].rsplit("/", 1)[-1]
                    assert status == "default" or spec["components"]["examples"][slug]["value"]["status"] == int(status)
            if status in ("429", "503"):
                assert "Retry-After" in answer["headers"], (where, status)
        if "429" in answers:
            assert {"RateLimit", "RateLimit-Policy", "X-RateLimit-Remaining"} <= set(answers["429"]["headers"])
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert set(token["429"]["content"][PROBLEM_JSON]["examples"]) == {"quota-exceeded", "sign-in-locked"}
    order = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert set(order["409"]["content"][PROBLEM_JSON]["examples"]) == {"insufficient-stock", "idempotency-key-in-flight"}


def test_product_reads_document_etags_and_304(spec):
    for path in ("/api/v1/products", "/api/v1/products/{product_id}"):
        operation = spec["paths"][path]["get"]
        assert {"ETag", "Cache-Control"} <= set(operation["responses"]["200"]["headers"])
        assert "content" not in operation["responses"]["304"]
        assert "If-None-Match" in {p["name"] for p in operation["parameters"]}


def test_prices_are_documented_as_the_strings_they_are(spec, ctx, client):
    from tests.builders import make_product

    price = spec["components"]["schemas"]["Product"]["properties"]["price"]
    assert price["type"] == "string" and "minimum" not in price
    product = client.get(f"/api/v1/products/{make_product(price='12.50')['id']}").get_json()
    jsonschema.validate(product, {**spec["components"]["schemas"]["Product"], "components": spec["components"]})


def test_documented_security_is_what_the_app_enforces(spec, ctx, client, customer):
    for path, method, operation in operations(spec):
        if not path.startswith("/api/"):
            continue
        where, url = f"{method.upper()} {path}", fill(path)
        anonymous = client.open(url, method=method.upper(), json={} if "requestBody" in operation else None)
        if operation["security"]:
            assert_problem(anonymous, 401)
        else:
            assert anonymous.status_code != 401, where
        if operation.get("x-required-role") == "admin":
            denied = client.open(url, method=method.upper(), headers=customer["headers"],
                                 json={} if "requestBody" in operation else None)
            assert_problem(denied, 403)


def test_real_errors_match_the_problem_schema(spec, client):
    schema = {**spec["components"]["schemas"]["Problem"], "components": spec["components"]}
    for response in (client.get("/api/v1/products/999"), client.get("/api/v1/products?limit=0"),
                     client.post("/api/v1/orders"), client.post("/api/v1/auth/token", data="{",
                                                                content_type="application/json")):
        assert response.mimetype == PROBLEM_JSON
        jsonschema.validate(response.get_json(), schema)
    for example in spec["components"]["examples"].values():
        jsonschema.validate(example["value"], schema)


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_docs_page_loads_only_local_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    parser = _Assets()
    parser.feed(page.get_data(as_text=True))
    assert len(parser.urls) >= 3, parser.urls
    for url in parser.urls:
        assert url.startswith("/docs/assets/"), url  # no CDN: this server serves every file the page needs
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.data) > 1000, url
        assert asset.mimetype in ("text/css", "text/javascript", "application/javascript"), url
    assert "/openapi.json" in page.get_data(as_text=True)


def test_the_spec_is_built_once_and_served_from_memory(app, client):
    first = client.get("/openapi.json")
    assert first.data is not None and first.data == client.get("/openapi.json").data
    assert app.extensions["openapi"]["json"] == first.data


# --- regressions found by Schemathesis (tests/functional/test_openapi_fuzz.py) -----------------------------


@pytest.mark.parametrize("body", ["[null, null]", '"admin@example.com"', "3"])
def test_admin_sign_in_with_json_that_is_not_an_object_is_a_401_not_a_500(client, body):
    response = client.post("/admin/login", data=body, content_type="application/json")
    assert_problem(response, 401)


def test_the_documented_password_length_is_the_configured_one(spec, app):
    password = spec["components"]["schemas"]["Register"]["properties"]["password"]
    assert password["minLength"] == app.config["PASSWORD_MIN_LENGTH"]

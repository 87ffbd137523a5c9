"""The cache's pure parts: settings, key prefixes, list-key normalisation, ETags."""

import pytest
from flask import Flask

from project.caching.catalogue import list_entry
from project.caching.responses import etag_of
from project.caching.store import release_name
from project.config import ConfigError, load_config

BASE = {"APP_ENV": "test", "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://127.0.0.1:1/0"}


def configured(**settings):
    app = Flask(__name__)
    load_config(app, {**BASE, **settings})
    return app.config


def test_cache_defaults():
    config = configured()
    assert (config["CACHE_ENABLED"], config["CACHE_PRODUCT_TTL"], config["CACHE_LIST_TTL"],
            config["CACHE_HTTP_MAX_AGE"], config["CACHE_WARM_TOP"]) == (True, 300, 60, 30, 50)


@pytest.mark.parametrize(("name", "value"), [
    ("CACHE_PRODUCT_TTL", 0), ("CACHE_LIST_TTL", -5), ("CACHE_WARM_TOP", 0), ("CACHE_HTTP_MAX_AGE", -1),
    ("CACHE_LOCK_SECONDS", 0), ("CACHE_SOCKET_TIMEOUT", -0.1), ("CACHE_PRODUCT_TTL", True), ("CACHE_ENABLED", "maybe"),
])
def test_bad_cache_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        configured(**{name: value})


def test_cache_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("CACHE_LIST_TTL", "15")
    monkeypatch.setenv("CACHE_ENABLED", "off")
    monkeypatch.setenv("CACHE_LOCK_SECONDS", "0.5")
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    app = Flask(__name__)
    load_config(app)
    assert (app.config["CACHE_LIST_TTL"], app.config["CACHE_ENABLED"], app.config["CACHE_LOCK_SECONDS"]) == \
        (15, False, 0.5)


def test_the_release_in_keys_is_the_version_and_the_known_commit():
    assert release_name({"VERSION": "1.2.0", "COMMIT": "unknown"}) == "1.2.0"
    assert release_name({"VERSION": "1.2.0", "COMMIT": "3f2c1e9a8b7c6d5e4f"}) == "1.2.0+3f2c1e9a8b7c"


def entry_for(query):
    with Flask(__name__).test_request_context(f"/api/v1/products?{query}"):
        return list_entry({})


def test_list_keys_ignore_order_defaults_and_unknown_arguments():
    assert entry_for("") == entry_for("limit=20&offset=0&sort=id") == entry_for("junk=1&utm_source=x")
    assert entry_for("category=home&q=lamp") == entry_for("q=lamp&category=home&limit=20")
    assert entry_for("category=home") != entry_for("category=kitchen") != entry_for("")
    assert entry_for("limit=5") != entry_for("offset=5")
    assert entry_for("category=home&category=kitchen") == entry_for("category=home")  # the first, as webargs reads
    assert len(entry_for("q=" + "x" * 5000)) < 60  # hashed: a long query cannot make a long key


def test_etags_are_strong_and_follow_the_body():
    assert etag_of(b'{"a": 1}') == etag_of(b'{"a": 1}') != etag_of(b'{"a": 2}')
    assert etag_of(b"x").startswith('"') and not etag_of(b"x").startswith('W/')

"""StoreFlask: Flask's answers kept (``ensure_sync``), sessions opened without a signer when there is no cookie."""

import flask

from project.app_class import StoreFlask


def make_app():
    app = StoreFlask(__name__)
    app.secret_key = "test-secret"

    @app.get("/write")
    def write():
        flask.session["who"] = "admin"
        return "ok"

    @app.get("/read")
    def read():
        return {"who": flask.session.get("who"), "new": flask.session.new, "empty": not flask.session}

    return app


def test_a_session_written_is_read_back_and_no_cookie_is_an_empty_session():
    client = make_app().test_client()
    assert client.get("/read").get_json() == {"who": None, "new": False, "empty": True}
    client.get("/write")
    assert client.get("/read").get_json()["who"] == "admin"


def test_a_tampered_cookie_is_an_empty_session_as_in_flask():
    client = make_app().test_client()
    client.set_cookie("session", "not-a-signed-value")
    assert client.get("/read").get_json()["who"] is None


def test_without_a_secret_key_sessions_stay_unavailable_as_in_flask():
    app = make_app()
    app.secret_key = None
    assert app.session_interface.open_session(app, flask.Request.from_values("/read")) is None


def test_ensure_sync_answers_once_per_callable_and_keeps_a_bounded_memo(monkeypatch):
    app = make_app()
    asked = []
    original = flask.Flask.ensure_sync

    def counting(self, func):
        asked.append(func)
        return original(self, func)

    monkeypatch.setattr(flask.Flask, "ensure_sync", counting)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/read").status_code == 200
    assert len(asked) == len(set(asked))  # each hook and view asked about once, however many requests

    monkeypatch.setattr(StoreFlask, "SYNC_MEMO_SIZE", len(app._sync_memo))  # noqa: SLF001
    fresh = [lambda: None for _ in range(5)]
    assert [app.ensure_sync(func) for func in fresh] == fresh
    assert len(app._sync_memo) == StoreFlask.SYNC_MEMO_SIZE  # noqa: SLF001 - full: per-request callables not kept

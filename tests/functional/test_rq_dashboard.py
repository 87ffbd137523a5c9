"""rq-dashboard at /admin/rq: admins only (bearer token or a browser session from /admin/login)."""

import pytest

from tests.builders import TEST_PASSWORD, make_user
from tests.problems import assert_problem

PAGES = ["/admin/rq/", "/admin/rq/0/view/workers", "/admin/rq/0/data/queues.json",
         "/admin/rq/0/data/workers.json", "/admin/rq/static/css/main.css"]


def sign_in_browser(client, email, password=TEST_PASSWORD, **headers):
    return client.post("/admin/login", data={"email": email, "password": password}, headers=headers)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_gets_401_with_a_challenge(client, ctx, path):
    response = client.get(path)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", PAGES)
def test_a_customer_gets_403(client, customer, path):
    assert_problem(client.get(path, headers=customer["headers"]), 403)


def test_a_bad_token_is_401_not_anonymous(client, ctx):
    assert_problem(client.get("/admin/rq/", headers={"Authorization": "Bearer nope"}), 401)


@pytest.mark.parametrize("path", PAGES)
def test_an_admin_token_opens_every_page(client, admin, path):
    response = client.get(path, headers=admin["headers"])

    assert response.status_code == 200, response.get_data(as_text=True)[:500]


def test_the_json_pages_show_the_queues_and_jobs(client, admin):
    from project import tasks
    from tests import jobs

    job = tasks.enqueue(jobs.tick, "dashboard", queue="high")
    for queue in ("default", "low"):
        tasks.enqueue(jobs.tick, queue=queue)

    queues = client.get("/admin/rq/0/data/queues.json", headers=admin["headers"]).get_json()["queues"]
    detail = client.get(f"/admin/rq/0/data/job/{job.id}.json", headers=admin["headers"])

    assert {queue["name"]: queue["count"] for queue in queues} == {"high": 1, "default": 1, "low": 1}
    assert detail.status_code == 200 and detail.get_json()["id"] == job.id


def test_an_admin_signs_in_with_a_browser_session(client, ctx):
    admin = make_user(role="admin")

    response = sign_in_browser(client, admin["email"])

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/rq/")
    cookie = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/admin"):
        assert attribute in cookie
    assert TEST_PASSWORD not in cookie
    assert client.get("/admin/rq/").status_code == 200
    assert client.get("/admin/rq/0/data/queues.json").status_code == 200


def test_the_login_form_takes_no_credentials_in_the_url(client, ctx):
    response = client.get("/admin/login")

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'method="post"' in response.get_data(as_text=True)


def test_a_wrong_password_is_401(client, ctx):
    admin = make_user(role="admin")

    assert_problem(sign_in_browser(client, admin["email"], "wrong password!"), 401)
    assert_problem(client.get("/admin/rq/"), 401)


def test_a_customer_cannot_sign_in_to_the_admin_pages(client, ctx):
    customer = make_user()

    assert_problem(sign_in_browser(client, customer["email"]), 403)
    assert_problem(client.get("/admin/rq/"), 401)


def test_a_demoted_admin_loses_the_session_at_once(client, ctx):
    from project import db

    admin = make_user(role="admin")
    sign_in_browser(client, admin["email"])
    db.fetch_one("UPDATE users SET role = 'customer' WHERE id = %s RETURNING id", (admin["id"],))

    assert_problem(client.get("/admin/rq/"), 403)


def test_logout_ends_the_session(client, ctx):
    admin = make_user(role="admin")
    sign_in_browser(client, admin["email"])

    assert client.post("/admin/logout").status_code == 204
    assert_problem(client.get("/admin/rq/"), 401)


def test_a_cross_site_dashboard_action_is_refused(client, ctx):
    from project import tasks
    from tests import jobs

    tasks.enqueue(jobs.tick)
    admin = make_user(role="admin")
    sign_in_browser(client, admin["email"])

    response = client.post("/admin/rq/queue/default/compact", headers={"Origin": "https://evil.example",
                                                                        "Sec-Fetch-Site": "cross-site"})

    assert_problem(response, 403)
    same_site = client.post("/admin/rq/queue/default/compact", headers={"Origin": "http://localhost"})
    assert same_site.status_code == 200

"""Two instances behave as one service: limits, blocks, cache, jobs and metrics are shared.

Each check speaks from an X-Forwarded-For address of its own (the cluster
trusts one proxy hop), so limits and blocks of one cannot touch another.
"""

import time

from rq.job import Job

from project import tasks
from project.redis_client import get_redis
from tests.system import helpers, jobs
from tests.system.load import Load, call, send


def test_a_rate_limit_of_n_allows_n_requests_in_total_across_both_instances(cluster):
    ip = helpers.client_ip()  # anonymous: limited by IP, RATELIMIT_ANONYMOUS = 10/minute
    statuses = [send(cluster.urls[i % 2], "GET", "/api/v1/products", headers={"X-Forwarded-For": ip}).status
                for i in range(16)]
    assert statuses.count(200) == 10 and statuses.count(429) == 6, statuses
    assert statuses[:10] == [200] * 10  # the 11th is refused, whichever instance it reaches


def test_an_ip_blocked_through_one_instance_is_refused_by_the_other(cluster, on_cluster):
    user, _ = helpers.customer()
    ip, first, other = helpers.client_ip(), *cluster.urls
    for _ in range(3):  # SECURITY_BLOCK_THRESHOLD failed sign-ins, all on the first instance
        answer = send(first, "POST", "/api/v1/auth/token", headers={"X-Forwarded-For": ip},
                      body={"email": user["email"], "password": "wrong password!"})
        assert answer.status in (401, 403), answer.body
    refused = send(other, "GET", "/api/v1/products", headers={"X-Forwarded-For": ip})
    assert refused.status == 403 and "retry-after" in refused.headers, refused.body
    assert send(other, "GET", "/api/v1/products", headers={"X-Forwarded-For": helpers.client_ip()}).status == 200


def test_a_product_updated_through_one_instance_is_never_served_stale_by_the_other(cluster, on_cluster):
    _, token = helpers.customer(role="admin")
    auth = {"Authorization": f"Bearer {token}"}
    (product,) = helpers.products(1)
    for round_ in range(12):
        writer, reader = cluster.urls[round_ % 2], cluster.urls[(round_ + 1) % 2]
        for url in cluster.urls:  # both instances have it cached before the update
            assert send(url, "GET", f"/api/v1/products/{product}", headers=auth).status == 200
        price = f"{10 + round_}.50"
        updated = send(writer, "PATCH", f"/api/v1/products/{product}", headers=auth, body={"price": price})
        assert updated.status == 200, updated.body
        for url in (reader, writer):
            assert send(url, "GET", f"/api/v1/products/{product}", headers=auth).body["price"] == price
        listed = send(reader, "GET", "/api/v1/products?limit=100", headers=auth).body["items"]
        assert [item["price"] for item in listed if item["id"] == product] == [price]


def test_each_job_runs_exactly_once_whichever_worker_takes_it(cluster, on_cluster):
    keys = [f"once-{index}" for index in range(40)]
    enqueued = [tasks.enqueue(jobs.record, key, 0.05) for key in keys]

    deadline = time.monotonic() + 90
    while not all(job.get_status(refresh=True) == "finished" for job in enqueued):
        assert time.monotonic() < deadline, [job.get_status() for job in enqueued]
        time.sleep(0.2)
    runs = jobs.runs()
    assert sorted(key for key, _ in runs if key.startswith("once-")) == sorted(keys)
    workers = {Job.fetch(job.id, connection=get_redis()).worker_name for job in enqueued}
    print(f"jobs taken by {len(workers)} workers")  # usually both; either one may take any job


def test_metrics_of_both_instances_add_up_to_the_load_sent(cluster, on_cluster, load_seconds):
    route = "/api/v1/products/<id:product_id>"
    _, token = helpers.customer()
    (product,) = helpers.products(1)
    before = sum(helpers.requests_counted(helpers.scrape(url), route) for url in cluster.urls)

    def reads(urls):
        yield call(urls, "GET", f"/api/v1/products/{product}", headers={"Authorization": f"Bearer {token}"})

    with Load(cluster.urls, reads, threads=4) as load:
        time.sleep(min(load_seconds, 5))
    answered = [outcome for outcome in load.outcomes if outcome.final and outcome.final.status == 200]
    assert answered and len(answered) == len(load.outcomes)
    after = sum(helpers.requests_counted(helpers.scrape(url), route) for url in cluster.urls)
    assert after - before == sum(len(outcome.attempts) for outcome in load.outcomes)

"""System tests: two gunicorn instances and two RQ workers on one PostgreSQL and one Valkey, under load and faults."""

"""WSGI entry point: ``gunicorn wsgi:app``."""

from project import create_app

app = create_app()

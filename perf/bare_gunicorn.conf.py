"""gunicorn settings of the bare yardstick app: gunicorn's defaults, sync workers, nothing of the store's.

Without a ``--config`` of its own, gunicorn would read ``gunicorn.conf.py`` from the
working directory, and the "bare" app would carry the store's JSON access log,
worker recycling and metrics hooks: no longer a yardstick.
"""

worker_class = "sync"  # as the store's gunicorn.conf.py

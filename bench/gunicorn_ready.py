"""Gunicorn config for the bench: only a hook that logs when a worker has loaded its app.

The load generator's keep-alive connections stay with whichever worker accepted them, so they
must not be opened while one of the two workers is still importing the app (it would get
none). bench/run.py waits for one READY line per worker. No serving setting is changed here.
"""

READY = "bench: worker ready"


def post_worker_init(worker):
    worker.log.info("%s pid=%s", READY, worker.pid)

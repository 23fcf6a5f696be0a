"""Gunicorn config for the bench, which bench/run.py hands to the Procfile's web line through
GUNICORN_CMD_ARGS. It changes nothing about how requests are served:

- a hook logs when a worker has loaded its app. The load generator's keep-alive connections
  stay with whichever worker accepted them, so they must not be opened while one of the two
  workers is still importing the app (it would get none). bench/run.py waits for one READY
  line per worker.
- no control socket. Gunicorn >= 25.1 creates one at a fixed per-user path
  (~/.gunicorn/gunicorn.ctl) and unlinks whatever is there on start and on stop, so the
  bench's servers would take it away from any other gunicorn of the same user on this machine.
"""

READY = "bench: worker ready"
control_socket_disable = True


def post_worker_init(worker):
    worker.log.info("%s pid=%s", READY, worker.pid)

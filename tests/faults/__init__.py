"""Fault-injection suite: the Procfile's real web, worker and scheduler processes on private
PostgreSQL, Redis and ChromaDB servers that the tests kill, stop and restart under load.

Run it alone with `.venv/bin/pytest tests/faults` (about a minute and a half on 2 cores; as root
it runs PostgreSQL as the `pgserver` user, creating it if needed). FAULTS_REPORT=file appends one
JSON object of figures per scenario; FAULTS_KEEP=1 keeps the servers' data and process logs.
See harness.py for the pieces and conftest.py for the fixtures.
"""

"""The Procfile as deployed: ChromaDB holds every user's events (quit reasons included) and its
server checks no credentials, so the Procfile (and `challenges dev`, which runs it) binds it to
loopback only."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from jobs.dev import procfile_commands
from jobs.local_servers import free_port, wait_for_port

LOOPBACK = {"127.0.0.1", "::1"}


def listening_addresses(port: int) -> set[str]:
    return {conn.laddr.ip for conn in psutil.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port}


def test_the_procfiles_chromadb_listens_on_loopback_only(tmp_path):
    # Given the Procfile's chroma line, run as a deployment runs it
    port = free_port()
    env = dict(os.environ, CHROMA_PATH=str(tmp_path / "chroma"), CHROMA_PORT=str(port),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    process = subprocess.Popen(["sh", "-c", procfile_commands()["chroma"]], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # When it is up
        wait_for_port(port, "the Procfile's chroma")

        # Then it listens on loopback and nowhere else
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK, addresses
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

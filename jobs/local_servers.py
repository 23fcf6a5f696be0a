"""Servers started on this machine for development, tests and benchmarks: a free port, waiting
for one to listen, and ChromaDB's own `chroma run` over a directory."""

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start listening on port {port}")


class ChromaServer:
    """`chroma run` (installed with the chromadb package) on `port` over a temporary directory;
    stop and start keep the data, remove deletes it."""

    def __init__(self, port: int):
        self.port, self.path, self.process = port, tempfile.mkdtemp(prefix="wc-chroma-"), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ChromaServer":
        chroma_cli = Path(sys.executable).parent / "chroma"
        command = [str(chroma_cli), "run", "--path", self.path, "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, "chroma run")
        return self

    def stop(self) -> None:
        if self.process is None:  # never started
            return
        self.process.terminate()
        self.process.wait(timeout=30)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

"""A small closed-loop HTTP/1.1 load generator: one keep-alive socket per thread.

It speaks HTTP on raw sockets instead of using http.client because on a 2-core machine the
client shares the CPU with the server under test: http.client parses headers with the email
package, several times the cost of the split below, and that cost would come off the server.
Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from bench.harness.stats import summary

HOST = "127.0.0.1"
SOCKET_TIMEOUT_SECONDS = 30


def build_request(method: str, path: str, port: int, headers: dict | None = None,
                  body: bytes = b"") -> bytes:
    """The request's bytes, built once up front so the timed loop only sends them."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server will close the connection."""
    status_line, *lines = head.split(b"\r\n")
    fields = {}
    for line in lines:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().lower()
    if b"transfer-encoding" in fields:
        raise ValueError("chunked responses are not supported by this client")
    close = fields.get(b"connection") == b"close"
    return int(status_line.split(b" ", 2)[1]), int(fields.get(b"content-length", b"0")), close


class Connection:
    """One keep-alive connection to 127.0.0.1; opens again after the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def open(self) -> None:
        self.sock = socket.create_connection((HOST, self.port), timeout=SOCKET_TIMEOUT_SECONDS)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request and read its whole response: (status, body)."""
        if self.sock is None:
            self.open()
        try:
            self.sock.sendall(raw)
            status, length, close = parse_head(self._take_until(b"\r\n\r\n"))
            body = self._take(length)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        self.buffer += chunk

    def _take_until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            self._fill()
        taken, self.buffer = self.buffer[:end], self.buffer[end + len(marker):]
        return taken

    def _take(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._fill()
        taken, self.buffer = self.buffer[:length], self.buffer[length:]
        return taken


@dataclass
class LoadResult:
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        done = len(self.latencies)
        return {"requests": done, "seconds": round(self.elapsed, 3),
                "requests_per_second": round(done / self.elapsed, 1) if self.elapsed else None,
                **summary([seconds * 1000 for seconds in self.latencies]),
                "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
                "errors": len(self.errors), "first_errors": self.errors[:3]}


def run_load(port: int, requests: list[bytes], concurrency: int, max_seconds: float,
             on_response=None, on_connected=None) -> LoadResult:
    """Send every request once from `concurrency` threads, each on its own connection, until
    all are sent or `max_seconds` have passed. Closed loop: a thread sends its next request
    when the previous answer is in, so latency is never hidden by unbounded queueing.

    Connections are opened before the clock starts; `on_connected(client_ports)` then sees them
    all. `on_response(status, body, received_at, request)` runs in the sending thread right
    after each response (received_at is time.perf_counter(), request the bytes sent, so a
    caller can tell which job answered). Whatever a thread raises (a callback's complaint
    included) ends the run and is raised here, never lost with the thread.
    """
    pending = deque(requests)
    client_ports: list[int] = []
    start_line = threading.Barrier(
        concurrency + 1, action=on_connected and (lambda: on_connected(client_ports)))
    results = [LoadResult() for _ in range(concurrency)]
    failures: list[BaseException] = []

    def run_thread(result: LoadResult) -> None:
        try:
            send_all(result)
        except BaseException as failure:
            failures.append(failure)
            pending.clear()
            start_line.abort()

    def send_all(result: LoadResult) -> None:
        connection = Connection(port)
        connection.open()
        client_ports.append(connection.sock.getsockname()[1])
        start_line.wait()
        deadline = time.perf_counter() + max_seconds
        while time.perf_counter() < deadline:
            try:
                raw = pending.popleft()
            except IndexError:
                break
            sent_at = time.perf_counter()
            try:
                status, body = connection.request(raw)
            except (OSError, ValueError) as error:
                result.errors.append(f"{type(error).__name__}: {error}")
                continue
            received_at = time.perf_counter()
            result.latencies.append(received_at - sent_at)
            result.statuses[status] += 1
            if on_response is not None:
                on_response(status, body, received_at, raw)
        connection.close()

    threads = [threading.Thread(target=run_thread, args=(result,), daemon=True) for result in results]
    for thread in threads:
        thread.start()
    try:
        start_line.wait()
    except threading.BrokenBarrierError:
        pass
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    total = LoadResult(elapsed=time.perf_counter() - started)
    for result in results:
        total.latencies += result.latencies
        total.statuses += result.statuses
        total.errors += result.errors
    return total

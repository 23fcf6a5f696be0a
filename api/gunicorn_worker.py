"""gunicorn's threaded worker, answering the requests it refuses itself as problem+json.

Before the app sees a request, gunicorn refuses what it cannot read: a request line longer than
`limit_request_line` (414), a header too large or too many of them (431), a malformed request line
or header (400). It answers those with an HTML page; clients of this API, generated from its
OpenAPI document, expect application/problem+json with a `code` for every error. This worker
lets gunicorn decide the status as it always does, keeps its page, and sends the problem instead.
"""

import json

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from api.errors import CODES_BY_STATUS, ERROR_TYPE


class UnsentPage:
    """Stands in for the client's socket while gunicorn writes its error page: keeps the bytes."""

    def __init__(self):
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # gunicorn writes "non-blocking": straight to sendall

    def sendall(self, data: bytes) -> None:
        self.data += data


class ProblemThreadWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        page = UnsentPage()
        super().handle_error(req, page, addr, exc)
        status_line = page.data.split(b"\r\n", 1)[0].decode("latin-1")
        _, status, reason = status_line.split(" ", 2)
        try:
            util.write_nonblock(client, problem_response(int(status), reason, self.detail(int(status), exc)))
        except Exception:  # the client went away: gunicorn would not mind either
            self.log.debug("Failed to send error message.")

    def detail(self, status: int, exc: BaseException) -> str:
        if status == 414:
            return f"The request line (method, path and query) may be at most {self.cfg.limit_request_line} bytes."
        if status == 431:
            return (f"A header may be at most {self.cfg.limit_request_field_size} bytes, and a request may "
                    f"have at most {self.cfg.limit_request_fields} of them.")
        if status >= 500:
            return "The server could not handle the request."
        return f"The request could not be read as HTTP: {exc}"


def problem_response(status: int, reason: str, detail: str) -> bytes:
    """A whole HTTP response carrying an RFC 9457 problem, closing the connection (gunicorn could
    not read where this request ends)."""
    code = CODES_BY_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
    body = json.dumps({"type": ERROR_TYPE + code, "title": reason, "status": status, "detail": detail,
                       "code": code}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body

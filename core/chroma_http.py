"""chromadb's HTTP client with a bound on every request to ChromaDB.

chromadb's own waits for the server without one (its httpx session's timeout is None), so a
frozen server (SIGSTOP, a paused VM, a network that drops packets) holds its caller for as long
as it stays frozen, from the client's first request, made while it is created, on. This client
sets its session's timeout before that first request (chromadb has no setting for it and builds
only its own HTTP classes from settings). It reaches into chromadb's `_server._session`:
tests/core/test_event_log_frozen.py fails if a chromadb upgrade moves it.

Its own module, imported only when a client is made: it imports chromadb, which an API process
otherwise loads only once insights are asked for.
"""

import httpx
from chromadb.api.client import Client

CONNECT_SECONDS = 1.0


class BoundedClient(Client):
    def __init__(self, timeout: float, **kwargs):
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_SECONDS))
        super().__init__(**kwargs)

    def get_user_identity(self):
        """chromadb's first request as it creates a client: the session is bounded from here on."""
        self._server._session.timeout = self._timeout
        return super().get_user_identity()

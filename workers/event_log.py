"""The event log: every outbox event as a sentence in ChromaDB, upserted by the event's id, so
indexing an event twice (a redelivery, a sweep after a crash) still leaves one document.

An event is marked `indexed_at` in PostgreSQL in the same transaction that read it, after
ChromaDB took it; when ChromaDB is down nothing is marked, the actor retries, and the
scheduler's sweep hands on whatever is still unmarked once it is back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from sql import queries

Q = queries("workers")
UNITS = {"lb": "lbs", "kg": "kg"}


def number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def volume(stats: dict) -> str:
    return f"{number(stats['total_volume'])} {UNITS[stats['volume_unit']]}"


def minutes(stats: dict) -> str:
    return f"{number(stats['duration_minutes'])} min"


def sentence(event: dict) -> str:
    """The event in the seed's words, e.g. "Sarah beat John's 'Beast Mode Legs' challenge
    (28 min vs 35 min, 12500 lbs vs 10000 lbs)"."""
    p, kind = event["payload"], event["event_type"]
    challenger, challenged = event["from_name"] or "Someone", event["to_name"] or "someone"
    workout, target, attempt = f"'{p['workout_name']}'", p.get("target"), p.get("attempt")
    if kind == "challenge_created" and p.get("activity_id"):
        return (f"{challenged} took on {challenger}'s {workout} from the feed: BEAT THIS "
                f"({minutes(target)}, {volume(target)})")
    if kind == "challenge_created":
        return f"{challenger} challenged {challenged} to {workout} ({minutes(target)}, {volume(target)})"
    if kind == "challenge_completed":
        versus = f"({minutes(attempt)} vs {minutes(target)}, {volume(attempt)} vs {volume(target)})"
        if p["did_beat"]:
            return f"{challenged} beat {challenger}'s {workout} challenge {versus}"
        return f"{challenged} attempted {challenger}'s {workout} challenge but fell short {versus}"
    if kind == "challenge_abandoned":
        return f"{challenged} abandoned challenge from {challenger} for {workout} with reason: {p['quit_reason']}"
    return {
        "challenge_accepted": f"{challenged} accepted {challenger}'s challenge {workout}",
        "challenge_declined": f"{challenged} declined {challenger}'s challenge {workout}",
        "challenge_retried": f"{challenged} RETRIED challenge against {challenger} for {workout} (not giving up!)",
        "challenge_expired": f"{challenger}'s challenge to {challenged} for {workout} expired unanswered",
        "challenge_withdrawn": f"{challenger} withdrew the challenge to {challenged} for {workout}",
    }[kind]


def metadata(event: dict) -> dict:
    """What insights filter on. ChromaDB takes no nulls, so absent values are left out."""
    p = event["payload"]
    actor = event["actor_id"] and str(event["actor_id"])
    participants = (p["from_user_id"], p["to_user_id"])
    values = {
        "event_type": event["event_type"],
        "actor_id": actor,
        "other_user_id": next((u for u in participants if u != actor), None) if actor else None,
        "from_user_id": p["from_user_id"],
        "to_user_id": p["to_user_id"],
        "challenge_id": p["challenge_id"],
        "workout_name": p["workout_name"],
        "did_beat": p.get("did_beat"),
        "retry_number": p.get("retry_number", 0),
        "quit_reason": p.get("quit_reason"),
        "beat_this": bool(p.get("activity_id")) and event["event_type"] == "challenge_created",
        "created_at": event["created_at"].timestamp(),
    }
    return {key: value for key, value in values.items() if value is not None}


class EventLogUnavailable(Exception):
    """ChromaDB cannot be reached; the events wait in PostgreSQL."""


@dataclass(frozen=True)
class Entry:
    id: str
    document: str
    metadata: dict


def entry(event: dict) -> Entry:
    return Entry(str(event["id"]), sentence(event), metadata(event))


class EventLog:
    """One ChromaDB collection over HTTP, opened on first use (ChromaDB may start after us)."""

    def __init__(self, url: str, collection: str, embedding):
        self.url, self.collection_name, self.embedding = url, collection, embedding
        self._collection = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings) -> "EventLog":
        from workers.embeddings import load_embedding

        return cls(settings.chroma_url, settings.chroma_collection, load_embedding(settings.embedding_function))

    def client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        parts = urlsplit(self.url)
        try:
            return chromadb.HttpClient(host=parts.hostname, port=parts.port or 8000,
                                       ssl=parts.scheme == "https",
                                       settings=ChromaSettings(anonymized_telemetry=False))
        except ValueError as error:  # how chromadb reports a server it cannot reach
            raise EventLogUnavailable(f"ChromaDB at {self.url}: {error}") from error

    @property
    def collection(self):
        with self._lock:
            if self._collection is None:
                collection = self.client().get_or_create_collection(
                    self.collection_name, embedding_function=None,
                    metadata={"hnsw:space": "cosine", "embedding": self.embedding.name})
                used = (collection.metadata or {}).get("embedding")
                if used != self.embedding.name:
                    raise RuntimeError(f"collection {self.collection_name} holds {used} vectors, not "
                                       f"{self.embedding.name}: run `challenges reindex`")
                self._collection = collection
            return self._collection

    def upsert(self, entries: list[Entry]) -> None:
        from chromadb.errors import NotFoundError

        if not entries:
            return
        rows = dict(ids=[e.id for e in entries], documents=[e.document for e in entries],
                    metadatas=[e.metadata for e in entries],
                    embeddings=self.embedding([e.document for e in entries]))
        try:
            self.collection.upsert(**rows)
        except NotFoundError:  # `challenges reindex` dropped the collection we had open
            self.forget()
            self.collection.upsert(**rows)

    def forget(self) -> None:
        with self._lock:
            self._collection = None

    def reset(self) -> None:
        """An empty collection for this embedding (what `challenges reindex` starts from)."""
        client = self.client()
        if self.collection_name in [c.name for c in client.list_collections()]:
            client.delete_collection(self.collection_name)
        self.forget()


def index_events(conn, log: EventLog, event_ids: list[str]) -> int:
    """Put the given events (those not yet indexed) into the log and mark them."""
    with conn.transaction():
        events = list(Q.events_to_index(conn, ids=event_ids))
        log.upsert([entry(event) for event in events])
        Q.mark_events_indexed(conn, ids=[event["id"] for event in events])
    return len(events)


def reindex(conn, log: EventLog, batch_size: int = 500) -> int:
    """Rebuild the collection from the events table, oldest first. Every event is first marked
    not indexed, so if this stops half-way the scheduler's sweep finishes the job."""
    with conn.transaction():
        Q.mark_all_events_unindexed(conn)
    log.reset()
    indexed, cursor_at, cursor_id = 0, None, None
    while True:
        with conn.transaction():
            events = list(Q.events_page(conn, cursor_at=cursor_at, cursor_id=cursor_id, limit=batch_size))
            log.upsert([entry(event) for event in events])
            Q.mark_events_indexed(conn, ids=[event["id"] for event in events])
        indexed += len(events)
        if len(events) < batch_size:
            return indexed
        cursor_at, cursor_id = events[-1]["created_at"], events[-1]["id"]

"""The event log: every outbox event as a sentence in ChromaDB, upserted by the event's id, so
indexing an event twice (a redelivery, a sweep after a crash) still leaves one document.

Events are indexed in batches, oldest first: one embedding call, one kinds lookup (for names not
seen before) and one upsert per batch. An event is marked `indexed_at` in PostgreSQL in the same
transaction that read it, after ChromaDB took it; when ChromaDB is down nothing is marked and
the events wait in PostgreSQL until the indexer's next turn (workers/events.py).

Next to the events, a second collection keeps each user's timeline: the ids of their newest
RECENT_EVENTS events, rewritten with every batch that has one of theirs. Search ranks exactly
those, fetched by id: a read ChromaDB answers in time bounded by the timeline, whereas any read
filtered by metadata scans the whole collection and the user's whole history (docs/event-log.md,
"Search").
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from core.quit_reasons import categories
from core.workout_kinds import examples
from sql import queries

Q = queries("core")
TOKEN_HEADER = "X-Chroma-Token"
# Workout names whose kind a process remembers; past that it starts over (names repeat a lot:
# "Leg Day" is challenged again and again).
KINDS_REMEMBERED = 10_000
UNITS = {"lb": "lbs", "kg": "kg"}
# Every request to ChromaDB is answered within this many seconds or fails as unavailable
# (CHROMA_TIMEOUT_SECONDS; core/chroma_http.py); after such a failure ChromaDB is left alone
# for CHROMA_RESTING_SECONDS, every call failing at once, then the next call tries it again.
CHROMA_TIMEOUT_SECONDS = 2.0
CHROMA_RESTING_SECONDS = 5
# How many of a user's newest events their timeline keeps, so how many search ranks: fetching
# 500 vectors by id and ranking them takes about 35 ms (bench/event_log/search.py, BENCHMARKS.md).
RECENT_EVENTS = 500
# The metadata keys that name the users an event belongs to.
PARTICIPANT_KEYS = ("from_user_id", "to_user_id", "user_id")
# ChromaDB stores a vector with every record; timelines are only ever read by id, so all share it.
TIMELINE_VECTOR = [1.0]


def number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def volume(stats: dict) -> str:
    return f"{number(stats['total_volume'])} {UNITS[stats['volume_unit']]}"


def minutes(stats: dict) -> str:
    return f"{number(stats['duration_minutes'])} min"


def is_community(event: dict) -> bool:
    return event["event_type"].startswith("community_")


def community_sentence(event: dict) -> str:
    """A community event, e.g. "Dan reached 50% of '20 Workouts in 30 Days' (10 of 20 workouts)"."""
    p, kind = event["payload"], event["event_type"]
    who, challenge, unit = event["user_name"] or "Someone", f"'{p['challenge_name']}'", p["unit"]
    if kind == "community_joined":
        return (f"{who} joined the community challenge {challenge} "
                f"({number(p['target'])} {unit} in {p['duration_days']} days)")
    progress = f"({number(p['total'])} of {number(p['target'])} {unit})"
    if kind == "community_milestone":
        return f"{who} reached {p['milestone']}% of {challenge} {progress}"
    return f"{who} completed the community challenge {challenge} {progress} and earned {p['points']} points"


def sentence(event: dict) -> str:
    """The event in the seed's words, e.g. "Sarah beat John's 'Beast Mode Legs' challenge
    (28 min vs 35 min, 12500 lbs vs 10000 lbs)"."""
    if is_community(event):
        return community_sentence(event)
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
        return (f"{challenged} abandoned {challenger}'s challenge {workout} and did not finish it. "
                f"Reason: {p['quit_reason']}")
    return {
        "challenge_accepted": f"{challenged} accepted {challenger}'s challenge {workout}",
        "challenge_declined": f"{challenged} declined {challenger}'s challenge {workout}",
        "challenge_retried": f"{challenged} RETRIED challenge against {challenger} for {workout} (not giving up!)",
        "challenge_expired": f"{challenger}'s challenge to {challenged} for {workout} expired unanswered",
        "challenge_withdrawn": f"{challenger} withdrew the challenge to {challenged} for {workout}",
    }[kind]


def quit_progress(payload: dict) -> float | None:
    """How far into the target the athlete was when they quit (0 to 1), from partial_stats."""
    partial, target = payload.get("partial_stats"), payload.get("target")
    if not partial or not target:
        return None
    for done, goal in ((partial["total_volume_kg"], target["total_volume_kg"]),
                       (partial["duration_minutes"], target["duration_minutes"])):
        if goal > 0:
            return round(min(done / goal, 1.0), 3)
    return None


def community_metadata(event: dict) -> dict:
    p = event["payload"]
    return {"event_type": event["event_type"], "actor_id": p["user_id"], "user_id": p["user_id"],
            "community_challenge_id": p["community_challenge_id"], "challenge_name": p["challenge_name"],
            "challenge_type": p["challenge_type"], "milestone": p.get("milestone", 0),
            "created_at": event["created_at"].timestamp()}


def metadata(event: dict, workout_kind: str | None = None) -> dict:
    """What insights filter on. ChromaDB takes no nulls, so absent values are left out."""
    if is_community(event):
        return community_metadata(event)
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
        "workout_kind": workout_kind,
        "did_beat": p.get("did_beat"),
        "retry_number": p.get("retry_number", 0),
        "quit_reason": p.get("quit_reason"),
        "quit_progress": quit_progress(p) if event["event_type"] == "challenge_abandoned" else None,
        "beat_this": bool(p.get("activity_id")) and event["event_type"] == "challenge_created",
        "created_at": event["created_at"].timestamp(),
    }
    return {key: value for key, value in values.items() if value is not None}


class EventLogUnavailable(Exception):
    """ChromaDB cannot be reached; the events wait in PostgreSQL."""


class EventLogTimedOut(EventLogUnavailable):
    """ChromaDB did not answer in time: frozen, or too busy to be worth waiting for."""


def timed_out(error: BaseException) -> bool:
    """Whether a timeout is what caused `error` (chromadb wraps some in a ValueError)."""
    import httpx

    while error is not None:
        if isinstance(error, httpx.TimeoutException):
            return True
        error = error.__cause__ or error.__context__
    return False


@dataclass(frozen=True)
class Entry:
    id: str
    document: str
    metadata: dict


def entry(event: dict, workout_kind: str | None = None) -> Entry:
    return Entry(str(event["id"]), sentence(event), metadata(event, workout_kind))


def of_user(user_id: str) -> dict:
    """The ChromaDB filter for the friend-challenge events a user takes part in, on either side."""
    return {"$or": [{"from_user_id": user_id}, {"to_user_id": user_id}]}


def participants(metadata: dict) -> list[str]:
    """The users an event belongs to: both sides of a friend challenge, the athlete of a
    community one."""
    return [metadata[key] for key in PARTICIPANT_KEYS if key in metadata]


def timeline(metadata: dict | None) -> list[tuple[float, str]]:
    """A timeline record's (created_at, event id) pairs, oldest first; none for a user without one."""
    return [(at, event_id) for at, event_id in json.loads(metadata["events"])] if metadata else []


def newest(events: list[tuple[float, str]], count: int) -> list[tuple[float, str]]:
    """The newest `count` of (created_at, event id) pairs, each once, oldest first: an event
    indexed twice (a redelivery) or late (published after newer ones) lands where it belongs."""
    return sorted(set(events))[-count:]


def rows(ids, documents, metadatas) -> list[dict]:
    """ChromaDB's parallel lists as one dict per document."""
    return [{"id": doc_id, "document": document, "metadata": meta}
            for doc_id, document, meta in zip(ids, documents, metadatas)]


class EventLog:
    """The events collection and the workout-kinds collection over HTTP, opened on first use
    (ChromaDB may start after us). `load_embedding` is called once, on first use too, so an API
    process that never serves insights never loads a model."""

    def __init__(self, url: str, collection: str, load_embedding, token: str = "",
                 recent: int = RECENT_EVENTS, timeout: float = CHROMA_TIMEOUT_SECONDS):
        from circuitbreaker import CircuitBreaker

        self.url, self.collection_name, self.kinds_name = url, collection, f"{collection}-kinds"
        self.timeout = timeout
        self._guarded_call = CircuitBreaker(failure_threshold=1, recovery_timeout=CHROMA_RESTING_SECONDS,
                                            expected_exception=EventLogTimedOut,
                                            name=f"chromadb {url} {collection}")(self._call_once)
        self.timelines_name, self.recent = f"{collection}-recent", recent
        self._load_embedding, self._embedding = load_embedding, None
        # ChromaDB's own token header, for the proxy that guards the server (docs/operations.md,
        # "Production").
        self.headers = {TOKEN_HEADER: token} if token else {}
        self._collections: dict[str, object] = {}
        self._kinds: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings) -> "EventLog":
        from core.embeddings import load_embedding

        return cls(settings.chroma_url, settings.chroma_collection,
                   partial(load_embedding, settings.embedding_function), settings.chroma_auth_token,
                   timeout=settings.chroma_timeout_seconds)

    @property
    def embedding(self):
        with self._lock:
            if self._embedding is None:
                self._embedding = self._load_embedding()
            return self._embedding

    def client(self):
        from chromadb.config import Settings as ChromaSettings

        from core.chroma_http import BoundedClient

        parts = urlsplit(self.url)
        try:
            return BoundedClient(self.timeout, settings=ChromaSettings(
                chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host=parts.hostname,
                chroma_server_http_port=parts.port or 8000, chroma_server_ssl_enabled=parts.scheme == "https",
                chroma_server_headers=self.headers, anonymized_telemetry=False))
        except ValueError as error:  # how chromadb reports a server it cannot reach
            unavailable = EventLogTimedOut if timed_out(error) else EventLogUnavailable
            raise unavailable(f"ChromaDB at {self.url}: {error}") from error

    def heartbeat(self, timeout: float) -> None:
        """Raises EventLogUnavailable unless ChromaDB answers within `timeout` seconds."""
        import httpx

        try:
            httpx.get(f"{self.url}/api/v2/heartbeat", headers=self.headers, timeout=timeout).raise_for_status()
        except httpx.HTTPError as error:
            raise EventLogUnavailable(f"ChromaDB at {self.url}: {error}") from error

    def _open(self, name: str):
        """The cached handle, or a new one. Opening talks to ChromaDB outside the lock, so one
        slow call cannot hold up every thread; two threads opening at once both get a handle
        to the same collection (opening is idempotent) and the first is kept."""
        with self._lock:
            collection = self._collections.get(name)
        if collection is None:
            collection = self._fetch(name)
            with self._lock:
                collection = self._collections.setdefault(name, collection)
        return collection

    def _fetch(self, name: str):
        collection = self.client().get_or_create_collection(
            name, embedding_function=None, metadata={"hnsw:space": "cosine", "embedding": self.embedding.name})
        used = (collection.metadata or {}).get("embedding")
        if used != self.embedding.name:
            raise RuntimeError(f"collection {name} holds {used} vectors, not "
                               f"{self.embedding.name}: run `challenges reindex`")
        if name == self.kinds_name:
            self._add_kind_examples(collection)
        return collection

    @property
    def collection(self):
        return self._open(self.collection_name)

    def _add_kind_examples(self, collection) -> None:
        ids, phrases, kinds = zip(*examples())
        collection.upsert(ids=list(ids), documents=list(phrases), embeddings=self.embedding(list(phrases)),
                          metadatas=[{"kind": kind} for kind in kinds])

    def _call(self, name: str, operation):
        """`operation(collection)`, unless ChromaDB failed to answer in time within the last
        CHROMA_RESTING_SECONDS (the circuit is open: EventLogUnavailable at once, so a burst of
        requests does not queue on a server known to be frozen). A server that refuses the
        connection fails fast by itself, and is asked again as soon as it is back."""
        from circuitbreaker import CircuitBreakerError

        try:
            return self._guarded_call(name, operation)
        except CircuitBreakerError:
            raise EventLogUnavailable(f"ChromaDB at {self.url}: not asked again for "
                                      f"{CHROMA_RESTING_SECONDS} s after it failed to answer") from None

    def _call_once(self, name: str, operation):
        """`operation(collection)`, once more on a fresh client and handle if the first try
        failed because `challenges reindex` dropped the collection we had open or because
        ChromaDB restarted under our pooled connections (not when it timed out: a second wait
        would only double the first); unreachable is EventLogUnavailable."""
        import httpx
        from chromadb.errors import NotFoundError

        try:
            try:
                return operation(self._open(name))
            except httpx.TimeoutException:
                raise
            except (NotFoundError, httpx.TransportError):
                self.forget()
                return operation(self._open(name))
        except httpx.TimeoutException as error:
            raise EventLogTimedOut(f"ChromaDB at {self.url}: {type(error).__name__} {error}") from error
        except httpx.TransportError as error:
            raise EventLogUnavailable(f"ChromaDB at {self.url}: {type(error).__name__} {error}") from error
        except Exception as error:
            # chromadb raises a bare Exception for an HTTP error it has no class for: a proxy's
            # 502 while ChromaDB is down, or its 401. Its own errors and ours stay as they are.
            if type(error) is not Exception:
                raise
            raise EventLogUnavailable(f"ChromaDB at {self.url}: {error}") from error

    def upsert(self, entries: list[Entry]) -> None:
        """The events, then their participants' timelines. Indexing transactions take turns
        (workers.sql `lock_event_log`), so no two rewrite one timeline at once."""
        if not entries:
            return
        documents = [e.document for e in entries]
        batch = dict(ids=[e.id for e in entries], documents=documents,
                     metadatas=[e.metadata for e in entries], embeddings=self.embedding(documents))
        self._call(self.collection_name, lambda collection: collection.upsert(**batch))
        self._call(self.timelines_name, lambda timelines: self._add_to_timelines(timelines, entries))

    def _add_to_timelines(self, timelines, entries: list[Entry]) -> None:
        """Each participant's timeline with the entries added, keeping the newest `recent`:
        one read and one write for the whole batch."""
        added = defaultdict(list)
        for e in entries:
            for user in participants(e.metadata):
                added[user].append((e.metadata["created_at"], e.id))
        users = sorted(added)
        found = timelines.get(ids=users, include=["metadatas"])
        kept = dict(zip(found["ids"], found["metadatas"]))
        updated = [newest(timeline(kept.get(user)) + added[user], self.recent) for user in users]
        timelines.upsert(ids=users, embeddings=[TIMELINE_VECTOR] * len(users),
                         metadatas=[{"events": json.dumps(events)} for events in updated])

    def workout_kinds(self, names) -> dict[str, str | None]:
        """Each workout name's kind. A name's kind depends only on the examples and the model,
        both fixed for the life of the process, so each name is looked up once."""
        names = set(names)
        with self._lock:
            known = {name: self._kinds[name] for name in names if name in self._kinds}
        new = sorted(names - known.keys())
        if new:
            found = self._nearest_kinds(new)
            with self._lock:
                if len(self._kinds) + len(found) > KINDS_REMEMBERED:
                    self._kinds.clear()
                self._kinds.update(found)
            known.update(found)
        return known

    def _nearest_kinds(self, names: list[str]) -> dict[str, str | None]:
        """The kind of each name's nearest example, if near enough: one query for them all."""
        found = self._call(self.kinds_name, lambda kinds: kinds.query(
            query_embeddings=self.embedding(names), n_results=1, include=["metadatas", "distances"]))
        nearest = zip(found["metadatas"], found["distances"])
        return {name: metas[0]["kind"] if distances and distances[0] <= self.embedding.kind_distance else None
                for name, (metas, distances) in zip(names, nearest)}

    def get(self, where: dict, documents: bool = True) -> list[dict]:
        include = ["documents", "metadatas"] if documents else ["metadatas"]
        found = self._call(self.collection_name, lambda collection: collection.get(where=where, include=include))
        return rows(found["ids"], found["documents"] or [None] * len(found["ids"]), found["metadatas"])

    def recent_ids(self, user_id: str) -> list[str]:
        """The ids of the user's newest `recent` events, oldest first, from their timeline."""
        found = self._call(self.timelines_name, lambda timelines: timelines.get(
            ids=[user_id], include=["metadatas"]))
        mine = timeline(found["metadatas"][0]) if found["ids"] else []
        return [event_id for _, event_id in mine[-self.recent:]]

    def nearest(self, text: str, user_id: str, limit: int) -> list[dict]:
        """The user's newest `recent` events ranked by similarity to `text`, the nearest `limit`
        first. Exact over those, and bounded by them however long the user's history: their
        vectors are fetched by id and ranked here, then only the nearest are read whole. Not
        ChromaDB's filtered query: that one reads the user's whole history and is approximate,
        so where their events are a small part of the collection it can leave some of them out
        whatever `n_results` asks for (chroma-core/chroma#5367)."""
        import numpy

        ids = self.recent_ids(user_id)
        if not ids:
            return []
        [query] = self.embedding([text])
        found = self._call(self.collection_name, lambda collection: collection.get(ids=ids, include=["embeddings"]))
        if not found["ids"]:
            return []
        distances = 1.0 - numpy.asarray(found["embeddings"], dtype=numpy.float32) @ numpy.asarray(
            query, dtype=numpy.float32)  # cosine distance: the vectors have unit length
        best = [(found["ids"][i], float(distances[i])) for i in numpy.argsort(distances, kind="stable")[:limit]]
        return self._described(best)

    def _described(self, ranked: list[tuple[str, float]]) -> list[dict]:
        """Rows for (event id, distance) pairs, in their order, with documents and metadata
        (one that `challenges reindex` dropped in between is left out)."""
        found = self._call(self.collection_name, lambda collection: collection.get(
            ids=[event_id for event_id, _ in ranked], include=["documents", "metadatas"]))
        described = {row["id"]: row for row in rows(found["ids"], found["documents"], found["metadatas"])}
        return [{**described[event_id], "distance": distance} for event_id, distance in ranked
                if event_id in described]

    def forget(self) -> None:
        with self._lock:
            self._collections.clear()

    def reset(self) -> None:
        """Empty collections for this embedding (what `challenges reindex` starts from)."""
        client = self.client()
        existing = {c.name for c in client.list_collections()}
        for name in (self.collection_name, self.kinds_name, self.timelines_name):
            if name in existing:
                client.delete_collection(name)
        self.forget()


# What the worker's lag metric is told of each batch: its events' creation times.
Indexed = Callable[[list[datetime]], None]


def ignore_indexed(created: list[datetime]) -> None:
    """What a caller without the workers' metrics (`challenges reindex`, the tests) is told."""


def entries(log: EventLog, events: list[dict]) -> list[Entry]:
    """Friend-challenge events carry the kind of their workout; community events have none."""
    kinds = log.workout_kinds(event["payload"]["workout_name"] for event in events if not is_community(event))
    return [entry(event, None if is_community(event) else kinds[event["payload"]["workout_name"]])
            for event in events]


def record_for_the_crowd(conn, log: EventLog, batch: list[Entry]) -> None:
    """What the crowd's figures need that only the indexer knows, in its transaction: the kind of
    each workout it embedded, and the category of each custom quit reason (core/quit_reasons.py)."""
    kinds = {e.metadata["workout_name"]: e.metadata["workout_kind"] for e in batch if "workout_kind" in e.metadata}
    if kinds:
        Q.remember_workout_kinds(conn, names=list(kinds), kinds=list(kinds.values()))
    quit_ids = [e.metadata["challenge_id"] for e in batch if e.metadata["event_type"] == "challenge_abandoned"]
    quits = list(Q.unclassified_quits(conn, ids=quit_ids)) if quit_ids else []
    if quits:
        Q.classify_quits(conn, ids=[quit["id"] for quit in quits],
                         categories=categories(log.embedding, [quit["quit_reason"] for quit in quits]))


def index_batch(conn, log: EventLog, limit: int, indexed: Indexed = ignore_indexed) -> int:
    """Put the oldest published events not yet in the log, at most `limit`, into it and mark
    them; how many there were. `indexed` is told when they were created, after the commit."""
    with conn.transaction():
        Q.lock_event_log(conn)
        events = list(Q.events_to_index(conn, limit=limit))
        batch = entries(log, events)
        log.upsert(batch)
        record_for_the_crowd(conn, log, batch)
        Q.mark_events_indexed(conn, ids=[event["id"] for event in events])
    indexed([event["created_at"] for event in events])
    return len(events)


def index_pending(conn, log: EventLog, batch_size: int, until: float = math.inf,
                  after_batch=lambda: None, indexed: Indexed = ignore_indexed) -> bool:
    """Index batch after batch: True once none is left, False when `until` (a time.monotonic()
    value) passed first. `after_batch` runs after each full batch."""
    while index_batch(conn, log, batch_size, indexed) == batch_size:
        after_batch()
        if time.monotonic() >= until:
            return False
    return True


def has_events_to_index(conn) -> bool:
    with conn.transaction():
        return Q.has_events_to_index(conn)


def reindex(conn, log: EventLog, batch_size: int = 500) -> int:
    """Rebuild the collection from the events table, oldest first. Every event is first marked
    not indexed, so if this stops half-way the scheduler's sweep finishes the job."""
    with conn.transaction():
        Q.mark_all_events_unindexed(conn)
    log.reset()
    indexed, cursor_at, cursor_id = 0, None, None
    while True:
        with conn.transaction():
            Q.lock_event_log(conn)
            events = list(Q.events_page(conn, cursor_at=cursor_at, cursor_id=cursor_id, limit=batch_size))
            batch = entries(log, events)
            log.upsert(batch)
            record_for_the_crowd(conn, log, batch)
            Q.mark_events_indexed(conn, ids=[event["id"] for event in events])
        indexed += len(events)
        if len(events) < batch_size:
            return indexed
        cursor_at, cursor_id = events[-1]["created_at"], events[-1]["id"]

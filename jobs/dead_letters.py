"""Dead letters: the messages Dramatiq gave up on, seen, retried or purged by an operator.

Where Dramatiq's Redis broker keeps them (dramatiq/brokers/redis/dispatch.lua, `nack`): when a
message fails for good (retries exhausted, a fault not worth retrying, an actor this worker does
not know), its Redis message id goes into the sorted set `<ns>:<queue>.XQ`, scored by when it
died (ms), and its body, as it was last queued, into the hash `<ns>:<queue>.XQ.msgs`. Messages of
the delay queue `<queue>.DQ` die into `<queue>.XQ` too. Nothing reads them again: a worker's
maintenance deletes them `dead_message_ttl` (7 days) after they died.

The body is the message as last queued; the broker's KeepFinalError middleware writes the final
attempt's traceback (`options["traceback"]`) into it once it is dead. A command's own failure is
also in its job (`<ns>:job:<id>`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable
from uuid import uuid4

from dramatiq import Message
from dramatiq.brokers.redis import DEFAULT_DEAD_MESSAGE_TTL

DEAD = ".XQ"
DELAYED = ".DQ"
# The options Dramatiq counts attempts and schedules a retry by: a retried dead letter starts
# afresh, with every retry of its actor ahead of it.
RETRY_STATE = ("retries", "traceback", "requeue_timestamp", "eta")
PURGE_BATCH = 1000
UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
DURATION = re.compile(r"^(\d+)([smhd])$")
ERROR_WIDTH = 100

# Back on its queue only if it is still dead with the body we read: of two operators retrying
# one letter (or one retrying while another purges), exactly one moves it; the move itself is
# one script, so a letter is never both queued and dead, nor neither.
RETRY_SCRIPT = """
if redis.call("hget", KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call("zrem", KEYS[1], ARGV[1])
redis.call("hdel", KEYS[2], ARGV[1])
redis.call("hset", KEYS[4], ARGV[3], ARGV[4])
redis.call("rpush", KEYS[3], ARGV[3])
return 1
"""
# One batch of the letters that died at or before ARGV[1], set and bodies together.
PURGE_SCRIPT = """
local ids = redis.call("zrangebyscore", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, ARGV[2])
for _, id in ipairs(ids) do
    redis.call("zrem", KEYS[1], id)
    redis.call("hdel", KEYS[2], id)
end
return #ids
"""


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    redis_id: str
    died_at_ms: int
    body: bytes
    message: Message

    @property
    def message_id(self) -> str:
        return self.message.message_id

    @property
    def job_id(self) -> str | None:
        """Set for a command: its job id, under which the worker carries it out at most once."""
        return self.message.kwargs.get("job_id")

    @property
    def retries(self) -> int:
        return self.message.options.get("retries", 0)


def queue_key(namespace: str, queue: str) -> str:
    return f"{namespace}:{queue}"


def canonical(queue: str) -> str:
    """A delay queue's messages belong to (and die into) its queue."""
    return queue[:-len(DELAYED)] if queue.endswith(DELAYED) else queue


def dead_queues(redis, namespace: str) -> list[str]:
    """Every queue with dead letters, those of actors gone from the code included."""
    prefix = f"{namespace}:"
    keys = redis.scan_iter(match=f"{glob_escape(prefix)}*{DEAD}", count=1000)
    return sorted({_text(key)[len(prefix):-len(DEAD)] for key in keys})


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]*?\\])", r"\\\1", text)


def dead_letters(redis, namespace: str, queue: str | None = None) -> list[DeadLetter]:
    """The dead letters of `queue` (of every queue when None), oldest death first."""
    queues = [queue] if queue else dead_queues(redis, namespace)
    letters = [letter for name in queues for letter in _dead_letters_of(redis, namespace, name)]
    return sorted(letters, key=lambda letter: letter.died_at_ms)


def _dead_letters_of(redis, namespace: str, queue: str) -> Iterable[DeadLetter]:
    dead = queue_key(namespace, queue + DEAD)
    members = redis.zrange(dead, 0, -1, withscores=True)
    if not members:
        return []
    bodies = redis.hmget(dead + ".msgs", [member for member, _ in members])
    return [DeadLetter(queue, _text(member), int(score), body, Message.decode(body))
            for (member, score), body in zip(members, bodies) if body is not None]


def find(letters: Iterable[DeadLetter], message_id: str) -> list[DeadLetter]:
    return [letter for letter in letters if letter.message_id == message_id]


def revived(letter: DeadLetter, redis_id: str) -> Message:
    """The same message (id, actor, arguments) for its queue, its retry count back to zero."""
    message = letter.message
    options = {k: v for k, v in message.options.items() if k not in RETRY_STATE}
    return dataclasses.replace(message, queue_name=canonical(message.queue_name),
                               options={**options, "redis_message_id": redis_id})


def retry(redis, namespace: str, letter: DeadLetter) -> bool:
    """Put `letter` back on its queue; False when it is no longer dead as it was read (retried
    or purged meanwhile), in which case nothing changed."""
    redis_id = str(uuid4())  # a fresh one, as every enqueue has: the old id may linger in acks
    dead, queue = queue_key(namespace, letter.queue + DEAD), queue_key(namespace, letter.queue)
    moved = redis.register_script(RETRY_SCRIPT)(
        keys=[dead, dead + ".msgs", queue, queue + ".msgs"],
        args=[letter.redis_id, letter.body, redis_id, revived(letter, redis_id).encode()])
    return moved == 1


def purge(redis, namespace: str, older_than_ms: int, queue: str | None = None) -> dict[str, int]:
    """Delete the dead letters that died `older_than_ms` ago or earlier; how many, per queue."""
    cutoff = current_millis() - older_than_ms
    script = redis.register_script(PURGE_SCRIPT)
    purged = {}
    for name in [queue] if queue else dead_queues(redis, namespace):
        dead = queue_key(namespace, name + DEAD)
        batches = iter(lambda: script(keys=[dead, dead + ".msgs"], args=[cutoff, PURGE_BATCH]), 0)
        purged[name] = sum(batches)
    return {name: count for name, count in purged.items() if count}


def current_millis() -> int:
    return int(time.time() * 1000)


def duration(text: str) -> int:
    """`7d`, `12h`, `30m` or `45s`, in milliseconds."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 7d, 12h, 30m or 45s")
    return int(match[1]) * UNITS_MS[match[2]]


def age(milliseconds: int) -> str:
    """The two largest units, as an operator reads them: `3d 4h`, `12m 5s`, `40s`."""
    seconds = max(0, milliseconds // 1000)
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m"),
             (seconds % 60, "s")]
    first = next((i for i, (amount, _) in enumerate(parts) if amount), None)
    if first is None:
        return "0s"
    return " ".join(f"{amount}{unit}" for amount, unit in parts[first:first + 2] if amount)


def last_line(traceback: str | None) -> str | None:
    """The exception of a traceback: the first unindented line after its last frame, since an
    exception's message may go on over more lines (PostgreSQL's `LINE 1: ...` and its `^`)."""
    lines = [line for line in (traceback or "").splitlines() if line.strip()]
    frames = [index for index, line in enumerate(lines) if line.lstrip().startswith('File "')]
    after = lines[frames[-1] + 1:] if frames else lines
    exception = [line for line in after if not line[:1].isspace()]
    return exception[0].strip() if exception else None


def error_of(letter: DeadLetter, job: dict | None) -> str:
    """What is known of why it died: a command's failure as its job recorded it (the last
    attempt's, in short), and the exception it died of."""
    job = job or {}
    failure = job.get("error") if job.get("status") == "failed" else None
    parts = []
    if failure:
        dependency = failure.get("dependency")
        parts.append(f"{failure.get('code')} ({dependency})" if dependency else str(failure.get("code")))
    exception = last_line(letter.message.options.get("traceback"))
    if exception:
        parts.append(exception)
    return ": ".join(parts) or "not recorded (see the worker log)"


def describe(letter: DeadLetter, job_of: Callable[[str], dict | None], now_ms: int) -> dict:
    job = job_of(letter.job_id) if letter.job_id else None
    return {"id": letter.message_id, "queue": letter.queue, "actor": letter.message.actor_name,
            "age": age(now_ms - letter.died_at_ms), "age_seconds": (now_ms - letter.died_at_ms) // 1000,
            "died_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(letter.died_at_ms / 1000)),
            "retries": letter.retries, "job_id": letter.job_id, "error": error_of(letter, job),
            "traceback": letter.message.options.get("traceback")}


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A plain text table, one line per row, columns as wide as their widest cell."""
    cells = [[title for title, _ in columns]] + [[_cell(row[key]) for _, key in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in cells)


def _cell(value) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= ERROR_WIDTH else text[:ERROR_WIDTH - 3] + "..."


LIST_COLUMNS = [("ID", "id"), ("QUEUE", "queue"), ("ACTOR", "actor"), ("DIED", "age"),
                ("RETRIES", "retries"), ("JOB", "job_id"), ("ERROR", "error")]


def list_report(redis, namespace: str, job_of: Callable[[str], dict | None], queue: str | None = None,
                as_json: bool = False) -> str:
    now_ms = current_millis()
    rows = [describe(letter, job_of, now_ms) for letter in dead_letters(redis, namespace, queue)]
    if as_json:
        return json.dumps(rows, indent=2)
    where = f" in queue {queue}" if queue else ""
    if not rows:
        return f"no dead letters{where}"
    kept = age(DEFAULT_DEAD_MESSAGE_TTL)
    return (f"{table(rows, LIST_COLUMNS)}\n\n{len(rows)} dead letter(s){where}, oldest first; DIED is how "
            f"long ago. Dramatiq deletes each {kept} after it died.\n"
            "challenges dead-letters retry ID|--all   puts them back on their queue, retries reset\n"
            "challenges dead-letters purge --older-than 7d   deletes them")


def retry_report(redis, namespace: str, message_id: str | None, queue: str | None = None) -> str:
    """Retries the letter with that id (every letter when None); raises SystemExit when there
    is no such letter, so a script sees a failure."""
    letters = dead_letters(redis, namespace, queue)
    if message_id is not None:
        letters = find(letters, message_id)
        if not letters:
            raise SystemExit(f"no dead letter with id {message_id}" + (f" in queue {queue}" if queue else ""))
    lines = [f"re-enqueued {letter.message_id} ({letter.message.actor_name}) on {letter.queue}"
             if retry(redis, namespace, letter) else
             f"left {letter.message_id}: no longer dead as it was read (retried or purged meanwhile)"
             for letter in letters]
    return "\n".join(lines) or "no dead letters to retry"


def purge_report(redis, namespace: str, older_than_ms: int, queue: str | None = None) -> str:
    purged = purge(redis, namespace, older_than_ms, queue)
    per_queue = ", ".join(f"{name} {count}" for name, count in sorted(purged.items()))
    return f"purged {sum(purged.values())} dead letter(s) older than {age(older_than_ms)}" + (
        f": {per_queue}" if per_queue else "")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value

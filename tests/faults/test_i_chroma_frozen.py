"""I. ChromaDB (the event log) frozen (SIGSTOP of `chroma run` and anything it started) for 20 s
under load, then thawed: its connections stay open and nothing answers. The load also reads what
reads the event log (GET /insights, and GET /challenges/{id} as the one challenged, whose
`encouragement` comes from it), and challenges are made while it is frozen. Every request must
still be answered within 3 s (insights a quick 503 naming chromadb, a challenge with
`encouragement: null`), /healthz within 1 s throughout, commands go on exactly once, and every
event reaches the log once it is thawed."""

import threading
import time

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(300)

RIVALS = 4
LOAD_BEFORE = 3.0
CHALLENGES_DURING = 3
LOAD_AFTER = 10.0
INDEXED_WITHIN = 60.0      # the indexer waits out an outage in delays doubling up to 30 s
# Before the fault the log must have caught up. A scenario before may have left the indexer's
# turn taken with no indexer queued (a Redis that executed a timed-out SET NX once thawed, H),
# which clears itself when the turn expires (INDEXING_TURN_MS, 60 s) and the sweep queues one.
READY_WITHIN = 90.0
WARM_UP_ROUNDS = 2
JOBS_CONVERGE_WITHIN = 30.0
# More reads than the usual load, and most of them of the event log.
MIX = (("command_wait", 0.25), ("command", 0.25), ("job", 0.1), ("read", 0.4))


def command(client, user, path, body=None) -> h.Record:
    return h.send(client, "setup", user, "POST", path, json_body=body, wait=5, keep_body=True)


def read_once(base_url: str, user: h.User, path: str) -> h.Record:
    """A read on a connection of its own (gunicorn hands each new connection to a worker)."""
    with h.api_client(base_url, h.FROZEN_CLIENT_TIMEOUT) as fresh:
        return h.send(fresh, "warm-up", user, "GET", path)


class IndexWatch:
    """From the thaw on, notes when the events table first has no event left to index."""

    def __init__(self, servers, timeout: float):
        self.servers, self.timeout, self.done_at = servers, timeout, None
        self.thread = threading.Thread(target=self._run, name="index-watch", daemon=True)

    def _run(self) -> None:
        if h.wait_until(lambda: h.unindexed_events(self.servers)[0] == 0, self.timeout, 0.25):
            self.done_at = h.monotonic()

    def start(self) -> "IndexWatch":
        self.thread.start()
        return self

    def join(self) -> None:
        self.thread.join(self.timeout + 10)


def check_challenge_reads(records: list[h.Record], timeline: h.Timeline) -> list[str]:
    """GET /challenges/{id} answered 200 while the event log was frozen (its `encouragement` left
    out); how long it took is every_answer_within_3s's to say."""
    return [f"at {timeline.when(r)}: {r.describe()}" for r in records
            if r.kind == "challenge_read" and timeline.in_fault(r) and r.status != 200]


def test_i_chroma_frozen_under_load_every_answer_within_3s(healthy, servers, load_users):
    system = healthy
    timeline = h.Timeline("I_chroma_frozen")
    challenger, *rivals = h.sign_up(system.base_url, ["Challenger I"] + [f"Rival I{n}" for n in range(RIVALS)])
    with h.api_client(system.base_url, h.FROZEN_CLIENT_TIMEOUT) as client:
        # Given a challenger with a workout to beat, and friends each with a pending challenge of
        # theirs to read (GET /challenges/{id} asks the event log for their encouragement)
        setup = []
        for rival in rivals:
            setup += [command(client, challenger, "/friends/requests", {"user_id": rival.id}),
                      command(client, rival, f"/friends/requests/{challenger.id}/accept")]
        setup.append(command(client, challenger, "/workouts", h.workout_body("fault-I-target")))
        workout_log_id = (setup[-1].body or {}).get("workout_log_id")
        setup += [command(client, challenger, "/challenges/create",
                          {"to_user_ids": [rival.id], "workout_log_id": workout_log_id}) for rival in rivals]
        assert [r.status for r in setup] == [201, 200] * RIVALS + [201] * (1 + RIVALS), [r.describe() for r in setup]
        challenge_ids = [r.body["challenge_ids"][0] for r in setup[-RIVALS:]]
        # and the event log working and caught up: insights and challenges read, on new
        # connections so that every API process has loaded its embedding model and opened the
        # collections (a process's first read of the log does both, which is not under test)
        warm = [read_once(system.base_url, rival, path) for _ in range(WARM_UP_ROUNDS)
                for rival, challenge_id in zip(rivals, challenge_ids)
                for path in ("/insights", f"/challenges/{challenge_id}")]
        assert all(r.status == 200 for r in warm), [r.describe() for r in warm]
        waited = h.monotonic()
        assert h.wait_until(lambda: h.unindexed_events(servers)[0] == 0, READY_WITHIN, 0.25), \
            f"events not indexed {READY_WITHIN:.0f}s after they were written: the event log was not keeping up"
        waited = h.monotonic() - waited
        if waited > 5:
            system.notes.append(f"the event log needed {waited:.1f}s to index the setup's events")

        reads = ((h.Read("read", "/workouts"),) * 2 + (h.Read("insights", "/insights"),) * RIVALS
                 + tuple(h.Read("challenge_read", f"/challenges/{challenge_id}", rival)
                         for rival, challenge_id in zip(rivals, challenge_ids)))
        load = h.LoadGenerator(system.base_url, load_users, "I", timeout=h.FROZEN_CLIENT_TIMEOUT,
                               reads=reads, mix=MIX)
        jobs = h.JobTracker(system.base_url, [*load_users, challenger])
        healthz = h.Prober(system.base_url, "/healthz", h.HEALTHZ_INTERVAL, "healthz",
                           timeout=h.FROZEN_CLIENT_TIMEOUT)
        during, made = [], []
        # and the system under load, /healthz probed throughout
        with healthz, load:
            try:
                time.sleep(LOAD_BEFORE)
                # When every ChromaDB process is frozen (SIGSTOP) for 20 s
                timeline.fault()
                frozen = h.freeze(servers.chroma)
                # and challenges are made meanwhile (each writes events for the log)
                for n in range(CHALLENGES_DURING):
                    record = h.send(client, "challenge", challenger, "POST", "/challenges/create",
                                    json_body={"to_user_ids": [rivals[n % RIVALS].id],
                                               "workout_log_id": workout_log_id}, keep_body=True)
                    during.append(record)
                    if record.accepted and isinstance(record.body, dict):
                        made += record.body.get("challenge_ids") or []
                jobs.add(during)
                time.sleep(max(0.0, h.FROZEN_FOR - (h.monotonic() - timeline.fault_at)))
                # and thawed (SIGCONT) while the load goes on
                h.thaw(servers.chroma)
                timeline.back()
                index_watch = IndexWatch(servers, INDEXED_WITHIN).start()
                with jobs.watching(load, before=timeline.back_at):
                    time.sleep(LOAD_AFTER)
            finally:
                h.thaw(servers.chroma)
    records = load.records + during
    index_watch.join()
    left, total = h.unindexed_events(servers)
    indexed_after = None if index_watch.done_at is None else round(index_watch.done_at - timeline.back_at, 3)

    # Then every request was answered within 3 s, /healthz within 1 s, no 5xx but 503s naming
    # chromadb, every accepted command done exactly once and every job reads succeeded
    figures, failures = h.evaluate_frozen(timeline, records, healthz.records, system, servers, jobs, load.tag,
                                          dependency="chromadb", job_timeout=JOBS_CONVERGE_WITHIN,
                                          events=indexed_after)
    # and challenges were made, and read (200), while it was frozen
    failures.update({
        "challenges_made_while_frozen": [r.describe() for r in during if r.status not in (201, 202)],
        "challenges_read_while_frozen": check_challenge_reads(records, timeline),
        "events_written_while_frozen": [] if made and h.events_of(servers, made) else [
            "no event was written while ChromaDB was frozen: nothing measured"],
        # and every event reached the log within 60 s of the thaw
        "events_indexed_after_thaw": [] if left == 0 and indexed_after is not None else
        [f"{left} of {total} events still without indexed_at {INDEXED_WITHIN:.0f}s after ChromaDB was thawed"],
    })
    figures.update({"events": total, "events_unindexed": left, "events_indexed_after_s": indexed_after,
                    "frozen_processes": len(frozen)})
    h.report(figures, failures, system.notes)
    h.assert_checks(failures)

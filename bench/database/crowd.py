"""The crowd's figures at scale (issue 27): what the API's reads cost, what a settled challenge
costs with the counters' triggers, alone and with others settling the same workout at once, what
the analytics reports cost, and what the scheduler's crowd jobs cost.

It builds two databases (`wc_bench_crowd_<random>`), one with FIRST challenges and one with
CHALLENGES, each with the same USERS users (in eight time zones) and challenges between them over
the last eight weeks in every status (pending, accepted, declined, expired, completed won or lost,
abandoned with a preset or custom reason, two in three of the quits with `partial_stats`), one in
eight a rematch (chains of up to three rematches: `retried_from_challenge_id`, `is_retry`,
`rematch_number`, `retry_count`). Workout names are WORKOUTS distinct names built from
core/workout_kinds.py's examples, drawn with a Zipf-like popularity (the most popular has about
9 % of all challenges, thousands of athletes: the hot case; the least a handful), one in ten
spelled in lower case or with doubled spaces (the same workout_key), and every workout filed in
`workout_kinds` under its kind, as the indexer would. The challenges are written with the
triggers off, then counted by the scheduler's own reconciliations (the leaderboard's and the
crowd's), as a restore would be. Then:

- **`GET /challenges/{id}`**: `get_challenge` + `crowd_of_workout` and core.rules.crowd.difficulty,
  as the API runs them (its role, Row Level Security on, the caller set), for SAMPLE different
  callers and challenges, a quarter of them on the three hottest workouts: p50 / p99 (target p99
  at most 10 ms);
- **`GET /insights`, the crowd's part**: `crowd_kinds`, `latest_pending_received`,
  `crowd_of_workout` and crowd_insights (every insight asked for), for SAMPLE callers, half of
  them with a pending challenge: p50 / p99 (target for the whole resource 50 ms; the event log's
  part is bench.event_log.insights');
- **analytics**: each report of api/resources/analytics.py over the last 30 days (limit 20), as
  the API runs it (its role, as a member of challenges_analyst): the time of each of ANALYTICS_RUNS
  runs after one untimed (target at most 1 s each); the plan of any slower than half of that;
- **a complete job with live crowd counters / without them**: the worker's own path
  (`run_command` with `complete_challenge`) one job after the other on one connection, on
  workouts drawn like the history's, with the crowd's triggers on and off in 64 alternating
  blocks (target: at most 1.1, the ratio of the means and of the medians);
- **concurrent settles of one hot workout**: THREADS connections each completing challenges of
  the most popular workout, every challenge between two athletes of its own, in alternating
  blocks with the crowd's triggers on and off: jobs/s each way, and the lock waits seen
  (pg_stat_activity sampled every 20 ms: which statement waited, on which relation's row);
- **cost per change**: the crowd's triggers' time on one completion (count_crowd_update, the
  athletes' trigger it fires included), as PostgreSQL times it (`EXPLAIN ANALYZE`), at both
  history sizes, the databases taking turns (target: ratio of the medians at most 1.2);
- **the scheduler's jobs**: reconcile_crowd from nothing (building every counter), refresh_kinds,
  and the steady reconcile_crowd that finds nothing to repair.

The machine's load is sampled every 2 s over the whole run (its busy share, and other databases'
active backends on the shared PostgreSQL), so a contaminated run says so.

    python -m bench.database.crowd                          # 100,000 users, 100k and 1M challenges
    python -m bench.database.crowd --users 5000 --first 10000 --challenges 50000   # a quick try

The databases are dropped at the end, also on error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import psycopg
from psycopg.rows import dict_row

from bench.database.common import Q, owner_connection, spread_callers, timed, user_id, user_id_sql
from bench.harness.cpu import CpuProbe, machine_cpu_ticks
from bench.harness.results import Run
from bench.harness.scratch import ADMIN_URL, scratch_database
from bench.harness.stats import percentile, summary
from core.commands import run_command
from core.db import configure_connection
from core.rules.challenges import QUIT_REASONS, complete_challenge
from core.rules.crowd import CrowdView, crowd_insights, difficulty
from core.settings import API_ROLE, Settings, with_user
from core.workout_kinds import EXAMPLES
from jobs.crowd import reconcile_crowd, refresh_kinds
from jobs.leaderboards import reconcile_counters, reconcile_levels, reconcile_ratings

MIN_ATHLETES = Settings.crowd_min_athletes
CROWD_TRIGGERS = ("count_crowd_insert", "count_crowd_delete", "count_crowd_update")
TIME_ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
              "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo"]
ADJECTIVES = ["Beast Mode", "Killer", "Monday", "Sunday", "Savage", "Quick", "Power", "Iron", "Inferno",
              "Titan", "Morning", "Midnight", "Brutal", "Epic", "Ultimate", "Lightning", "Hardcore",
              "Spartan", "Thunder", "Blazing", "Extreme", "Turbo", "Primal", "Steel", "Warrior", "Nitro",
              "Rocket", "Crusher", "Champion", "Wild", "Fierce", "Rapid", "Heavy", "Storm", "Viking",
              "Atomic", "Cyclone", "Grind", "Hustle", "Legendary", "Mega", "Ninja", "Phoenix", "Rebel",
              "Shadow", "Solar", "Venom", "Zen"]
ANALYTICS_GOAL_MS = 1000
LOCK_SAMPLE_SECONDS = 0.02
LOAD_SAMPLE_SECONDS = 2.0


def workout_names(count: int) -> tuple[list[str], list[str]]:
    """`count` distinct names, most popular first (a fixed shuffle mixes the kinds), and each
    one's kind: "<Adjective> <Example Phrase>", then numbered when the combinations run out."""
    combos = [(kind, phrase) for kind, phrases in EXAMPLES.items() for phrase in phrases]
    names = [(f"{adjective} {phrase.title()}", kind) for adjective in ADJECTIVES for kind, phrase in combos]
    number = 2
    while len(names) < count:
        names += [(f"{name} {number}", kind) for name, kind in names[:len(ADJECTIVES) * len(combos)]]
        number += 1
    random.Random(27).shuffle(names)
    names = names[:count]
    return [name for name, _ in names], [kind for _, kind in names]


USERS = f"""
INSERT INTO users (id, display_name, timezone)
SELECT {user_id_sql("g")}, 'user ' || g, (%(zones)s::text[])[1 + g %% cardinality(%(zones)s::text[])]
  FROM generate_series(1, %(users)s) g
"""

KINDS = """
INSERT INTO workout_kinds (workout_key, kind)
SELECT workout_key(name), kind FROM unnest(%(names)s::text[], %(kinds)s::text[]) AS k (name, kind)
"""

# A workout by its popularity: rank k (1 the most popular) with probability about
# ln((k + 1) / k) / ln(names + 1), from a uniform draw; its spelling (one in ten in lower case or
# with doubled spaces) and its target.
def workout_sql(draw: str) -> str:
    return f"""
       LATERAL (SELECT least(%(workouts)s, floor(exp(((({draw}) %% 1000000) / 1000000.0)
                                                     * ln(%(workouts)s + 1)))::int) AS rank,
                       (({draw}) / 1000000) %% 10 AS spelling) wr,
       LATERAL (SELECT CASE wr.spelling WHEN 0 THEN lower((%(names)s::text[])[wr.rank])
                                        WHEN 1 THEN replace((%(names)s::text[])[wr.rank], ' ', '  ')
                                        ELSE (%(names)s::text[])[wr.rank] END AS name,
                       20 + wr.rank %% 41 AS duration,
                       5000 + (wr.rank * 37 %% 100) * 100 AS volume) w"""


def draw_sql(number: str, salt: int) -> str:
    """A uniform non-negative bigint from a number: its hash, salted."""
    return f"(hashint8(({number}) * 8 + {salt})::bigint + 2147483648)"


def challenge_id_sql(number: str) -> str:
    """Challenge n's id: random-looking (as uuid4s are to the index), but known from n alone, so
    that a rematch can name the round it follows."""
    return f"md5('challenge ' || ({number}))::uuid"


def pair_sql(number: str, sender: str, receiver: str) -> str:
    """Sender and receiver numbers for a challenge number: two different users."""
    return f"""
       LATERAL (SELECT 1 + ({sender}) %% %(users)s AS f, 1 + ({receiver}) %% %(users)s AS t0) p0,
       LATERAL (SELECT p0.f, CASE WHEN p0.t0 = p0.f THEN 1 + p0.t0 %% %(users)s ELSE p0.t0 END AS t) pr"""


# Challenges numbered from %(first)s to %(last)s, in blocks of 50: positions 0-43 are originals,
# 44-47 rematches of originals 0-3, 48 a rematch of 44 (round 2), 49 of 48 (round 3); a round
# followed by a rematch was lost or quit. Each chain shares its original's pair, workout, target
# and time (an original followed by rematches eight hours earlier, each round two hours after the
# one it follows, settled an hour after it was sent). Statuses drawn by a hash of the number: of
# originals, four in nine completed (a third of those lost), one abandoned, two sent (pending, or
# expired when over a week old), one accepted, one declined; a last rematch completed, abandoned or
# still accepted. Settled ones rated in number order (rating_seq), their rating change left empty.
CHALLENGES = f"""
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data, challenger_stats,
                                status, did_beat, challenged_stats, quit_reason, quit_category, partial_stats,
                                accepted_at, completed_at, abandoned_at, declined_at, expired_at,
                                created_at, updated_at, expires_at, is_retry, retried_from_challenge_id,
                                rematch_number, retry_count, rating_seq, rating_change)
SELECT {challenge_id_sql("g")}, {user_id_sql("pr.f")}, {user_id_sql("pr.t")}, w.name, target, target,
       s.status, CASE WHEN s.status = 'completed' THEN s.won END,
       CASE WHEN s.status = 'completed' THEN jsonb_build_object(
           'duration_minutes', round(w.duration * s.pace, 1), 'total_volume', w.volume,
           'volume_unit', 'lb', 'total_volume_kg', round(w.volume * 0.45359237, 3)) END,
       CASE WHEN s.status = 'abandoned' THEN q.reason END,
       CASE WHEN s.status = 'abandoned' THEN q.category END,
       CASE WHEN s.status = 'abandoned' AND q.share IS NOT NULL THEN jsonb_build_object(
           'duration_minutes', round(w.duration * q.share, 1), 'total_volume', round(w.volume * q.share),
           'volume_unit', 'lb', 'total_volume_kg', round(w.volume * q.share * 0.45359237, 3)) END,
       CASE WHEN s.status IN ('accepted', 'completed', 'abandoned') THEN t.at + interval '10 minutes' END,
       CASE WHEN s.status = 'completed' THEN t.at + interval '1 hour' END,
       CASE WHEN s.status = 'abandoned' THEN t.at + interval '1 hour' END,
       CASE WHEN s.status = 'declined' THEN t.at + interval '30 minutes' END,
       CASE WHEN s.status = 'expired' THEN t.at + interval '7 days' END,
       t.at, t.at, t.at + interval '7 days', c.depth > 0,
       CASE WHEN c.depth > 0 THEN {challenge_id_sql("c.pred")} END, c.depth, c.has_rematch::int,
       CASE WHEN s.status IN ('completed', 'abandoned') THEN nextval('rating_seq') END,
       CASE WHEN s.status IN ('completed', 'abandoned') THEN '{{}}'::jsonb END
  FROM generate_series(%(first)s::bigint, %(last)s) g,
       LATERAL (SELECT g %% 50 AS p, g - g %% 50 AS b) pos,
       LATERAL (SELECT pos.b >= %(first)s AS chained) ch,
       LATERAL (SELECT CASE WHEN NOT ch.chained OR pos.p < 44 THEN 0
                            WHEN pos.p < 48 THEN 1 ELSE pos.p - 46 END AS depth,
                       CASE WHEN NOT ch.chained OR pos.p < 44 THEN g
                            WHEN pos.p < 48 THEN pos.b + pos.p - 44 ELSE pos.b END AS r,
                       CASE WHEN NOT ch.chained OR pos.p < 44 THEN NULL
                            WHEN pos.p < 48 THEN pos.b + pos.p - 44
                            WHEN pos.p = 48 THEN pos.b + 44 ELSE pos.b + 48 END AS pred,
                       ch.chained AND (pos.p < 4 OR pos.p IN (44, 48)) AS has_rematch,
                       ch.chained AND (pos.p < 4 OR pos.p >= 44) AS in_chain) c,
       {workout_sql(draw_sql("c.r", 3))},
       {pair_sql("c.r", "c.r * 7919", "c.r * 104729 + 1")},
       LATERAL (SELECT jsonb_build_object('duration_minutes', w.duration, 'total_volume', w.volume,
                                          'volume_unit', 'lb',
                                          'total_volume_kg', round(w.volume * 0.45359237, 3)) AS target) tg,
       LATERAL (SELECT now() - interval '56 days'
                       + ({draw_sql("c.r", 2)} %% 4800) * interval '1 day' / 86.0
                       - CASE WHEN c.in_chain THEN interval '8 hours' ELSE interval '0' END
                       + c.depth * interval '2 hours' AS at) t,
       LATERAL (SELECT {draw_sql("g", 1)} AS d) dr,
       LATERAL (SELECT CASE
                  WHEN c.has_rematch THEN (ARRAY['completed', 'abandoned'])[1 + dr.d %% 2]
                  WHEN c.depth > 0 THEN (ARRAY['completed', 'completed', 'abandoned', 'accepted'])[1 + dr.d %% 4]
                  ELSE (ARRAY['completed', 'completed', 'completed', 'completed', 'abandoned', 'pending',
                              'pending', 'accepted', 'declined'])[1 + dr.d %% 9] END AS drawn,
                       NOT c.has_rematch AND (dr.d / 9) %% 3 <> 0 AS won) s0,
       LATERAL (SELECT CASE WHEN s0.drawn = 'pending' AND t.at <= now() - interval '7 days' THEN 'expired'
                            ELSE s0.drawn END AS status,
                       s0.won,
                       CASE WHEN s0.won THEN 0.85 + ((dr.d / 27) %% 14) / 100.0
                            ELSE 1.01 + ((dr.d / 27) %% 19) / 100.0 END AS pace) s,
       LATERAL (SELECT CASE WHEN (dr.d / 27) %% 7 < 6 THEN (%(reasons)s::text[])[1 + (dr.d / 27) %% 7]
                            ELSE 'My knee started hurting halfway through' END AS reason,
                       CASE WHEN (dr.d / 27) %% 7 < 6 THEN (%(reasons)s::text[])[1 + (dr.d / 27) %% 7]
                            WHEN (dr.d / 189) %% 2 = 0 THEN 'other' END AS category,
                       CASE WHEN (dr.d / 378) %% 3 <> 0 THEN 0.05 + ((dr.d / 1134) %% 90) / 100.0 END AS share) q
 ORDER BY g
"""

# Accepted challenges for the jobs to complete, sent now: on workouts drawn as the history's,
# between spread-out pairs; or all on the most popular workout, each between two athletes of its own.
TO_COMPLETE = f"""
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                challenger_stats, status, accepted_at)
SELECT gen_random_uuid(), {user_id_sql("pr.f")}, {user_id_sql("pr.t")}, w.name, target, target,
       'accepted', now()
  FROM generate_series(1, %(count)s::bigint) g,
       {workout_sql(draw_sql("g + 100000000", 5))},
       {pair_sql("g", "g * 31 + 5", "g * 101")},
       LATERAL (SELECT jsonb_build_object('duration_minutes', w.duration, 'total_volume', w.volume,
                                          'volume_unit', 'lb',
                                          'total_volume_kg', round(w.volume * 0.45359237, 3)) AS target) tg
RETURNING id::text, to_user_id::text, workout_name
"""

TO_COMPLETE_HOT = f"""
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                challenger_stats, status, accepted_at)
SELECT gen_random_uuid(), {user_id_sql("pr.f")}, {user_id_sql("pr.t")}, (%(names)s::text[])[1],
       '{{"duration_minutes": 21, "total_volume": 8700, "volume_unit": "lb", "total_volume_kg": 3946.254}}',
       '{{"duration_minutes": 21, "total_volume": 8700, "volume_unit": "lb", "total_volume_kg": 3946.254}}',
       'accepted', now()
  FROM generate_series(1, %(count)s::bigint) g,
       {pair_sql("g", "2 * g + 1", "2 * g")}
RETURNING id::text, to_user_id::text, workout_name
"""


def seed_params(args, names: list[str]) -> dict:
    return {"users": args.users, "workouts": len(names), "names": names, "reasons": list(QUIT_REASONS),
            "zones": TIME_ZONES}


def build(url: str, args, names: list[str], kinds: list[str], challenges: int) -> dict:
    """Users, kinds and challenges with the triggers off; then the leaderboard's and the crowd's
    reconciliations from nothing, as the scheduler would after a restore, timed."""
    params = seed_params(args, names)
    timings = {}
    with owner_connection(url) as conn:
        started = time.perf_counter()
        conn.execute(USERS, params)
        conn.execute(KINDS, {"names": names, "kinds": kinds})
        conn.execute("ALTER TABLE workout_challenges DISABLE TRIGGER USER")
        conn.execute(CHALLENGES, {**params, "first": 1, "last": challenges})
        conn.execute("ALTER TABLE workout_challenges ENABLE TRIGGER USER")
        conn.execute("VACUUM ANALYZE")
        timings["seed_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        reconcile_counters(conn)
        reconcile_levels(conn)
        reconcile_ratings(conn)
        timings["leaderboard_reconciliation_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        built = reconcile_crowd(conn)
        timings["crowd_reconciliation_from_nothing"] = {"rows_written": built,
                                                       "seconds": round(time.perf_counter() - started, 1)}
        conn.execute("VACUUM ANALYZE")
    return timings


def scheduler_jobs(url: str, runs: int = 3) -> dict:
    """refresh_kinds, then the steady reconcile_crowd (which should repair nothing), each timed."""
    with owner_connection(url) as conn:
        kinds_times, count = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            count = refresh_kinds(conn)
            kinds_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        repaired = reconcile_crowd(conn)
        steady = time.perf_counter() - started
    return {"refresh_kinds": {"kinds": count, "runs_ms": [round(t, 1) for t in kinds_times]},
            "steady_reconciliation": {"repaired": repaired, "seconds": round(steady, 1)}}


def counts(url: str) -> dict:
    with owner_connection(url) as conn:
        row = conn.execute("""
            SELECT (SELECT count(*) FROM workout_challenges) AS challenges,
                   (SELECT count(*) FROM workout_challenges WHERE is_retry) AS rematches,
                   (SELECT count(*) FROM crowd_athletes) AS crowd_athlete_rows,
                   (SELECT count(*) FROM crowd_workouts) AS crowd_workout_rows,
                   (SELECT count(DISTINCT workout_key) FROM crowd_workouts) AS workouts_counted,
                   (SELECT count(*) FROM crowd_kinds) AS kinds""").fetchone()
        statuses = {r["status"]: r["n"] for r in conn.execute(
            "SELECT challenge_status(status, expires_at) AS status, count(*) AS n FROM workout_challenges"
            " GROUP BY 1 ORDER BY 1")}
        hottest = conn.execute("""
            SELECT workout_key, sum(athletes) AS athletes, sum(attempts) AS attempts FROM crowd_workouts
             GROUP BY workout_key ORDER BY sum(athletes) DESC LIMIT 3""").fetchall()
        shown = conn.execute("SELECT count(*) AS n FROM (SELECT workout_key FROM crowd_workouts GROUP BY 1"
                             " HAVING sum(athletes) >= %s) s", (MIN_ATHLETES,)).fetchone()["n"]
    return {**row, "statuses": statuses, "hottest_workouts": hottest,
            "workouts_with_enough_athletes": shown}


# Reads, as the API runs them ---------------------------------------------------------------------

def read_challenge(conn, challenge_id: str) -> dict | None:
    """GET /challenges/{id}: the challenge, its crowd, and the rule (api/resources/challenges.py)."""
    row = Q.get_challenge(conn, id=challenge_id)
    assert row is not None, challenge_id
    crowd = Q.crowd_of_workout(conn, workout_name=row["workout_name"])
    return difficulty(crowd["workout"], crowd["kind"], MIN_ATHLETES)


def read_insights(conn, caller: str) -> list[dict]:
    """GET /insights' crowd part (api/resources/insights.py crowd_view), and the crowd's insights
    with every kind retried and a finished challenge, so that every insight is computed."""
    kinds = {row["kind"]: row for row in Q.crowd_kinds(conn)}
    pending = Q.latest_pending_received(conn, user_id=caller)
    figures = pending and Q.crowd_of_workout(conn, workout_name=pending["workout_name"])
    view = CrowdView(kinds, MIN_ATHLETES, pending, figures and figures["workout"], figures and figures["kind"])
    return crowd_insights(view, set(EXAMPLES), has_finished=True)


def api_connection(url: str):
    conn = psycopg.connect(with_user(url, API_ROLE), row_factory=dict_row)
    configure_connection(conn)
    return conn


def time_each(url: str, cases: list[tuple[str, object]], read) -> tuple[list[float], list]:
    """`read(conn, case)` as each case's caller, after five untimed (caches, prepared plans)."""
    with api_connection(url) as conn:
        for caller, case in cases[:5]:
            timed(conn, caller, lambda c, _, case=case: read(c, case))
        answers, times = [], []
        for caller, case in cases:
            def run(c, _, case=case):
                answers.append(read(c, case))
            times.append(timed(conn, caller, run))
    return times, answers


def challenge_cases(url: str, sample: int) -> list[tuple[str, str, bool]]:
    """(caller, challenge id, hot) for `sample` challenges: three in four drawn at random from the
    history (its own popularity), one in four on the three hottest workouts; the caller either
    party, in turn."""
    with owner_connection(url) as conn:
        hot = [row["workout_key"] for row in conn.execute(
            "SELECT workout_key FROM crowd_workouts GROUP BY 1 ORDER BY sum(athletes) DESC LIMIT 3")]
        drawn = conn.execute(
            "SELECT id::text, from_user_id::text, to_user_id::text, false AS hot FROM workout_challenges"
            " TABLESAMPLE BERNOULLI (5) REPEATABLE (27) ORDER BY md5(id::text) LIMIT %s",
            (sample - sample // 4,)).fetchall()
        hottest = conn.execute(
            "SELECT id::text, from_user_id::text, to_user_id::text, true AS hot FROM workout_challenges"
            " TABLESAMPLE BERNOULLI (20) REPEATABLE (27)"
            " WHERE workout_key(workout_name) = ANY(%s) ORDER BY md5(id::text) LIMIT %s",
            (hot, sample // 4)).fetchall()
    rows = drawn + hottest
    random.Random(27).shuffle(rows)
    return [(row["to_user_id"] if n % 2 else row["from_user_id"], row["id"], row["hot"])
            for n, row in enumerate(rows)]


def insight_callers(url: str, users: int, sample: int) -> list[str]:
    """Half with a pending challenge received (so the calibration reads its workout), half spread."""
    with owner_connection(url) as conn:
        pending = [row["to_user_id"] for row in conn.execute(
            "SELECT to_user_id FROM (SELECT DISTINCT to_user_id::text FROM workout_challenges"
            " WHERE status = 'pending' AND expires_at > now()) p ORDER BY md5(to_user_id) LIMIT %s",
            (sample // 2,))]
    spread = spread_callers(users, sample - len(pending))
    callers = pending + spread
    random.Random(27).shuffle(callers)
    return callers


def reads(url: str, args) -> dict:
    cases = challenge_cases(url, args.sample)
    times, answers = time_each(url, [(caller, cid) for caller, cid, _ in cases], read_challenge)
    hot_times = [t for t, (_, _, hot) in zip(times, cases) if hot]
    scopes = {"workout": 0, "kind": 0, "none": 0}
    for answer in answers:
        scopes[answer["scope"] if answer else "none"] += 1
    callers = insight_callers(url, args.users, args.sample)
    insight_times, found = time_each(url, [(caller, caller) for caller in callers], read_insights)
    kinds_found: dict[str, int] = {}
    for items in found:
        for item in items:
            kinds_found[item["kind"]] = kinds_found.get(item["kind"], 0) + 1
    return {"challenge_with_difficulty": {"reads": len(times), **summary(times),
                                          "hot": {"reads": len(hot_times), **summary(hot_times)},
                                          "difficulty_scopes": scopes},
            "insights_crowd_part": {"reads": len(insight_times), **summary(insight_times),
                                    "insights_found": kinds_found}}


def analytics_reports(days: tuple[dt.date, dt.date]) -> dict:
    first, last = days
    return {
        "workouts": lambda c: list(Q.analytics_workouts(c, from_day=first, to_day=last, limit=20)),
        "hours": lambda c: list(Q.analytics_hours(c, from_day=first, to_day=last)),
        "pairs": lambda c: list(Q.analytics_pairs(c, from_day=first, to_day=last, limit=20)),
        "quit_reasons": lambda c: list(Q.analytics_quit_reasons(c, from_day=first, to_day=last)),
        "completion": lambda c: list(Q.analytics_completion(c, from_day=first, to_day=last)),
    }


def analytics(url: str, args, caller: str) -> dict:
    """Each report over the last 30 days (the API's default), as the API runs it; the plan of any
    that took over half the goal."""
    today = dt.datetime.now(dt.timezone.utc).date()
    days = (today - dt.timedelta(days=29), today)
    params = {"from_day": days[0], "to_day": days[1], "limit": 20}
    results = {}
    try:
        with api_connection(url) as conn:
            for name, report in analytics_reports(days).items():
                rows = []
                timed(conn, caller, lambda c, _: report(c))
                runs = [timed(conn, caller, lambda c, _: rows.append(len(report(c))))
                        for _ in range(args.analytics_runs)]
                results[name] = {"rows": rows[-1], "runs_ms": [round(t, 1) for t in runs],
                                 "p50_ms": round(percentile(runs, 50), 1), "max_ms": round(max(runs), 1)}
                if max(runs) > ANALYTICS_GOAL_MS / 2:
                    query = getattr(Q, f"analytics_{name}").sql
                    with conn.transaction():
                        Q.set_caller(conn, user_id=caller)
                        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params).fetchall()
                    results[name]["plan"] = [row["QUERY PLAN"] for row in plan]
    except psycopg.Error as error:  # the views are another engineer's work in progress
        results["error"] = f"{type(error).__name__}: {error}".strip()
    return {"period": [str(days[0]), str(days[1])], "reports": results}


# A settled challenge, one job after another ----------------------------------------------------

def set_crowd_triggers(admin, live: bool) -> None:
    action = "ENABLE" if live else "DISABLE"
    admin.execute("ALTER TABLE workout_challenges "
                  + ", ".join(f"{action} TRIGGER {name}" for name in CROWD_TRIGGERS))


def accepted_challenges(url: str, args, names: list[str], count: int, hot: bool = False) -> list[dict]:
    with owner_connection(url) as conn:
        rows = conn.execute(TO_COMPLETE_HOT if hot else TO_COMPLETE,
                            {**seed_params(args, names), "count": count}).fetchall()
        conn.execute("VACUUM ANALYZE workout_challenges")
    return rows


def complete_job_ms(conn, challenge: dict) -> float:
    effect = partial(complete_challenge, user_id=challenge["to_user_id"], challenge_id=challenge["id"],
                     duration_minutes=28, total_volume=9000)
    started = time.perf_counter()
    outcome, _ = run_command(conn, job_id=str(uuid.uuid4()), actor_name="challenges.complete",
                             user_id=challenge["to_user_id"], effect=effect)
    assert outcome["status"] == "succeeded", outcome
    return (time.perf_counter() - started) * 1000


def worker_connection(url: str):
    conn = psycopg.connect(url, row_factory=dict_row)
    configure_connection(conn)
    return conn


def complete_jobs(url: str, challenges: list[dict], blocks: int = 64, warmup: int = 50) -> dict:
    """As bench.database.leaderboard's: jobs one after the other, after `warmup` untimed, in
    blocks alternating the crowd's triggers off and on (each toggle followed by one untimed job,
    which plans the statements again); ms per job each way, the ratios of the means and medians."""
    timings = {"with": [], "without": []}
    warm, timed_ones = challenges[:warmup], challenges[warmup:]
    size = len(timed_ones) // blocks
    with owner_connection(url) as admin, worker_connection(url) as conn:
        for challenge in warm:
            complete_job_ms(conn, challenge)
        for block in range(blocks):
            live = block % 2 == 1
            set_crowd_triggers(admin, live)
            first, *rest = timed_ones[block * size:(block + 1) * size]
            complete_job_ms(conn, first)
            timings["with" if live else "without"] += [complete_job_ms(conn, c) for c in rest]
        set_crowd_triggers(admin, True)
    means = {key: statistics.mean(values) for key, values in timings.items()}
    medians = {key: percentile(values, 50) for key, values in timings.items()}
    return {"with_crowd": {"jobs": len(timings["with"]), "mean_ms": round(means["with"], 3), **summary(timings["with"])},
            "without_crowd": {"jobs": len(timings["without"]), "mean_ms": round(means["without"], 3),
                              **summary(timings["without"])},
            "ratio": round(means["with"] / means["without"], 3),
            "ratio_p50": round(medians["with"] / medians["without"], 3)}


# Settles of one hot workout at once --------------------------------------------------------------

LOCK_WAITS = """
WITH l AS MATERIALIZED (SELECT * FROM pg_locks),
waiting AS (SELECT pid, locktype, relation, transactionid FROM l WHERE NOT granted)
SELECT w.pid, w.locktype, w.relation::regclass::text AS waiting_on,
       EXISTS (SELECT 1 FROM crowd_workouts c WHERE c.workout_key = %(hot)s
                                               AND w.transactionid IN (c.xmin, c.xmax)) AS hot_crowd_row,
       (SELECT array_agg(DISTINCT t.relation::regclass::text) FROM l t
         WHERE t.pid = w.pid AND t.granted
           AND t.relation IN ('crowd_workouts'::regclass, 'crowd_athletes'::regclass)) AS crowd_opened,
       (SELECT string_agg(DISTINCT t.relation::regclass::text, ',') FROM l t
         WHERE t.pid = w.pid AND t.locktype = 'tuple') AS tuple_of,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60) AS statement
  FROM waiting w JOIN pg_stat_activity a ON a.pid = w.pid
 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
"""


class LockSampler:
    """pg_locks and pg_stat_activity every LOCK_SAMPLE_SECONDS: the backends waiting for a lock,
    by the statement they ran, where in it they were and what they waited for (`label`), counted
    per `mode` ('with' / 'without', None between timed phases): the mean number of backends waiting."""

    def __init__(self, url: str, hot_key: str):
        self.url, self.hot_key, self.mode, self.running = url, hot_key, None, True
        self.samples = {"with": 0, "without": 0}
        self.waits: dict[str, dict[str, int]] = {"with": {}, "without": {}}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    def _run(self):
        with owner_connection(self.url) as conn:
            while self.running:
                mode = self.mode
                if mode is not None:
                    rows = conn.execute(LOCK_WAITS, {"hot": self.hot_key}).fetchall()
                    if self.mode == mode:
                        self.samples[mode] += 1
                        for row in rows:
                            self.count(mode, self.label(row))
                time.sleep(LOCK_SAMPLE_SECONDS)

    @staticmethod
    def label(row: dict) -> str:
        """Where the waiter is: the crowd's relations are opened only by the crowd's triggers (which
        run after the leaderboard's), so a waiter that opened crowd_workouts waits there (or after),
        one that opened only crowd_athletes waits at that row. What it waits for: a row's tuple
        lock names its relation; a transaction id alone is ON CONFLICT's check of a key another
        transaction is writing, said to be the hot workout's crowd row when that transaction
        holds one of them."""
        opened = row["crowd_opened"] or []
        if row["statement"].startswith("UPDATE workout_challenges"):  # the completion, and its triggers
            where = ("in the crowd trigger, crowd_workouts opened" if "crowd_workouts" in opened
                     else "in the crowd trigger, at crowd_athletes" if "crowd_athletes" in opened
                     else "before the crowd trigger")
        else:
            where = "holding crowd rows" if opened else "holding no crowd rows"
        if row["locktype"] == "transactionid" and not row["tuple_of"]:
            what = "a key whose writer holds a hot crowd_workouts row" if row["hot_crowd_row"] else "a key"
        else:
            what = f"{row['locktype']} of {row['tuple_of'] or row['waiting_on']}"
        return f"{row['statement'][:40]} | {where} | waits for {what}"

    def count(self, mode: str, label: str) -> None:
        self.waits[mode][label] = self.waits[mode].get(label, 0) + 1

    def report(self) -> dict:
        out = {}
        for mode in ("with", "without"):
            waits = sorted(self.waits[mode].items(), key=lambda item: -item[1])
            samples = max(1, self.samples[mode])
            out[mode] = {"samples": self.samples[mode],
                         "mean_backends_waiting": round(sum(n for _, n in waits) / samples, 3),
                         "by_wait": {label: round(n / samples, 3) for label, n in waits[:8]}}
        return out


def concurrent_jobs(url: str, challenges: list[dict], threads: int, blocks: int, per_block: int) -> dict:
    """`threads` connections completing challenges of one workout at once, in `blocks` blocks
    alternating the crowd's triggers off and on (one untimed job each after a toggle, and a first
    untimed block); jobs/s of each block, each way, and the lock waits sampled meanwhile."""
    per_thread = [challenges[i::threads] for i in range(threads)]
    need = (blocks + 1) * (per_block + 1)
    assert all(len(queue) >= need for queue in per_thread), "too few hot challenges"
    rates = {"with": [], "without": []}
    latencies = {"with": [], "without": []}
    cpu = {"with": [], "without": []}
    probe = CpuProbe.of(url)
    conns = [worker_connection(url) for _ in range(threads)]
    position = [0] * threads

    def run(worker: int, jobs: int) -> list[float]:
        queue, start = per_thread[worker], position[worker]
        position[worker] += jobs
        return [complete_job_ms(conns[worker], challenge) for challenge in queue[start:start + jobs]]

    try:
        with owner_connection(url) as admin:
            hot_key = admin.execute("SELECT workout_key(%s) AS key", (challenges[0]["workout_name"],)).fetchone()["key"]
        with owner_connection(url) as admin, ThreadPoolExecutor(threads) as pool, \
                LockSampler(url, hot_key) as sampler:
            for block in range(-1, blocks):  # block -1: untimed, triggers on
                live = block % 2 == 1 or block < 0
                mode = "with" if live else "without"
                set_crowd_triggers(admin, live)
                list(pool.map(run, range(threads), [1] * threads))
                with probe.usage({}) as usage:
                    sampler.mode = mode if block >= 0 else None
                    started = time.perf_counter()
                    done = list(pool.map(run, range(threads), [per_block] * threads))
                    wall = time.perf_counter() - started
                    sampler.mode = None
                if block >= 0:
                    rates[mode].append(threads * per_block / wall)
                    latencies[mode] += [t for times in done for t in times]
                    cpu[mode].append(usage)
            set_crowd_triggers(admin, True)
            locks = sampler.report()
    finally:
        for conn in conns:
            conn.close()

    def cores(mode: str) -> dict:
        keys = ("client_cores", "postgres_cores", "other_cores", "machine_busy_percent")
        per_job = [1000 * u["postgres_cores"] / rate for u, rate in zip(cpu[mode], rates[mode])]
        return {**{key: round(statistics.mean(u[key] for u in cpu[mode]), 2) for key in keys},
                "postgres_cpu_ms_per_job_median_block": round(percentile(per_job, 50), 2)}

    with owner_connection(url) as conn:
        tables = conn.execute(
            "SELECT relname, n_tup_upd, n_tup_hot_upd, n_dead_tup, pg_relation_size(relid) / 8192 AS pages"
            " FROM pg_stat_user_tables WHERE relname IN ('crowd_workouts', 'crowd_athletes', 'leaderboard_levels')"
            " ORDER BY relname").fetchall()

    jobs = {mode: threads * per_block * len(rates[mode]) for mode in rates}
    result = {"threads": threads, "blocks_each_way": blocks // 2, "jobs_per_block": threads * per_block,
              "tables_after": tables}
    for mode, key in (("with", "with_crowd"), ("without", "without_crowd")):
        result[key] = {"jobs": jobs[mode], "jobs_per_s_median_block": round(percentile(rates[mode], 50), 1),
                       "jobs_per_s_mean_block": round(statistics.mean(rates[mode]), 1),
                       "job": {"mean_ms": round(statistics.mean(latencies[mode]), 2), **summary(latencies[mode])},
                       "cpu": cores(mode), "lock_waits": locks[mode]}
    result["throughput_ratio_median_blocks"] = round(
        result["with_crowd"]["jobs_per_s_median_block"] / result["without_crowd"]["jobs_per_s_median_block"], 3)
    result["throughput_ratio_mean_blocks"] = round(
        result["with_crowd"]["jobs_per_s_mean_block"] / result["without_crowd"]["jobs_per_s_mean_block"], 3)
    return result


# Cost per change ---------------------------------------------------------------------------------

def trigger_ms(conn, challenge: dict) -> tuple[float, float, list]:
    """The crowd's triggers' time on one completion (count_crowd_update, which includes the
    athletes' trigger its insert fires) and all triggers', as EXPLAIN ANALYZE reports them."""
    with conn.transaction():
        plan = conn.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE workout_challenges SET status = 'completed',"
            " completed_at = now(), challenged_stats = %s, did_beat = true WHERE id = %s",
            ('{"duration_minutes": 28, "total_volume": 9000, "volume_unit": "lb", "total_volume_kg": 4082.3}',
             challenge["id"])).fetchone()["QUERY PLAN"][0]
    triggers = plan.get("Triggers", [])
    crowd = [t["Time"] for t in triggers if t["Trigger Name"] in CROWD_TRIGGERS]
    assert crowd, f"no crowd trigger fired: {triggers}"
    return sum(crowd), sum(t["Time"] for t in triggers), triggers


def cost_per_change(databases: dict[str, tuple[str, list[dict]]], warmup: int = 20) -> dict:
    """The crowd triggers' time per completion in each database ({name: (url, challenges)}), the
    databases taking turns one completion at a time, after `warmup` untimed ones each."""
    crowd = {name: [] for name in databases}
    every = {name: [] for name in databases}
    example = {}
    connections = {name: owner_connection(url) for name, (url, _) in databases.items()}
    try:
        for turn in zip(*(challenges for _, challenges in databases.values())):
            for (name, conn), challenge in zip(connections.items(), turn):
                mine, total, triggers = trigger_ms(conn, challenge)
                crowd[name].append(mine)
                every[name].append(total)
                example[name] = triggers
    finally:
        for conn in connections.values():
            conn.close()
    return {name: {"completions": len(values) - warmup, "mean_ms": round(statistics.mean(values[warmup:]), 4),
                   **summary(values[warmup:], 3),
                   "all_triggers_p50_ms": round(percentile(every[name][warmup:], 50), 3),
                   "last_plan_triggers": example[name]}
            for name, values in crowd.items()}


# The machine meanwhile -------------------------------------------------------------------------

class LoadMonitor:
    """Every LOAD_SAMPLE_SECONDS: how busy the machine was, and how many backends of other
    databases were active on the shared PostgreSQL (somebody else's tests or benchmarks; not
    `postgres`, where this run's own probes and its scratch databases' creation connect)."""

    def __init__(self, own_prefix: str):
        self.prefix, self.running = own_prefix, True
        self.busy: list[float] = []
        self.foreign: list[int] = []
        self.foreign_databases: set[str] = set()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    def _run(self):
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            busy, total = machine_cpu_ticks()
            while self.running:
                time.sleep(LOAD_SAMPLE_SECONDS)
                busy_after, total_after = machine_cpu_ticks()
                self.busy.append(100 * (busy_after - busy) / max(1, total_after - total))
                busy, total = busy_after, total_after
                rows = conn.execute(
                    "SELECT datname FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid() AND datname IS NOT NULL AND datname <> 'postgres'"
                    " AND datname NOT LIKE %s",
                    (self.prefix + "%",)).fetchall()
                self.foreign.append(len(rows))
                self.foreign_databases.update(name for (name,) in rows)

    def report(self) -> dict:
        if not self.busy:
            return {}
        return {"samples": len(self.busy), "machine_busy_percent_mean": round(statistics.mean(self.busy), 1),
                "foreign_active_backends_mean": round(statistics.mean(self.foreign), 2),
                "samples_with_foreign_backends": sum(1 for n in self.foreign if n),
                "foreign_databases": sorted(self.foreign_databases),
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}


# The run -----------------------------------------------------------------------------------------

def stage(url: str, args, names: list[str], concurrent: bool) -> tuple[dict, list[dict]]:
    """Everything but the cost per change, on one database; and the accepted challenges kept for
    that (args.explained of them)."""
    results = {**counts(url), **scheduler_jobs(url)}
    results["reads"] = reads(url, args)
    results["analytics"] = analytics(url, args, user_id(1))
    to_complete = accepted_challenges(url, args, names, args.jobs + args.explained)
    results["complete_job"] = complete_jobs(url, to_complete[args.explained:])
    if concurrent:
        hot = accepted_challenges(url, args, names, args.threads * (args.blocks + 1) * (args.per_block + 1), hot=True)
        results["concurrent_hot_workout"] = concurrent_jobs(url, hot, args.threads, args.blocks, args.per_block)
    return results, to_complete[:args.explained]


def measure(args) -> dict:
    names, kinds = workout_names(args.workouts)
    results = {"users": args.users, "workouts": len(names), "hottest_name": names[0], "sample": args.sample}
    with LoadMonitor("wc_bench_crowd") as load:
        with scratch_database("wc_bench_crowd") as first, scratch_database("wc_bench_crowd") as whole:
            results["first"] = build(first, args, names, kinds, args.first)
            print(f"built {args.first:,} challenges: {results['first']}", flush=True)
            measured, first_kept = stage(first, args, names, concurrent=False)
            results["first"].update(measured)
            results["all"] = build(whole, args, names, kinds, args.challenges)
            print(f"built {args.challenges:,} challenges: {results['all']}", flush=True)
            measured, whole_kept = stage(whole, args, names, concurrent=True)
            results["all"].update(measured)
            per_change = cost_per_change({"first": (first, first_kept), "all": (whole, whole_kept)})
    for key in ("first", "all"):
        results[key]["crowd_triggers_per_change"] = per_change[key]
    results["cost_per_change_ratio"] = {
        "p50": round(per_change["all"]["p50_ms"] / per_change["first"]["p50_ms"], 3),
        "mean": round(per_change["all"]["mean_ms"] / per_change["first"]["mean_ms"], 3)}
    results["load_during_run"] = load.report()
    return results


def problems_of(results: dict) -> list[str]:
    problems = []
    load = results.get("load_during_run", {})
    if load.get("samples_with_foreign_backends", 0) > load.get("samples", 0) * 0.1:
        problems.append(f"other databases' backends were active in {load['samples_with_foreign_backends']} of "
                        f"{load['samples']} samples ({', '.join(load['foreign_databases'])}): the figures may be low")
    for key in ("first", "all"):
        if "error" in results[key]["analytics"]["reports"]:
            problems.append(f"analytics not measured on '{key}': {results[key]['analytics']['reports']['error']}")
    return problems


def print_results(results: dict) -> None:
    for key in ("first", "all"):
        part = results[key]
        job, trigger = part["complete_job"], part["crowd_triggers_per_change"]
        built = part["crowd_reconciliation_from_nothing"]
        print(f"{part['challenges']:,} challenges ({part['rematches']:,} rematches), {results['users']:,} users, "
              f"{results['workouts']:,} workouts; {part['crowd_athlete_rows']:,} athletes' rows, "
              f"{part['crowd_workout_rows']:,} workouts' rows; hottest {part['hottest_workouts'][0]}")
        print(f"  seed {part['seed_seconds']} s; reconcile_crowd from nothing {built['seconds']} s "
              f"({built['rows_written']:,} rows); steady {part['steady_reconciliation']['seconds']} s "
              f"(repaired {part['steady_reconciliation']['repaired']}); refresh_kinds "
              f"{part['refresh_kinds']['runs_ms']} ms")
        read, insight = part["reads"]["challenge_with_difficulty"], part["reads"]["insights_crowd_part"]
        print(f"  GET /challenges/{{id}} with difficulty: p50 {read['p50_ms']} ms, p99 {read['p99_ms']} ms "
              f"(hot: p50 {read['hot']['p50_ms']}, p99 {read['hot']['p99_ms']}); scopes {read['difficulty_scopes']}")
        print(f"  GET /insights, crowd part: p50 {insight['p50_ms']} ms, p99 {insight['p99_ms']} ms")
        for name, report in part["analytics"]["reports"].items():
            print(f"  analytics {name}: {report}" if name == "error" else
                  f"  analytics {name:12s} p50 {report['p50_ms']:8.1f} ms  max {report['max_ms']:8.1f} ms"
                  f"  ({report['rows']} rows)")
        print(f"  complete job: {job['with_crowd']['mean_ms']} ms with the crowd's triggers, "
              f"{job['without_crowd']['mean_ms']} ms without (means): ratio {job['ratio']}; medians {job['ratio_p50']}")
        print(f"  crowd triggers per change: mean {trigger['mean_ms']} ms, p50 {trigger['p50_ms']}, "
              f"p99 {trigger['p99_ms']} (all triggers p50 {trigger['all_triggers_p50_ms']})")
        if "concurrent_hot_workout" in part:
            hot = part["concurrent_hot_workout"]
            print(f"  {hot['threads']} connections settling one workout: "
                  f"{hot['with_crowd']['jobs_per_s_median_block']} jobs/s with, "
                  f"{hot['without_crowd']['jobs_per_s_median_block']} without (median blocks): "
                  f"ratio {hot['throughput_ratio_median_blocks']}")
            for mode in ("with_crowd", "without_crowd"):
                waits = hot[mode]["lock_waits"]
                print(f"    {mode}: {waits['mean_backends_waiting']} backends waiting on average; "
                      f"{list(waits['by_wait'].items())[:3]}")
    print(f"cost per change, {results['all']['challenges']:,} vs {results['first']['challenges']:,} "
          f"challenges: {results['cost_per_change_ratio']['p50']} (p50), {results['cost_per_change_ratio']['mean']} (mean)")
    print(f"load during the run: {results['load_during_run']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--first", type=int, default=100_000, help="challenges in the smaller database")
    parser.add_argument("--challenges", type=int, default=1_000_000, help="challenges in the larger database")
    parser.add_argument("--workouts", type=int, default=3000, help="distinct workout names")
    parser.add_argument("--sample", type=int, default=400, help="how many different callers read")
    parser.add_argument("--analytics-runs", type=int, default=5, help="timed runs of each analytics report")
    parser.add_argument("--jobs", type=int, default=1650,
                        help="complete jobs per database: 50 to warm up, then half with the crowd's triggers")
    parser.add_argument("--explained", type=int, default=1000,
                        help="completions timed by EXPLAIN ANALYZE in each database, 20 to warm up")
    parser.add_argument("--threads", type=int, default=8, help="connections settling the hot workout at once")
    parser.add_argument("--blocks", type=int, default=16, help="alternating blocks of the concurrent settles")
    parser.add_argument("--per-block", type=int, default=25, help="jobs per connection per block")
    args = parser.parse_args()
    run = Run("crowd", vars(args), ("psycopg",))
    results = measure(args)
    print_results(results)
    return run.finish(results, problems_of(results))


if __name__ == "__main__":
    sys.exit(main())

-- Product analytics (issue 27): what is challenged, when, between whom, why athletes quit and what
-- becomes of the challenges sent, as views in the schema `analytics`, read by the analysts'
-- dashboard (docs/ops/analytics-dashboard.json) as challenges_analyst and by
-- GET /api/v1/analytics/* for tokens with the role `analyst` (docs/api.md, "Analytics").
--
-- Privacy: the views hold no names, no time zones and no quit reason in an athlete's own words
-- (a quit counts under its preset reason or 'other'). Only `analytics.pairs` holds user ids, and
-- nothing readable here turns an id into a name. The views run with their owner's rights (the
-- default), past Row Level Security, so their readers need only USAGE on the schema and SELECT on
-- the views: challenges_analyst has nothing else, not a row of the tables below them.
--
-- Days: a view takes no parameters, so each has a `day`, the UTC date of the challenge sent (of
-- the quit, for quit reasons), and its reader filters on it: `day >= :from AND day < :to + 1`
-- (the API), `$__timeFilter(day)` (Grafana). Weekly figures also have `week`, the Monday of the
-- ISO week of `day`. Such a condition reaches the table, through a view's GROUP BY too (a
-- condition on a grouping column is applied below it), as a range of one of the indexes below, so
-- a report of 30 days reads 30 days of challenges however long the history.
--
-- What counts: a challenge sent is one made (directly or with BEAT THIS) and not withdrawn; a
-- rematch is not one (the challenged athlete asks for it, and it repeats an attempt counted
-- already), as on the leaderboard. Statuses are those the API shows: a pending challenge past
-- its expiry is expired (challenge_status(), migration 0019).

DO $$
BEGIN
    CREATE ROLE challenges_analyst NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
EXCEPTION
    -- Roles are cluster-wide: another database (or a concurrent migration) may have made it.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

CREATE SCHEMA analytics;

-- The challenges sent on a range of days, and the quits of a range of days.
CREATE INDEX workout_challenges_sent_by_day
    ON workout_challenges (((created_at AT TIME ZONE 'UTC')::date)) WHERE NOT is_retry;
CREATE INDEX workout_challenges_quits_by_day
    ON workout_challenges (((abandoned_at AT TIME ZONE 'UTC')::date)) WHERE status = 'abandoned';

-- One row per challenge sent: its workout and what became of it. `workout_key` is the workout as
-- the crowd's figures know it (workout_key(), migration 0020: lower case, single spaces),
-- `workout_name` its name as sent. The attempt is the challenged athlete's result of a completed
-- challenge (NULL otherwise), its volume in kilograms whatever the unit it was logged in.
-- A report groups by `workout_name` before it asks for `workout_key`: a few hundred names cost
-- less than a regular expression for every challenge.
CREATE VIEW analytics.workouts AS
SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day,
       workout_key(c.workout_name) AS workout_key,
       c.workout_name,
       c.accepted_at IS NOT NULL AS accepted,
       c.status = 'completed' AS completed,
       c.status = 'completed' AND c.did_beat AS won,
       c.status = 'abandoned' AS abandoned,
       CASE WHEN c.status = 'completed' THEN (c.challenged_stats ->> 'duration_minutes')::numeric END
           AS attempt_duration_minutes,
       CASE WHEN c.status = 'completed' THEN COALESCE(
           (c.challenged_stats ->> 'total_volume_kg')::numeric,
           (c.challenged_stats ->> 'total_volume')::numeric
               * CASE c.challenged_stats ->> 'volume_unit' WHEN 'kg' THEN 1 ELSE 0.45359237 END) END
           AS attempt_total_volume_kg
  FROM workout_challenges c
 WHERE NOT c.is_retry;

-- Challenges sent by the hour of the day (0-23) and the ISO weekday (1 Monday to 7 Sunday) it was
-- for their sender, in the sender's own time zone; a zone this database does not know counts as
-- UTC (known_time_zone(), migration 0018), asked once per zone, not once per challenge.
CREATE VIEW analytics.hours AS
WITH zones AS MATERIALIZED (
    SELECT z.timezone, COALESCE(known_time_zone(z.timezone), 'UTC') AS zone
      FROM (SELECT DISTINCT timezone FROM users) z
)
SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day,
       extract(isodow FROM c.created_at AT TIME ZONE z.zone)::integer AS iso_weekday,
       extract(hour FROM c.created_at AT TIME ZONE z.zone)::integer AS hour,
       count(*) AS challenges_sent
  FROM workout_challenges c
  JOIN users u ON u.id = c.from_user_id
  JOIN zones z ON z.timezone = u.timezone
 WHERE NOT c.is_retry
 GROUP BY 1, 2, 3;

-- One row per challenge sent, as between two athletes either way: `user_a` is the smaller id of
-- the two, `sent_by_a` whether user_a sent it. Ids only. (A row per challenge rather than counts
-- per day: a report counts pairs once, not per day and then again.)
CREATE VIEW analytics.pairs AS
SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day,
       LEAST(c.from_user_id, c.to_user_id) AS user_a,
       GREATEST(c.from_user_id, c.to_user_id) AS user_b,
       c.from_user_id < c.to_user_id AS sent_by_a
  FROM workout_challenges c
 WHERE NOT c.is_retry;

-- Quits by the day they happened (every quit, a rematch's too), by category: the preset reason
-- the athlete picked (core/rules/challenges.py QUIT_REASONS) or, for their own words, the preset
-- the indexer found nearest, or 'other' (also while their words are not classified yet: NULL).
-- Anything else in quit_category counts as 'other' too, so no athlete's words can show here
-- (tests/sql/test_analytics_views.py checks this list against QUIT_REASONS).
CREATE VIEW analytics.quit_reasons AS
SELECT (c.abandoned_at AT TIME ZONE 'UTC')::date AS day,
       date_trunc('week', c.abandoned_at AT TIME ZONE 'UTC')::date AS week,
       CASE WHEN c.quit_category = ANY (ARRAY['Too hard for me 😓', 'Not feeling it today 😴',
                                              'This is impossible 😭', 'I give up 🏳️',
                                              'Maybe next time 😅', 'I''m not ready yet 🙈'])
            THEN c.quit_category ELSE 'other' END AS category,
       count(*) AS quits
  FROM workout_challenges c
 WHERE c.status = 'abandoned'
 GROUP BY 1, 2, 3;

-- What became of the challenges sent each day, counted on the day they were sent: `accepted`
-- every one taken on (BEAT THIS starts accepted), finished or not; `won` the completed ones the
-- challenged athlete beat; `expired` those left unanswered past their expiry. The rest of `sent`
-- is still pending.
CREATE VIEW analytics.completion AS
SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day,
       date_trunc('week', c.created_at AT TIME ZONE 'UTC')::date AS week,
       count(*) AS sent,
       count(*) FILTER (WHERE c.accepted_at IS NOT NULL) AS accepted,
       count(*) FILTER (WHERE c.status = 'completed') AS completed,
       count(*) FILTER (WHERE c.status = 'completed' AND c.did_beat) AS won,
       count(*) FILTER (WHERE c.status = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE challenge_status(c.status, c.expires_at) = 'expired') AS expired,
       count(*) FILTER (WHERE c.status = 'declined') AS declined
  FROM workout_challenges c
 WHERE NOT c.is_retry
 GROUP BY 1, 2;

-- The analysts' role reads the views and nothing else. The API reads them as an analyst does,
-- for tokens with the role `analyst` only (api/resources/analytics.py), so its role is a member:
-- every view here is readable by challenges_api too, and tests/sql/test_privacy.py lists each
-- one with its columns.
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
GRANT USAGE ON SCHEMA analytics TO challenges_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO challenges_analyst;
DO $$
BEGIN
    GRANT challenges_analyst TO challenges_api;
EXCEPTION
    -- Memberships are cluster-wide too: the same grant by a concurrent migration of another database.
    WHEN unique_violation THEN NULL;
END
$$;

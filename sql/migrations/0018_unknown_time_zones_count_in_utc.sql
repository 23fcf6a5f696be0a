-- A user's time zone that this PostgreSQL does not know is counted as UTC, never an error.
--
-- PUT /me accepts only zones this database knows (api/db.py ReadDatabase.time_zones), but a
-- stored zone can still be unknown later: a restore onto, or a downgrade to, a PostgreSQL with
-- older tzdata (the embedded one `challenges dev` starts lacks America/Coyhaique, for one).
-- `AT TIME ZONE` with such a name fails with invalid_parameter_value (22023), and with it every
-- workout, habit and GET /points of that user. So the streak functions ask for the zone through
-- `known_time_zone()`, which answers UTC instead and raises a WARNING: the worker logs it
-- (core/db.py, the notice handler), and the server's log has it too.
--
-- How it checks: by trying the name and catching the error. Measured on the 2-core CI machine
-- (PostgreSQL 15), `EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)` costs ~30 ms warm
-- and ~150 ms cold per statement, since the view reads the whole tz database from disk: a tax
-- on every log and every GET /points. A table of names filled by this migration would be stale
-- after exactly the restore or downgrade it is meant for. The exception block (a subtransaction)
-- costs ~2 microseconds per call with a known zone (10,000 calls: 19 ms), and it runs once per
-- streak or local date (the zone is read once, in a CTE).

CREATE FUNCTION known_time_zone(p_zone text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM now() AT TIME ZONE p_zone;
    RETURN p_zone;
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE WARNING 'time zone "%" is not known to this database: counted as UTC', p_zone;
    RETURN 'UTC';
END
$$;

CREATE OR REPLACE FUNCTION activity_streak(p_user_id uuid, p_day date) RETURNS integer
LANGUAGE sql STABLE AS $$
    WITH zone AS (
        SELECT known_time_zone(timezone) AS timezone FROM users WHERE id = p_user_id
    ), days AS (
        SELECT (w.performed_at AT TIME ZONE zone.timezone)::date AS day
          FROM workout_logs w, zone WHERE w.user_id = p_user_id
        UNION
        SELECT (h.logged_at AT TIME ZONE zone.timezone)::date
          FROM habit_logs h, zone WHERE h.user_id = p_user_id
    ), counted AS (
        SELECT p_day - day AS days_back, row_number() OVER (ORDER BY day DESC) - 1 AS position
          FROM days WHERE day <= p_day
    )
    SELECT count(*)::integer FROM counted WHERE days_back = position
$$;

CREATE OR REPLACE FUNCTION user_local_date(p_user_id uuid, p_at timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (p_at AT TIME ZONE known_time_zone(timezone))::date FROM users WHERE id = p_user_id
$$;

-- The crowd's figures: how every athlete has fared on a workout (its name, normalised for case and
-- spaces) and on a kind of workout, kept as things happen (docs/domain.md, "The crowd").
--
-- Two levels, each kept by a trigger in the transaction of the change below it, so a settled
-- challenge is in the figures when its job succeeds and a change costs the few rows it touches
-- however long the history:
--   workout_challenges -> crowd_athletes (one athlete's counts on one workout)
--   crowd_athletes     -> crowd_workouts (one workout's counts, distinct athletes included, in
--                         16 shards by athlete: a popular workout's athletes settling at once
--                         would otherwise all wait for one row's lock until each commits)
-- As for the leaderboard, what a row counts for is one function per level; a trigger adds the
-- new row's part and subtracts the old one's, and the scheduler's reconciliation recomputes both
-- levels from the challenges with the same functions (jobs/crowd.py). Kinds (the event log's
-- `workout_kinds`) are known only once the indexer has embedded a name, so crowd_kinds is
-- recomputed from crowd_athletes by the scheduler.

-- "Beast Mode  Legs " and "beast mode legs" are one workout.
CREATE FUNCTION workout_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(regexp_replace(btrim(name), '\s+', ' ', 'g'));

-- Why an athlete quit, by meaning: the preset reason itself, the preset a custom reason is
-- nearest to (the indexer embeds it), or 'other'. NULL until known, or when not abandoned.
ALTER TABLE workout_challenges ADD COLUMN quit_category text;

-- How many rematches came before a challenge in its chain (0 for an original, 1 for the first
-- rematch, ...): the retries a win took. Set as a rematch is inserted, from the round it follows.
ALTER TABLE workout_challenges ADD COLUMN rematch_number integer NOT NULL DEFAULT 0
    CHECK (rematch_number >= 0);

CREATE FUNCTION number_rematch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.retried_from_challenge_id IS NOT NULL THEN
        SELECT p.rematch_number + 1 INTO NEW.rematch_number
          FROM workout_challenges p WHERE p.id = NEW.retried_from_challenge_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER number_rematch BEFORE INSERT ON workout_challenges
    FOR EACH ROW EXECUTE FUNCTION number_rematch();

WITH RECURSIVE chain AS (
    SELECT id, 0 AS n FROM workout_challenges WHERE retried_from_challenge_id IS NULL
    UNION ALL
    SELECT c.id, chain.n + 1 FROM workout_challenges c JOIN chain ON c.retried_from_challenge_id = chain.id
)
UPDATE workout_challenges w SET rematch_number = chain.n FROM chain WHERE w.id = chain.id AND chain.n > 0;

-- Where in the target a quit came, from partial_stats as the event log computes it: early (under
-- 35 %), midway (up to 65 %), late; NULL when the athlete gave no partial result.
CREATE FUNCTION quit_stage(partial jsonb, target jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN share IS NULL THEN NULL WHEN share < 0.35 THEN 'early'
                WHEN share <= 0.65 THEN 'midway' ELSE 'late' END
      FROM (SELECT CASE
                     WHEN (target ->> 'total_volume_kg')::numeric > 0
                       THEN (partial ->> 'total_volume_kg')::numeric / (target ->> 'total_volume_kg')::numeric
                     WHEN (target ->> 'duration_minutes')::numeric > 0
                       THEN (partial ->> 'duration_minutes')::numeric / (target ->> 'duration_minutes')::numeric
                   END AS share) s
$$;

-- A challenge's part of its challenged athlete's counts on its workout: an attempt once settled
-- (completed or abandoned), a win or a loss or a quit (with where it came), a retry when it is a
-- rematch, and a win by how many retries it took (0, 1, 2, 3 or more). NULL inputs count for nothing.
CREATE FUNCTION crowd_contribution(name text, athlete uuid, status text, did_beat boolean,
                                   is_retry boolean, rematch_number integer, partial jsonb, target jsonb)
RETURNS TABLE (workout_key text, athlete_id uuid, attempts integer, wins integer, losses integer,
               quits integer, retries integer, wins_r0 integer, wins_r1 integer, wins_r2 integer,
               wins_r3 integer, quits_early integer, quits_midway integer, quits_late integer)
LANGUAGE sql IMMUTABLE AS $$
    SELECT workout_key(name), athlete,
           1, won::integer, (status = 'completed' AND NOT won)::integer, quit::integer,
           is_retry::integer,
           (won AND rematch_number = 0)::integer, (won AND rematch_number = 1)::integer,
           (won AND rematch_number = 2)::integer, (won AND rematch_number >= 3)::integer,
           (quit AND stage IS NOT DISTINCT FROM 'early')::integer,
           (quit AND stage IS NOT DISTINCT FROM 'midway')::integer,
           (quit AND stage IS NOT DISTINCT FROM 'late')::integer
      FROM (SELECT status = 'completed' AND COALESCE(did_beat, false) AS won, status = 'abandoned' AS quit,
                   quit_stage(partial, target) AS stage) s
     WHERE status IN ('completed', 'abandoned') AND name IS NOT NULL
$$;

-- No foreign key to users, as for the leaderboard's counters: a deleted user's challenges are
-- deleted by a cascade whose trigger comes here after the user is gone; reconciliation removes
-- rows that count nothing.
CREATE TABLE crowd_athletes (
    workout_key  text NOT NULL,
    athlete_id   uuid NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    wins         integer NOT NULL DEFAULT 0,
    losses       integer NOT NULL DEFAULT 0,
    quits        integer NOT NULL DEFAULT 0,
    retries      integer NOT NULL DEFAULT 0,
    wins_r0      integer NOT NULL DEFAULT 0,
    wins_r1      integer NOT NULL DEFAULT 0,
    wins_r2      integer NOT NULL DEFAULT 0,
    wins_r3      integer NOT NULL DEFAULT 0,
    quits_early  integer NOT NULL DEFAULT 0,
    quits_midway integer NOT NULL DEFAULT 0,
    quits_late   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (workout_key, athlete_id)
);

-- An athlete's part of a workout's figures: one athlete (once they have attempted it), their
-- counts, and their first win by the retries it took (the fewest among their wins).
CREATE FUNCTION crowd_athlete_part(a crowd_athletes)
RETURNS TABLE (athletes integer, attempts integer, wins integer, losses integer, quits integer,
               retries integer, first_wins_r0 integer, first_wins_r1 integer, first_wins_r2 integer,
               first_wins_r3 integer, quits_early integer, quits_midway integer, quits_late integer)
LANGUAGE sql IMMUTABLE AS $$
    SELECT (a.attempts > 0)::integer, a.attempts, a.wins, a.losses, a.quits, a.retries,
           (a.wins_r0 > 0)::integer, (a.wins_r0 = 0 AND a.wins_r1 > 0)::integer,
           (a.wins_r0 + a.wins_r1 = 0 AND a.wins_r2 > 0)::integer,
           (a.wins_r0 + a.wins_r1 + a.wins_r2 = 0 AND a.wins_r3 > 0)::integer,
           a.quits_early, a.quits_midway, a.quits_late
     WHERE a.workout_key IS NOT NULL
$$;

-- Which of a workout's 16 rows an athlete counts in.
CREATE FUNCTION crowd_shard(athlete uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN get_byte(uuid_send(athlete), 15) % 16;

CREATE TABLE crowd_workouts (
    workout_key   text NOT NULL,
    shard         smallint NOT NULL,
    athletes      integer NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0,
    wins          integer NOT NULL DEFAULT 0,
    losses        integer NOT NULL DEFAULT 0,
    quits         integer NOT NULL DEFAULT 0,
    retries       integer NOT NULL DEFAULT 0,
    first_wins_r0 integer NOT NULL DEFAULT 0,
    first_wins_r1 integer NOT NULL DEFAULT 0,
    first_wins_r2 integer NOT NULL DEFAULT 0,
    first_wins_r3 integer NOT NULL DEFAULT 0,
    quits_early   integer NOT NULL DEFAULT 0,
    quits_midway  integer NOT NULL DEFAULT 0,
    quits_late    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (workout_key, shard)
);

-- The same figures per kind of workout, recomputed by the scheduler (jobs/crowd.py): an athlete
-- who tried two leg workouts is one athlete of the kind. `kind` '*' is every workout together.
CREATE TABLE crowd_kinds (LIKE crowd_workouts);
ALTER TABLE crowd_kinds RENAME COLUMN workout_key TO kind;
ALTER TABLE crowd_kinds DROP COLUMN shard;
ALTER TABLE crowd_kinds ADD PRIMARY KEY (kind);

-- The kind of each workout, as the event log's indexer found it (the nearest example phrase).
CREATE TABLE workout_kinds (
    workout_key text PRIMARY KEY,
    kind        text NOT NULL
);

CREATE FUNCTION count_crowd_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- At most two keys (a rename is not possible, but OLD and NEW are kept apart all the same),
    -- in key order so that two transactions lock them in the same order.
    INSERT INTO crowd_athletes AS c
    SELECT d.workout_key, d.athlete_id, sum(d.attempts), sum(d.wins), sum(d.losses), sum(d.quits),
           sum(d.retries), sum(d.wins_r0), sum(d.wins_r1), sum(d.wins_r2), sum(d.wins_r3),
           sum(d.quits_early), sum(d.quits_midway), sum(d.quits_late)
      FROM (SELECT * FROM crowd_contribution(NEW.workout_name, NEW.to_user_id, NEW.status, NEW.did_beat,
                                             NEW.is_retry, NEW.rematch_number, NEW.partial_stats, NEW.workout_data)
            UNION ALL
            SELECT o.workout_key, o.athlete_id, -o.attempts, -o.wins, -o.losses, -o.quits, -o.retries,
                   -o.wins_r0, -o.wins_r1, -o.wins_r2, -o.wins_r3, -o.quits_early, -o.quits_midway,
                   -o.quits_late
              FROM crowd_contribution(OLD.workout_name, OLD.to_user_id, OLD.status, OLD.did_beat,
                                      OLD.is_retry, OLD.rematch_number, OLD.partial_stats, OLD.workout_data) o
           ) d
     GROUP BY d.workout_key, d.athlete_id
    HAVING sum(abs(d.attempts) + abs(d.wins) + abs(d.losses) + abs(d.quits) + abs(d.retries)
               + abs(d.wins_r0) + abs(d.wins_r1) + abs(d.wins_r2) + abs(d.wins_r3)
               + abs(d.quits_early) + abs(d.quits_midway) + abs(d.quits_late)) > 0
     ORDER BY d.workout_key, d.athlete_id
        ON CONFLICT (workout_key, athlete_id) DO UPDATE
       SET attempts = c.attempts + excluded.attempts, wins = c.wins + excluded.wins,
           losses = c.losses + excluded.losses, quits = c.quits + excluded.quits,
           retries = c.retries + excluded.retries, wins_r0 = c.wins_r0 + excluded.wins_r0,
           wins_r1 = c.wins_r1 + excluded.wins_r1, wins_r2 = c.wins_r2 + excluded.wins_r2,
           wins_r3 = c.wins_r3 + excluded.wins_r3, quits_early = c.quits_early + excluded.quits_early,
           quits_midway = c.quits_midway + excluded.quits_midway,
           quits_late = c.quits_late + excluded.quits_late;
    RETURN NULL;
END
$$;

-- Only rows that are or were settled count for anything: creating, accepting or declining a
-- challenge runs no trigger here.
CREATE TRIGGER count_crowd_insert AFTER INSERT ON workout_challenges FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'abandoned')) EXECUTE FUNCTION count_crowd_change();
CREATE TRIGGER count_crowd_delete AFTER DELETE ON workout_challenges FOR EACH ROW
    WHEN (OLD.status IN ('completed', 'abandoned')) EXECUTE FUNCTION count_crowd_change();
CREATE TRIGGER count_crowd_update
    AFTER UPDATE OF status, did_beat, is_retry, rematch_number, to_user_id, workout_name, partial_stats,
                    workout_data
    ON workout_challenges FOR EACH ROW
    WHEN (OLD.status IN ('completed', 'abandoned') OR NEW.status IN ('completed', 'abandoned'))
    EXECUTE FUNCTION count_crowd_change();

CREATE FUNCTION count_crowd_athlete_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    key text := COALESCE(NEW.workout_key, OLD.workout_key);
    athlete_shard smallint := crowd_shard(COALESCE(NEW.athlete_id, OLD.athlete_id));
BEGIN
    INSERT INTO crowd_workouts AS w
    SELECT key, athlete_shard, sum(d.athletes), sum(d.attempts), sum(d.wins), sum(d.losses), sum(d.quits),
           sum(d.retries), sum(d.first_wins_r0), sum(d.first_wins_r1), sum(d.first_wins_r2),
           sum(d.first_wins_r3), sum(d.quits_early), sum(d.quits_midway), sum(d.quits_late)
      FROM (SELECT * FROM crowd_athlete_part(NEW)
            UNION ALL
            SELECT -o.athletes, -o.attempts, -o.wins, -o.losses, -o.quits, -o.retries,
                   -o.first_wins_r0, -o.first_wins_r1, -o.first_wins_r2, -o.first_wins_r3,
                   -o.quits_early, -o.quits_midway, -o.quits_late
              FROM crowd_athlete_part(OLD) o) d
    HAVING count(*) > 0
        ON CONFLICT (workout_key, shard) DO UPDATE
       SET athletes = w.athletes + excluded.athletes, attempts = w.attempts + excluded.attempts,
           wins = w.wins + excluded.wins, losses = w.losses + excluded.losses,
           quits = w.quits + excluded.quits, retries = w.retries + excluded.retries,
           first_wins_r0 = w.first_wins_r0 + excluded.first_wins_r0,
           first_wins_r1 = w.first_wins_r1 + excluded.first_wins_r1,
           first_wins_r2 = w.first_wins_r2 + excluded.first_wins_r2,
           first_wins_r3 = w.first_wins_r3 + excluded.first_wins_r3,
           quits_early = w.quits_early + excluded.quits_early,
           quits_midway = w.quits_midway + excluded.quits_midway,
           quits_late = w.quits_late + excluded.quits_late;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_crowd_athlete_change
    AFTER INSERT OR DELETE OR UPDATE ON crowd_athletes
    FOR EACH ROW EXECUTE FUNCTION count_crowd_athlete_change();

-- The history so far (the athletes' trigger fills crowd_workouts as they are inserted).
INSERT INTO crowd_athletes
SELECT x.workout_key, x.athlete_id, sum(x.attempts), sum(x.wins), sum(x.losses), sum(x.quits),
       sum(x.retries), sum(x.wins_r0), sum(x.wins_r1), sum(x.wins_r2), sum(x.wins_r3),
       sum(x.quits_early), sum(x.quits_midway), sum(x.quits_late)
  FROM workout_challenges c,
       LATERAL crowd_contribution(c.workout_name, c.to_user_id, c.status, c.did_beat, c.is_retry,
                                  c.rematch_number, c.partial_stats, c.workout_data) x
 GROUP BY x.workout_key, x.athlete_id;

-- The crowd's figures name nobody: the API reads workouts' and kinds' totals, never an athlete's
-- row (docs/domain.md, "The crowd"; tests/sql/test_privacy.py lists these policies).
ALTER TABLE crowd_workouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE crowd_kinds ENABLE ROW LEVEL SECURITY;
ALTER TABLE workout_kinds ENABLE ROW LEVEL SECURITY;
ALTER TABLE crowd_athletes ENABLE ROW LEVEL SECURITY;
CREATE POLICY crowd_totals_are_public ON crowd_workouts FOR SELECT TO challenges_api USING (true);
COMMENT ON POLICY crowd_totals_are_public ON crowd_workouts IS
    'Totals of many athletes, no user ids; shown only behind CROWD_MIN_ATHLETES athletes.';
CREATE POLICY crowd_totals_are_public ON crowd_kinds FOR SELECT TO challenges_api USING (true);
COMMENT ON POLICY crowd_totals_are_public ON crowd_kinds IS
    'Totals of many athletes, no user ids; shown only behind CROWD_MIN_ATHLETES athletes.';
CREATE POLICY kinds_are_public ON workout_kinds FOR SELECT TO challenges_api USING (true);
COMMENT ON POLICY kinds_are_public ON workout_kinds IS
    'A workout name''s kind: words, no user ids.';
GRANT SELECT ON crowd_workouts, crowd_kinds, workout_kinds TO challenges_api;
-- An athlete's own counts per workout: only the triggers and the scheduler read them.
REVOKE ALL ON crowd_athletes FROM challenges_api;

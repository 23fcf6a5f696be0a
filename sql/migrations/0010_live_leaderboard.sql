-- The leaderboard kept live: each athlete's counters per season ('all', the ISO week 'YYYY-Www'
-- and the month 'YYYY-MM', in UTC), changed by a trigger in the same transaction as the challenge
-- that changes them, so a result is on the board when its job succeeds, and a change costs the
-- few rows it touches however long the history (docs/domain.md, "History, stats and the
-- leaderboard").
--
-- What a challenge counts for, and when, is one function (`challenge_contributions`): the trigger
-- adds a row's contributions after the change and subtracts them before it, and the scheduler's
-- reconciliation (jobs/leaderboards.py) recomputes them from every challenge with the same
-- function, so the two can never disagree about the rules.

DROP MATERIALIZED VIEW challenge_leaderboard;
DROP TABLE view_refreshes;

-- The seasons a moment belongs to.
CREATE FUNCTION leaderboard_seasons(at timestamptz) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY['all', to_char(at AT TIME ZONE 'UTC', 'IYYY-"W"IW'), to_char(at AT TIME ZONE 'UTC', 'YYYY-MM')]
$$;

-- A challenge's part of the board: a sent challenge (not a rematch) counts for its sender when
-- it was sent; a rematch counts as a retry for the challenged athlete when it was made; a
-- result (win, loss, retry won) when completed; a quit when abandoned. NULL inputs (a row that
-- does not exist: OLD of an INSERT, NEW of a DELETE) count for nothing.
CREATE FUNCTION challenge_contributions(from_user uuid, to_user uuid, status text, did_beat boolean,
                                        is_retry boolean, created_at timestamptz,
                                        completed_at timestamptz, abandoned_at timestamptz)
RETURNS TABLE (season text, user_id uuid, wins integer, losses integer, quits integer,
               retries integer, retries_won integer, challenges_sent integer)
LANGUAGE sql STABLE AS $$
    SELECT s, from_user, 0, 0, 0, 0, 0, 1 FROM unnest(leaderboard_seasons(created_at)) s
     WHERE NOT is_retry
    UNION ALL
    SELECT s, to_user, 0, 0, 0, 1, 0, 0 FROM unnest(leaderboard_seasons(created_at)) s
     WHERE is_retry
    UNION ALL
    SELECT s, to_user, did_beat::integer, (NOT did_beat)::integer, 0, 0, (is_retry AND did_beat)::integer, 0
      FROM unnest(leaderboard_seasons(completed_at)) s
     WHERE status = 'completed'
    UNION ALL
    SELECT s, to_user, 0, 0, 1, 0, 0, 0 FROM unnest(leaderboard_seasons(abandoned_at)) s
     WHERE status = 'abandoned'
$$;

-- No foreign key to users: when a user is deleted, the cascade deletes their challenges, whose
-- trigger may touch their counters after the user is gone. Reads join users; reconciliation
-- removes the rows of users that no longer exist.
CREATE TABLE leaderboard_counters (
    season          text NOT NULL,
    user_id         uuid NOT NULL,
    wins            integer NOT NULL DEFAULT 0,
    losses          integer NOT NULL DEFAULT 0,
    quits           integer NOT NULL DEFAULT 0,
    retries         integer NOT NULL DEFAULT 0,
    retries_won     integer NOT NULL DEFAULT 0,
    challenges_sent integer NOT NULL DEFAULT 0,
    win_rate        numeric(5, 4) NOT NULL
        GENERATED ALWAYS AS (COALESCE(round(wins::numeric / NULLIF(wins + losses + quits, 0), 4), 0)) STORED,
    -- The board's order (wins, then win rate, then fewer quits) as one number, so the top is one
    -- index range and a rank is one count of the keys above it. Equal keys are a tie.
    rank_key        bigint NOT NULL GENERATED ALWAYS AS (
        wins::bigint * 1000000000000
        + COALESCE(round(wins::numeric * 10000 / NULLIF(wins + losses + quits, 0)), 0)::bigint * 10000000
        + (9999999 - least(quits, 9999999))) STORED,
    PRIMARY KEY (season, user_id)
);
CREATE INDEX leaderboard_counters_rank ON leaderboard_counters (season, rank_key DESC, user_id);
GRANT SELECT ON leaderboard_counters TO challenges_api;

CREATE FUNCTION count_challenge_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Rows in key order, so two transactions that touch the same athletes lock them in the same
    -- order and never deadlock on each other here.
    INSERT INTO leaderboard_counters AS c
           (season, user_id, wins, losses, quits, retries, retries_won, challenges_sent)
    SELECT d.season, d.user_id, sum(d.wins), sum(d.losses), sum(d.quits), sum(d.retries),
           sum(d.retries_won), sum(d.challenges_sent)
      FROM (SELECT * FROM challenge_contributions(NEW.from_user_id, NEW.to_user_id, NEW.status, NEW.did_beat,
                                                  NEW.is_retry, NEW.created_at, NEW.completed_at, NEW.abandoned_at)
            UNION ALL
            SELECT o.season, o.user_id, -o.wins, -o.losses, -o.quits, -o.retries, -o.retries_won,
                   -o.challenges_sent
              FROM challenge_contributions(OLD.from_user_id, OLD.to_user_id, OLD.status, OLD.did_beat,
                                           OLD.is_retry, OLD.created_at, OLD.completed_at, OLD.abandoned_at) o
           ) d
     GROUP BY d.season, d.user_id
    HAVING sum(abs(d.wins) + abs(d.losses) + abs(d.quits) + abs(d.retries) + abs(d.retries_won)
               + abs(d.challenges_sent)) > 0
     ORDER BY d.season, d.user_id
        ON CONFLICT (season, user_id) DO UPDATE
       SET wins = c.wins + excluded.wins, losses = c.losses + excluded.losses,
           quits = c.quits + excluded.quits, retries = c.retries + excluded.retries,
           retries_won = c.retries_won + excluded.retries_won,
           challenges_sent = c.challenges_sent + excluded.challenges_sent;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_challenge_change
    AFTER INSERT OR DELETE OR UPDATE OF status, did_beat, is_retry, from_user_id, to_user_id,
                                        created_at, completed_at, abandoned_at
    ON workout_challenges FOR EACH ROW EXECUTE FUNCTION count_challenge_change();

-- The history so far.
INSERT INTO leaderboard_counters (season, user_id, wins, losses, quits, retries, retries_won, challenges_sent)
SELECT x.season, x.user_id, sum(x.wins), sum(x.losses), sum(x.quits), sum(x.retries), sum(x.retries_won),
       sum(x.challenges_sent)
  FROM workout_challenges w,
       LATERAL challenge_contributions(w.from_user_id, w.to_user_id, w.status, w.did_beat, w.is_retry,
                                       w.created_at, w.completed_at, w.abandoned_at) x
 GROUP BY x.season, x.user_id;

-- A closed season's final board, as the scheduler froze it when the season ended
-- (jobs/leaderboards.py): its counters as they were then, kept in leaderboard_counters under the
-- key 'final:<season>' (so a final board is read exactly as a live one, on the same index).
-- Counters of a closed season may still move (a challenge sent that week and withdrawn later);
-- its final board does not. The trigger never writes a 'final:' key.
CREATE TABLE leaderboard_seasons_closed (
    season    text PRIMARY KEY,
    closed_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON leaderboard_seasons_closed TO challenges_api;

-- The counters' trigger wrote a row for every athlete a change touched, even when what it added
-- and took away cancelled out: completing a challenge subtracts it as accepted (one challenge
-- sent by the challenger, in three seasons) and adds it as completed (the same challenge sent,
-- plus the result), and the test for "nothing changed" summed the absolute values, so the
-- challenger's three rows were updated by zero on every result. Now a row is written only when
-- one of its sums is not zero: a result writes the challenged athlete's three rows, half as many.

CREATE OR REPLACE FUNCTION count_challenge_change() RETURNS trigger
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
    HAVING (sum(d.wins), sum(d.losses), sum(d.quits), sum(d.retries), sum(d.retries_won),
            sum(d.challenges_sent)) <> (0, 0, 0, 0, 0, 0)
     ORDER BY d.season, d.user_id
        ON CONFLICT (season, user_id) DO UPDATE
       SET wins = c.wins + excluded.wins, losses = c.losses + excluded.losses,
           quits = c.quits + excluded.quits, retries = c.retries + excluded.retries,
           retries_won = c.retries_won + excluded.retries_won,
           challenges_sent = c.challenges_sent + excluded.challenges_sent;
    RETURN NULL;
END
$$;

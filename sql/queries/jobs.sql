-- Scheduled maintenance, run by the scheduler as the owning role.

-- name: try_lock$
SELECT pg_try_advisory_lock(:lock_id);

-- name: unlock$
SELECT pg_advisory_unlock(:lock_id);

-- name: expire_due_challenges
-- One batch: SKIP LOCKED leaves a challenge a worker is accepting right now to the next run.
-- The reads already show these as expired since `expires_at` (challenges_as_seen, 0019); this
-- makes it permanent, with `expired_at` the same moment they showed, and the trigger notifies.
WITH due AS (
    SELECT id FROM workout_challenges
     WHERE status = 'pending' AND expires_at <= now()
     ORDER BY expires_at
     LIMIT :batch_size
       FOR UPDATE SKIP LOCKED
)
UPDATE workout_challenges c SET status = 'expired', expired_at = c.expires_at
  FROM due WHERE c.id = due.id
RETURNING c.id;

-- name: prune_processed_commands
WITH old AS (
    SELECT job_id FROM processed_commands
     WHERE finished_at < now() - make_interval(secs => :retention_seconds)
     ORDER BY finished_at
     LIMIT :batch_size
)
DELETE FROM processed_commands p USING old WHERE p.job_id = old.job_id
RETURNING p.job_id;

-- name: prune_withdrawn_challenges$
WITH pruned AS (
    DELETE FROM withdrawn_challenges
     WHERE withdrawn_at < now() - make_interval(secs => :retention_seconds)
    RETURNING 1
)
SELECT count(*) FROM pruned;

-- name: stale_unindexed_events
-- Published ones only: an unpublished event reaches the indexer through events.publish, so the
-- publisher's row lock never makes the indexer (SKIP LOCKED) pass it over.
SELECT id FROM events
 WHERE indexed_at IS NULL AND published_at IS NOT NULL AND created_at < now() - make_interval(secs => :grace_seconds)
 ORDER BY created_at
 LIMIT :limit;

-- name: stale_unpublished_events
SELECT id FROM events
 WHERE published_at IS NULL AND created_at < now() - make_interval(secs => :grace_seconds)
 ORDER BY created_at
 LIMIT :limit;

-- name: close_ended_community_challenges
-- One batch of challenges whose window is over: they leave the active lists, and whoever had
-- not reached 100 % ends there. SKIP LOCKED leaves a challenge a join holds to the next run;
-- NO KEY UPDATE lets a log that is writing progress for it finish first instead of deadlocking.
WITH due AS (
    SELECT id FROM challenges
     WHERE is_active AND ends_at <= now()
     ORDER BY ends_at
     LIMIT :batch_size
       FOR NO KEY UPDATE SKIP LOCKED
), closed AS (
    UPDATE challenges c SET is_active = false, closed_at = now()
      FROM due WHERE c.id = due.id
    RETURNING c.id
), ended AS (
    UPDATE challenge_participants p SET status = 'ended', ended_at = now()
      FROM closed WHERE p.challenge_id = closed.id AND p.status = 'active'
    RETURNING p.id
)
SELECT id FROM closed;

-- name: system_gauges^
-- The scheduler's gauges (jobs/metrics.py), each from an index: the partial ones on pending
-- challenges and on unpublished and unindexed events. Ages are 0 when nothing waits.
SELECT (SELECT count(*) FROM workout_challenges WHERE status = 'pending') AS pending_challenges,
       (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)
          FROM events WHERE published_at IS NULL) AS oldest_unpublished_seconds,
       (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)
          FROM events WHERE indexed_at IS NULL) AS oldest_unindexed_seconds;

-- name: user_id_batch
-- The next :batch_size user ids after :after (NULL: from the first), in id order.
SELECT id FROM users WHERE :after::uuid IS NULL OR id > :after::uuid ORDER BY id LIMIT :batch_size;

-- name: repair_leaderboard_counters$
-- Recompute the counters of the users with ids from :first to :last from their challenges, with
-- the trigger's own rules (challenge_contributions), and add the difference to what is stored.
-- Both sides are read in this statement's one snapshot, and the repair adds a difference rather
-- than writing a total, so a result committed meanwhile (counted by its own trigger, seen by
-- neither side here) stays counted. Returns how many counter rows were wrong.
WITH expected AS (
    SELECT x.season, x.user_id, sum(x.wins) AS wins, sum(x.losses) AS losses, sum(x.quits) AS quits,
           sum(x.retries) AS retries, sum(x.retries_won) AS retries_won,
           sum(x.challenges_sent) AS challenges_sent
      FROM workout_challenges w,
           LATERAL challenge_contributions(w.from_user_id, w.to_user_id, w.status, w.did_beat, w.is_retry,
                                           w.created_at, w.completed_at, w.abandoned_at) x
     WHERE (w.from_user_id BETWEEN :first AND :last OR w.to_user_id BETWEEN :first AND :last)
       AND x.user_id BETWEEN :first AND :last
     GROUP BY x.season, x.user_id
), stored AS (
    -- (final boards of closed seasons are not counters; rows of users that no longer exist are
    -- delete_orphan_counters' to remove)
    SELECT season, user_id, wins, losses, quits, retries, retries_won, challenges_sent
      FROM leaderboard_counters c
     WHERE user_id BETWEEN :first AND :last AND NOT starts_with(season, 'final:')
       AND EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
), drift AS (
    SELECT COALESCE(e.season, s.season) AS season, COALESCE(e.user_id, s.user_id) AS user_id,
           COALESCE(e.wins, 0) - COALESCE(s.wins, 0) AS wins,
           COALESCE(e.losses, 0) - COALESCE(s.losses, 0) AS losses,
           COALESCE(e.quits, 0) - COALESCE(s.quits, 0) AS quits,
           COALESCE(e.retries, 0) - COALESCE(s.retries, 0) AS retries,
           COALESCE(e.retries_won, 0) - COALESCE(s.retries_won, 0) AS retries_won,
           COALESCE(e.challenges_sent, 0) - COALESCE(s.challenges_sent, 0) AS challenges_sent
      FROM expected e FULL JOIN stored s ON s.season = e.season AND s.user_id = e.user_id
), repaired AS (
    INSERT INTO leaderboard_counters AS c
           (season, user_id, wins, losses, quits, retries, retries_won, challenges_sent)
    SELECT * FROM drift
     WHERE (wins, losses, quits, retries, retries_won, challenges_sent) <> (0, 0, 0, 0, 0, 0)
     ORDER BY season, user_id
        ON CONFLICT (season, user_id) DO UPDATE
       SET wins = c.wins + excluded.wins, losses = c.losses + excluded.losses,
           quits = c.quits + excluded.quits, retries = c.retries + excluded.retries,
           retries_won = c.retries_won + excluded.retries_won,
           challenges_sent = c.challenges_sent + excluded.challenges_sent
    RETURNING 1
)
SELECT count(*) FROM repaired;

-- name: delete_orphan_counters$
-- Counters of users deleted since (their challenges' trigger may have written them on the way).
WITH gone AS (
    DELETE FROM leaderboard_counters c WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: close_season$
-- Marks :season closed; false if it already was (another scheduler, or an earlier turn).
WITH closed AS (
    INSERT INTO leaderboard_seasons_closed (season) VALUES (:season)
    ON CONFLICT DO NOTHING RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM closed);

-- name: snapshot_season!
-- The season's final board: its counters as they are now, under 'final:<season>'.
INSERT INTO leaderboard_counters
       (season, user_id, wins, losses, quits, retries, retries_won, challenges_sent)
SELECT 'final:' || season, user_id, wins, losses, quits, retries, retries_won, challenges_sent
  FROM leaderboard_counters c
 WHERE season = :season AND EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id);

-- name: notify_podium$
-- Each athlete with a win in the closed :season (of :period) who finished in the top three of their own
-- friends board (they and their friends) or in the global top ten hears it once, with both
-- ranks (null where not on that podium). Ranks as on the board: ties share one.
WITH board AS (
    SELECT user_id, wins, rank_key FROM leaderboard_counters WHERE season = 'final:' || :season::text
), global AS (
    SELECT user_id, wins, rank_key, rank() OVER (ORDER BY rank_key DESC) AS rank FROM board
), friends AS (
    SELECT g.user_id, 1 + count(f.user_id) AS rank
      FROM global g
      LEFT JOIN user_friends uf ON uf.user_id = g.user_id
      LEFT JOIN board f ON f.user_id = uf.friend_id AND f.rank_key > g.rank_key
     WHERE g.wins > 0
     GROUP BY g.user_id
), told AS (
    INSERT INTO challenge_notifications (user_id, notification_type, data)
    SELECT g.user_id, 'leaderboard_podium',
           jsonb_build_object('season', :season::text, 'period', :period::text,
                              'wins', g.wins,
                              'friends_rank', CASE WHEN f.rank <= 3 THEN f.rank END,
                              'global_rank', CASE WHEN g.rank <= 10 THEN g.rank END)
      FROM global g JOIN friends f ON f.user_id = g.user_id
     WHERE f.rank <= 3 OR g.rank <= 10
     ORDER BY g.user_id
        ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM told;

-- name: rated_challenges_in_order
-- Every rated challenge, in the order the workers applied the ratings (rating_seq), with the
-- game's result: the challenged athlete won a completed challenge they beat, and nothing else.
SELECT from_user_id, to_user_id, (status = 'completed' AND did_beat) AS challenged_won
  FROM workout_challenges WHERE rating_seq IS NOT NULL ORDER BY rating_seq;

-- name: stored_ratings
SELECT user_id, mu, sigma, rated_challenges FROM athlete_ratings;

-- name: repair_ratings$
-- Sets a batch of athletes' ratings to the replayed ones, each unless it changed since the
-- replay's snapshot (its seen values; NULL: it had no row then). Rows are taken in id order, as
-- the workers lock an athlete pair, so the two never wait for each other in a circle. Returns
-- how many were repaired.
WITH wanted AS (
    SELECT * FROM unnest(:user_ids::uuid[], :mus::float8[], :sigmas::float8[], :rated::integer[],
                         :seen_mus::float8[], :seen_sigmas::float8[], :seen_rated::integer[])
           AS w (user_id, mu, sigma, rated_challenges, seen_mu, seen_sigma, seen_rated)
), repaired AS (
    INSERT INTO athlete_ratings AS r (user_id, mu, sigma, rated_challenges)
    SELECT user_id, mu, sigma, rated_challenges FROM wanted ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE
       SET mu = excluded.mu, sigma = excluded.sigma, rated_challenges = excluded.rated_challenges,
           updated_at = now()
     WHERE (r.mu, r.sigma, r.rated_challenges) =
           (SELECT w.seen_mu, w.seen_sigma, w.seen_rated FROM wanted w WHERE w.user_id = excluded.user_id)
    RETURNING 1
)
SELECT count(*) FROM repaired;

-- name: repair_leaderboard_levels$
-- leaderboard_levels recomputed from the counters (each season's board) and the ratings (the
-- 'rating' board), all read in this statement's one snapshot, the difference added (so a change
-- committed meanwhile stays counted). Returns how many level rows were wrong.
WITH expected AS (
    SELECT season, board_level(rank_key) AS level, board_shard(user_id) AS shard, count(*)::integer AS athletes
      FROM leaderboard_counters GROUP BY 1, 2, 3
    UNION ALL
    SELECT 'rating', rating_level(value), board_shard(user_id), count(*)::integer
      FROM athlete_ratings GROUP BY 2, 3
), drift AS (
    SELECT COALESCE(e.season, l.season) AS season, COALESCE(e.level, l.level) AS level,
           COALESCE(e.shard, l.shard) AS shard, COALESCE(e.athletes, 0) - COALESCE(l.athletes, 0) AS athletes
      FROM expected e
      FULL JOIN leaderboard_levels l ON l.season = e.season AND l.level = e.level AND l.shard = e.shard
), repaired AS (
    INSERT INTO leaderboard_levels AS l (season, level, shard, athletes)
    SELECT * FROM drift WHERE athletes <> 0 ORDER BY season, level, shard
        ON CONFLICT (season, level, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes
    RETURNING 1
)
SELECT count(*) FROM repaired;

-- The crowd (migration 0020) ------------------------------------------------------------------

-- name: repair_crowd_athletes$
-- Recompute the crowd counts of the athletes with ids from :first to :last from the challenges
-- they were challenged in, with the trigger's own rules (crowd_contribution), and add the
-- difference to what is stored, as repair_leaderboard_counters does (one snapshot for both
-- sides, a difference rather than a total). Each repaired row's trigger carries its difference
-- on to crowd_workouts. Returns how many rows were wrong.
WITH expected AS (
    SELECT x.workout_key, x.athlete_id, sum(x.attempts) AS attempts, sum(x.wins) AS wins,
           sum(x.losses) AS losses, sum(x.quits) AS quits, sum(x.retries) AS retries,
           sum(x.wins_r0) AS wins_r0, sum(x.wins_r1) AS wins_r1, sum(x.wins_r2) AS wins_r2,
           sum(x.wins_r3) AS wins_r3, sum(x.quits_early) AS quits_early,
           sum(x.quits_midway) AS quits_midway, sum(x.quits_late) AS quits_late
      FROM workout_challenges w,
           LATERAL crowd_contribution(w.workout_name, w.to_user_id, w.status, w.did_beat, w.is_retry,
                                      w.rematch_number, w.partial_stats, w.workout_data) x
     WHERE w.to_user_id BETWEEN :first AND :last
     GROUP BY x.workout_key, x.athlete_id
), stored AS (
    SELECT * FROM crowd_athletes WHERE athlete_id BETWEEN :first AND :last
), drift AS (
    SELECT COALESCE(e.workout_key, s.workout_key) AS workout_key,
           COALESCE(e.athlete_id, s.athlete_id) AS athlete_id,
           COALESCE(e.attempts, 0) - COALESCE(s.attempts, 0) AS attempts,
           COALESCE(e.wins, 0) - COALESCE(s.wins, 0) AS wins,
           COALESCE(e.losses, 0) - COALESCE(s.losses, 0) AS losses,
           COALESCE(e.quits, 0) - COALESCE(s.quits, 0) AS quits,
           COALESCE(e.retries, 0) - COALESCE(s.retries, 0) AS retries,
           COALESCE(e.wins_r0, 0) - COALESCE(s.wins_r0, 0) AS wins_r0,
           COALESCE(e.wins_r1, 0) - COALESCE(s.wins_r1, 0) AS wins_r1,
           COALESCE(e.wins_r2, 0) - COALESCE(s.wins_r2, 0) AS wins_r2,
           COALESCE(e.wins_r3, 0) - COALESCE(s.wins_r3, 0) AS wins_r3,
           COALESCE(e.quits_early, 0) - COALESCE(s.quits_early, 0) AS quits_early,
           COALESCE(e.quits_midway, 0) - COALESCE(s.quits_midway, 0) AS quits_midway,
           COALESCE(e.quits_late, 0) - COALESCE(s.quits_late, 0) AS quits_late
      FROM expected e FULL JOIN stored s ON s.workout_key = e.workout_key AND s.athlete_id = e.athlete_id
), repaired AS (
    INSERT INTO crowd_athletes AS c
    SELECT * FROM drift
     WHERE (attempts, wins, losses, quits, retries, wins_r0, wins_r1, wins_r2, wins_r3, quits_early,
            quits_midway, quits_late) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
     ORDER BY workout_key, athlete_id
        ON CONFLICT (workout_key, athlete_id) DO UPDATE
       SET attempts = c.attempts + excluded.attempts, wins = c.wins + excluded.wins,
           losses = c.losses + excluded.losses, quits = c.quits + excluded.quits,
           retries = c.retries + excluded.retries, wins_r0 = c.wins_r0 + excluded.wins_r0,
           wins_r1 = c.wins_r1 + excluded.wins_r1, wins_r2 = c.wins_r2 + excluded.wins_r2,
           wins_r3 = c.wins_r3 + excluded.wins_r3, quits_early = c.quits_early + excluded.quits_early,
           quits_midway = c.quits_midway + excluded.quits_midway,
           quits_late = c.quits_late + excluded.quits_late
    RETURNING 1
)
SELECT count(*) FROM repaired;

-- name: repair_crowd_workouts$
-- Recompute each workout's figures from its athletes' rows (crowd_athlete_part, the trigger's
-- rule) and add the difference to what is stored. Returns how many rows (workouts' shards) were wrong.
WITH expected AS (
    SELECT a.workout_key, crowd_shard(a.athlete_id) AS shard, sum(p.athletes) AS athletes, sum(p.attempts) AS attempts,
           sum(p.wins) AS wins, sum(p.losses) AS losses, sum(p.quits) AS quits,
           sum(p.retries) AS retries, sum(p.first_wins_r0) AS first_wins_r0,
           sum(p.first_wins_r1) AS first_wins_r1, sum(p.first_wins_r2) AS first_wins_r2,
           sum(p.first_wins_r3) AS first_wins_r3, sum(p.quits_early) AS quits_early,
           sum(p.quits_midway) AS quits_midway, sum(p.quits_late) AS quits_late
      FROM crowd_athletes a, LATERAL crowd_athlete_part(a) p
     GROUP BY a.workout_key, crowd_shard(a.athlete_id)
), drift AS (
    SELECT COALESCE(e.workout_key, s.workout_key) AS workout_key, COALESCE(e.shard, s.shard) AS shard,
           COALESCE(e.athletes, 0) - COALESCE(s.athletes, 0) AS athletes,
           COALESCE(e.attempts, 0) - COALESCE(s.attempts, 0) AS attempts,
           COALESCE(e.wins, 0) - COALESCE(s.wins, 0) AS wins,
           COALESCE(e.losses, 0) - COALESCE(s.losses, 0) AS losses,
           COALESCE(e.quits, 0) - COALESCE(s.quits, 0) AS quits,
           COALESCE(e.retries, 0) - COALESCE(s.retries, 0) AS retries,
           COALESCE(e.first_wins_r0, 0) - COALESCE(s.first_wins_r0, 0) AS first_wins_r0,
           COALESCE(e.first_wins_r1, 0) - COALESCE(s.first_wins_r1, 0) AS first_wins_r1,
           COALESCE(e.first_wins_r2, 0) - COALESCE(s.first_wins_r2, 0) AS first_wins_r2,
           COALESCE(e.first_wins_r3, 0) - COALESCE(s.first_wins_r3, 0) AS first_wins_r3,
           COALESCE(e.quits_early, 0) - COALESCE(s.quits_early, 0) AS quits_early,
           COALESCE(e.quits_midway, 0) - COALESCE(s.quits_midway, 0) AS quits_midway,
           COALESCE(e.quits_late, 0) - COALESCE(s.quits_late, 0) AS quits_late
      FROM expected e FULL JOIN crowd_workouts s ON s.workout_key = e.workout_key AND s.shard = e.shard
), repaired AS (
    INSERT INTO crowd_workouts AS w
    SELECT * FROM drift
     WHERE (athletes, attempts, wins, losses, quits, retries, first_wins_r0, first_wins_r1,
            first_wins_r2, first_wins_r3, quits_early, quits_midway, quits_late)
           <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
     ORDER BY workout_key, shard
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
           quits_late = w.quits_late + excluded.quits_late
    RETURNING 1
)
SELECT count(*) FROM repaired;

-- name: refresh_crowd_kinds$
-- Every kind's figures from its workouts' athletes, an athlete of two leg workouts being one
-- athlete of the kind, and '*' for every workout (kinds known or not). Written whole: only this
-- job writes crowd_kinds. Returns how many kinds there are.
WITH athletes AS (
    SELECT k.kind, a.* FROM crowd_athletes a LEFT JOIN workout_kinds k USING (workout_key)
), per_athlete AS (
    SELECT COALESCE(kind, '*') AS kind, athlete_id, sum(attempts) AS attempts, sum(wins) AS wins,
           sum(losses) AS losses, sum(quits) AS quits, sum(retries) AS retries,
           sum(wins_r0) AS wins_r0, sum(wins_r1) AS wins_r1, sum(wins_r2) AS wins_r2,
           sum(wins_r3) AS wins_r3, sum(quits_early) AS quits_early, sum(quits_midway) AS quits_midway,
           sum(quits_late) AS quits_late
      FROM athletes
     GROUP BY GROUPING SETS ((kind, athlete_id), (athlete_id))
    HAVING kind IS NOT NULL OR GROUPING(kind) = 1
), figures AS (
    SELECT p.kind, sum(x.athletes) AS athletes, sum(x.attempts) AS attempts, sum(x.wins) AS wins,
           sum(x.losses) AS losses, sum(x.quits) AS quits, sum(x.retries) AS retries,
           sum(x.first_wins_r0) AS first_wins_r0, sum(x.first_wins_r1) AS first_wins_r1,
           sum(x.first_wins_r2) AS first_wins_r2, sum(x.first_wins_r3) AS first_wins_r3,
           sum(x.quits_early) AS quits_early, sum(x.quits_midway) AS quits_midway,
           sum(x.quits_late) AS quits_late
      FROM per_athlete p,
           LATERAL crowd_athlete_part(ROW(p.kind, p.athlete_id, p.attempts, p.wins, p.losses, p.quits,
                                          p.retries, p.wins_r0, p.wins_r1, p.wins_r2, p.wins_r3,
                                          p.quits_early, p.quits_midway, p.quits_late)::crowd_athletes) x
     GROUP BY p.kind
), written AS (
    INSERT INTO crowd_kinds SELECT * FROM figures
        ON CONFLICT (kind) DO UPDATE
       SET athletes = excluded.athletes, attempts = excluded.attempts, wins = excluded.wins,
           losses = excluded.losses, quits = excluded.quits, retries = excluded.retries,
           first_wins_r0 = excluded.first_wins_r0, first_wins_r1 = excluded.first_wins_r1,
           first_wins_r2 = excluded.first_wins_r2, first_wins_r3 = excluded.first_wins_r3,
           quits_early = excluded.quits_early, quits_midway = excluded.quits_midway,
           quits_late = excluded.quits_late
    RETURNING 1
), gone AS (
    DELETE FROM crowd_kinds WHERE kind NOT IN (SELECT kind FROM figures)
)
SELECT count(*) FROM written;

-- name: delete_empty_crowd_rows!
-- Rows that count nothing any more (an athlete's challenges all deleted, with their account).
DELETE FROM crowd_athletes
 WHERE (attempts, wins, losses, quits, retries, wins_r0, wins_r1, wins_r2, wins_r3, quits_early,
        quits_midway, quits_late) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
DELETE FROM crowd_workouts
 WHERE (athletes, attempts, wins, losses, quits, retries, first_wins_r0, first_wins_r1,
        first_wins_r2, first_wins_r3, quits_early, quits_midway, quits_late)
       = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

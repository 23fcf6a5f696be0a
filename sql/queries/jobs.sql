-- Scheduled maintenance, run by the scheduler as the owning role.

-- name: try_lock$
SELECT pg_try_advisory_lock(:lock_id);

-- name: unlock$
SELECT pg_advisory_unlock(:lock_id);

-- name: expire_due_challenges
-- One batch: SKIP LOCKED leaves a challenge a worker is accepting right now to the next run.
WITH due AS (
    SELECT id FROM workout_challenges
     WHERE status = 'pending' AND expires_at <= now()
     ORDER BY expires_at
     LIMIT :batch_size
       FOR UPDATE SKIP LOCKED
)
UPDATE workout_challenges c SET status = 'expired', expired_at = now()
  FROM due WHERE c.id = due.id
RETURNING c.id;

-- name: refresh_leaderboard#
REFRESH MATERIALIZED VIEW CONCURRENTLY challenge_leaderboard;

-- name: mark_leaderboard_refreshed!
UPDATE view_refreshes SET refreshed_at = now() WHERE view_name = 'challenge_leaderboard';

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
          FROM events WHERE indexed_at IS NULL) AS oldest_unindexed_seconds,
       (SELECT extract(epoch FROM clock_timestamp() - refreshed_at)
          FROM view_refreshes WHERE view_name = 'challenge_leaderboard') AS leaderboard_age_seconds;

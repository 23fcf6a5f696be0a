-- A pending challenge past `expires_at` reads as expired at once, everywhere the API reads it.
--
-- The scheduler's sweep (`expire_due_challenges`, every EXPIRY_INTERVAL_SECONDS) is what writes
-- `status = 'expired'` and, through the trigger, tells the challenger (`challenge_expired`). Until
-- it runs, the row still says `pending`, while accept, decline and withdraw already answer
-- "The challenge has expired." So the reads do not trust the stored status alone:
-- `challenge_status()` is the one definition of what a challenge's status is now, and
-- `challenges_as_seen` is `workout_challenges` with it (and `expired_at`, the moment it expired:
-- its `expires_at`, as the sweep now records too). The API's detail, list (and its filters),
-- retry chain and stats read that view, so they agree with each other and with the commands'
-- early answer, whatever the sweep's timing. The sweep only makes it permanent and notifies.
--
-- The leaderboards need nothing: a pending and an expired challenge count the same there (as
-- sent, for its sender, when sent: challenge_contributions(), 0010), and neither is a win, a
-- loss or a quit.

CREATE FUNCTION challenge_status(p_status text, p_expires_at timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_status = 'pending' AND p_expires_at <= now() THEN 'expired' ELSE p_status END
$$;

-- security_invoker: read as the caller, under workout_challenges' Row Level Security policies.
CREATE VIEW challenges_as_seen WITH (security_invoker = true) AS
SELECT c.id, c.from_user_id, c.to_user_id, c.workout_log_id, c.activity_id, c.workout_name,
       c.workout_data, c.challenge_message,
       challenge_status(c.status, c.expires_at) AS status,
       c.accepted_at, c.declined_at, c.completed_at, c.abandoned_at,
       CASE WHEN c.status = 'pending' AND challenge_status(c.status, c.expires_at) = 'expired' THEN c.expires_at
            ELSE c.expired_at END AS expired_at,
       c.challenger_stats, c.challenged_stats, c.did_beat, c.quit_reason, c.partial_stats,
       c.is_retry, c.retried_from_challenge_id, c.retry_count, c.created_at, c.updated_at,
       c.expires_at, c.rating_change, c.rating_seq
  FROM workout_challenges c;

GRANT SELECT ON challenges_as_seen TO challenges_api;

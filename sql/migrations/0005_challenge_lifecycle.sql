-- The rest of the friend-challenge lifecycle: privacy for views, withdrawn challenges, one
-- BEAT THIS per post and athlete, and a leaderboard that carries its global rank.

-- Views run with their owner's rights unless told otherwise, which would let the API's role
-- read every row past Row Level Security. Invoker rights make the policies apply through them.
ALTER VIEW user_friends SET (security_invoker = true);
ALTER VIEW pending_challenges_with_users SET (security_invoker = true);
ALTER VIEW challenge_retry_chains SET (security_invoker = true);

-- The feed policy asked are_friends() once per post; the caller's friends as one subquery are
-- computed once per query instead, and each post is a hash lookup.
DROP POLICY visible_posts ON activity_feed;
CREATE POLICY visible_posts ON activity_feed FOR SELECT TO challenges_api
    USING (user_id = app_user_id()
           OR visibility = 'public'
           OR (visibility = 'friends'
               AND user_id IN (SELECT friend_id FROM user_friends WHERE user_id = app_user_id())));

-- A pending challenge its sender deleted leaves this tombstone, so a command still queued for
-- it (an accept racing the delete) is refused as `invalid_state`, not as an unknown challenge.
CREATE TABLE withdrawn_challenges (
    id           uuid PRIMARY KEY,
    from_user_id uuid NOT NULL,
    to_user_id   uuid NOT NULL,
    workout_name text NOT NULL,
    withdrawn_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION record_challenge_withdrawal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO withdrawn_challenges (id, from_user_id, to_user_id, workout_name)
    VALUES (OLD.id, OLD.from_user_id, OLD.to_user_id, OLD.workout_name)
    ON CONFLICT (id) DO NOTHING;
    INSERT INTO events (event_type, actor_id, subject_id, payload)
    VALUES ('challenge_withdrawn', OLD.from_user_id, OLD.id, jsonb_build_object(
        'challenge_id', OLD.id, 'from_user_id', OLD.from_user_id, 'to_user_id', OLD.to_user_id,
        'status', 'withdrawn', 'workout_name', OLD.workout_name));
    RETURN OLD;
END
$$;
CREATE TRIGGER workout_challenges_record_withdrawal
    AFTER DELETE ON workout_challenges
    FOR EACH ROW WHEN (OLD.status = 'pending')
    EXECUTE FUNCTION record_challenge_withdrawal();

ALTER TABLE withdrawn_challenges ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON withdrawn_challenges TO challenges_api;
CREATE POLICY participants_only ON withdrawn_challenges FOR SELECT TO challenges_api
    USING (app_user_id() IN (from_user_id, to_user_id));

-- Outcomes of finished commands and tombstones are pruned by age by the scheduler.
CREATE INDEX processed_commands_by_age ON processed_commands (finished_at);
CREATE INDEX withdrawn_challenges_by_age ON withdrawn_challenges (withdrawn_at);

-- BEAT THIS once per post and athlete; a second try at the same workout is a retry.
CREATE UNIQUE INDEX workout_challenges_one_beat_this
    ON workout_challenges (activity_id, to_user_id)
    WHERE activity_id IS NOT NULL AND NOT is_retry;

-- The leaderboard again, now with its global rank (docs/domain.md, "History, stats and the
-- leaderboard": wins, then win rate, then fewer quits; ties share a rank), so the top of the board is an index scan.
DROP MATERIALIZED VIEW challenge_leaderboard;
CREATE MATERIALIZED VIEW challenge_leaderboard AS
WITH received AS (
    SELECT to_user_id AS user_id,
           count(*) FILTER (WHERE status = 'completed' AND did_beat) AS wins,
           count(*) FILTER (WHERE status = 'completed' AND NOT did_beat) AS losses,
           count(*) FILTER (WHERE status = 'abandoned') AS quits,
           count(*) FILTER (WHERE is_retry) AS retries,
           count(*) FILTER (WHERE is_retry AND status = 'completed' AND did_beat) AS retries_won
      FROM workout_challenges GROUP BY to_user_id
),
sent AS (
    SELECT from_user_id AS user_id, count(*) FILTER (WHERE NOT is_retry) AS challenges_sent
      FROM workout_challenges GROUP BY from_user_id
),
totals AS (
    SELECT u.id AS user_id,
           COALESCE(r.wins, 0) AS wins,
           COALESCE(r.losses, 0) AS losses,
           COALESCE(r.quits, 0) AS quits,
           COALESCE(round(r.wins::numeric / NULLIF(r.wins + r.losses + r.quits, 0), 4), 0) AS win_rate,
           COALESCE(r.retries, 0) AS retries,
           COALESCE(r.retries_won, 0) AS retries_won,
           COALESCE(s.challenges_sent, 0) AS challenges_sent
      FROM users u
      LEFT JOIN received r ON r.user_id = u.id
      LEFT JOIN sent s ON s.user_id = u.id
     WHERE r.user_id IS NOT NULL OR s.user_id IS NOT NULL
)
SELECT totals.*, rank() OVER (ORDER BY wins DESC, win_rate DESC, quits ASC) AS global_rank
  FROM totals
WITH DATA;
CREATE UNIQUE INDEX challenge_leaderboard_user ON challenge_leaderboard (user_id);
CREATE INDEX challenge_leaderboard_rank ON challenge_leaderboard (global_rank, user_id);
GRANT SELECT ON challenge_leaderboard TO challenges_api;

-- The seed's views and functions: pending challenges with names, retry chains, per-user retry
-- and abandonment stats, and the leaderboard (materialized, refreshed CONCURRENTLY).

CREATE VIEW pending_challenges_with_users AS
SELECT c.*,
       f.display_name AS from_display_name, f.avatar_url AS from_avatar_url,
       t.display_name AS to_display_name, t.avatar_url AS to_avatar_url
  FROM workout_challenges c
  JOIN users f ON f.id = c.from_user_id
  JOIN users t ON t.id = c.to_user_id
 WHERE c.status IN ('pending', 'accepted');

-- Every challenge with the root of its retry chain and its depth (0 for the original).
CREATE VIEW challenge_retry_chains AS
WITH RECURSIVE chain AS (
    SELECT id AS root_challenge_id, id AS challenge_id, retried_from_challenge_id, 0 AS depth
      FROM workout_challenges
     WHERE retried_from_challenge_id IS NULL
    UNION ALL
    SELECT chain.root_challenge_id, c.id, c.retried_from_challenge_id, chain.depth + 1
      FROM workout_challenges c
      JOIN chain ON c.retried_from_challenge_id = chain.challenge_id
)
SELECT chain.root_challenge_id, chain.challenge_id, chain.retried_from_challenge_id, chain.depth,
       c.from_user_id, c.to_user_id, c.workout_name, c.status, c.did_beat, c.created_at
  FROM chain
  JOIN workout_challenges c ON c.id = chain.challenge_id;

CREATE FUNCTION get_user_retry_stats(p_user_id uuid)
RETURNS TABLE (total_retries bigint, retries_won bigint, retry_win_rate numeric,
               most_retried_workout text, avg_retries_to_win numeric)
LANGUAGE sql STABLE AS $$
    WITH mine AS (
        SELECT * FROM workout_challenges WHERE to_user_id = p_user_id AND is_retry
    ),
    first_wins AS (
        SELECT root_challenge_id, min(depth) AS depth
          FROM challenge_retry_chains
         WHERE to_user_id = p_user_id AND did_beat AND depth > 0
         GROUP BY root_challenge_id
    )
    SELECT (SELECT count(*) FROM mine),
           (SELECT count(*) FROM mine WHERE did_beat),
           (SELECT round(count(*) FILTER (WHERE did_beat)::numeric / NULLIF(count(*), 0), 4) FROM mine),
           (SELECT workout_name FROM mine GROUP BY workout_name
             ORDER BY count(*) DESC, max(created_at) DESC LIMIT 1),
           (SELECT round(avg(depth), 2) FROM first_wins)
$$;

CREATE FUNCTION get_user_abandonment_stats(p_user_id uuid)
RETURNS TABLE (total_abandoned bigint, most_common_quit_reason text, abandonment_rate numeric)
LANGUAGE sql STABLE AS $$
    WITH finished AS (
        SELECT * FROM workout_challenges
         WHERE to_user_id = p_user_id AND status IN ('completed', 'abandoned')
    )
    SELECT count(*) FILTER (WHERE status = 'abandoned'),
           (SELECT quit_reason FROM finished WHERE status = 'abandoned'
             GROUP BY quit_reason ORDER BY count(*) DESC, max(abandoned_at) DESC LIMIT 1),
           round(count(*) FILTER (WHERE status = 'abandoned')::numeric / NULLIF(count(*), 0), 4)
      FROM finished
$$;

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
)
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
WITH DATA;
CREATE UNIQUE INDEX challenge_leaderboard_user ON challenge_leaderboard (user_id);
CREATE INDEX challenge_leaderboard_rank ON challenge_leaderboard (wins DESC, win_rate DESC, quits ASC);

-- When each materialized view was last refreshed, for the leaderboard's `refreshed_at`.
CREATE TABLE view_refreshes (
    view_name    text PRIMARY KEY,
    refreshed_at timestamptz NOT NULL
);
INSERT INTO view_refreshes VALUES ('challenge_leaderboard', now());

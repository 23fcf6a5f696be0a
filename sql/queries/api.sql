-- Reads of the API. It connects as challenges_api (SELECT only) with app.user_id set by every
-- read before its queries, so Row Level Security limits every query to what the caller may see.
-- Other people are read from the views of their public columns (migration 0017):
-- public_profiles for users, community_standings for participations.

-- name: set_caller!
-- For the session: the API reads in autocommit, and every read sets it ('' for nobody) first.
SELECT set_config('app.user_id', :user_id, false);

-- name: get_my_profile^
-- The caller's own, time zone included, with the skill rating (NULLs before the first settled
-- challenge: the starting rating).
SELECT u.id, u.display_name, u.avatar_url, u.timezone, u.created_at,
       r.mu AS rating_mu, r.sigma AS rating_sigma, COALESCE(r.rated_challenges, 0) AS rated_challenges
  FROM users u LEFT JOIN athlete_ratings r ON r.user_id = u.id
 WHERE u.id = :user_id;

-- name: get_public_profile^
-- Anyone's, as get_my_profile without the time zone.
SELECT u.id, u.display_name, u.avatar_url, u.created_at,
       r.mu AS rating_mu, r.sigma AS rating_sigma, COALESCE(r.rated_challenges, 0) AS rated_challenges
  FROM public_profiles u LEFT JOIN athlete_ratings r ON r.user_id = u.id
 WHERE u.id = :user_id;

-- name: user_exists$
SELECT EXISTS (SELECT 1 FROM public_profiles WHERE id = :user_id);

-- name: are_friends$
SELECT are_friends(:a, :b);

-- name: count_friends_among$
SELECT count(*) FROM user_friends WHERE user_id = :user_id AND friend_id = ANY(:ids::uuid[]);

-- name: get_friendship^
SELECT requester_id, addressee_id, status FROM friendships
 WHERE LEAST(requester_id, addressee_id) = LEAST(:a::uuid, :b::uuid)
   AND GREATEST(requester_id, addressee_id) = GREATEST(:a::uuid, :b::uuid);

-- name: list_friends
SELECT u.id, u.display_name, u.avatar_url, f.accepted_at AS friends_since
  FROM user_friends f JOIN public_profiles u ON u.id = f.friend_id
 WHERE f.user_id = :user_id
 ORDER BY u.display_name, u.id;

-- name: friend_ids
SELECT friend_id::text AS id FROM user_friends WHERE user_id = :user_id;

-- name: list_friend_requests
SELECT u.id, u.display_name, u.avatar_url, fr.created_at,
       CASE WHEN fr.requester_id = :user_id THEN 'outgoing' ELSE 'incoming' END AS direction
  FROM friendships fr
  JOIN public_profiles u ON u.id = CASE WHEN fr.requester_id = :user_id THEN fr.addressee_id ELSE fr.requester_id END
 WHERE fr.status = 'pending' AND :user_id IN (fr.requester_id, fr.addressee_id)
 ORDER BY fr.created_at DESC;

-- name: list_workouts
SELECT id, workout_name, duration_minutes, total_volume, volume_unit, notes, performed_at, created_at
  FROM workout_logs
 WHERE user_id = :user_id
   AND (:cursor_at::timestamptz IS NULL OR (performed_at, id) < (:cursor_at::timestamptz, :cursor_id::uuid))
 ORDER BY performed_at DESC, id DESC
 LIMIT :limit;

-- name: get_workout^
SELECT id, user_id FROM workout_logs WHERE id = :id;

-- name: feed
-- The newest `limit` posts of each author (the caller and their friends) from the per-author
-- index, merged; so the cost follows the number of friends, not the size of the feed table.
-- can_beat_this: a friend's workout post the caller has not taken on yet (a second go at the
-- same workout is a retry of that challenge).
WITH authors AS (
    SELECT :user_id::uuid AS user_id
    UNION ALL
    SELECT friend_id FROM user_friends WHERE user_id = :user_id
)
SELECT f.id, f.user_id, f.activity_type, f.activity_data, f.workout_log_id, f.visibility,
       f.created_at, u.display_name, u.avatar_url,
       (f.activity_type = 'workout_completed' AND f.user_id <> :user_id
        AND f.workout_log_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM workout_challenges c
                         WHERE c.activity_id = f.id AND c.to_user_id = :user_id AND NOT c.is_retry)
       ) AS can_beat_this
  FROM authors a
 CROSS JOIN LATERAL (
    SELECT * FROM activity_feed p
     WHERE p.user_id = a.user_id
       AND (a.user_id = :user_id OR p.visibility IN ('friends', 'public'))
       AND (:cursor_at::timestamptz IS NULL
            OR (p.created_at, p.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
     ORDER BY p.created_at DESC, p.id DESC
     LIMIT :limit) f
  JOIN public_profiles u ON u.id = f.user_id
 ORDER BY f.created_at DESC, f.id DESC
 LIMIT :limit;

-- name: get_post^
SELECT f.id, f.user_id, f.activity_type, f.workout_log_id, are_friends(f.user_id, :user_id) AS by_friend,
       EXISTS (SELECT 1 FROM workout_challenges c
                WHERE c.activity_id = f.id AND c.to_user_id = :user_id AND NOT c.is_retry) AS taken
  FROM activity_feed f WHERE f.id = :id;

-- name: get_challenge^
-- challenges_as_seen (0019): a pending challenge past its expiry reads as expired at once.
SELECT c.*, c.expires_at <= now() AS is_expired,
       f.display_name AS from_display_name, f.avatar_url AS from_avatar_url,
       t.display_name AS to_display_name, t.avatar_url AS to_avatar_url
  FROM challenges_as_seen c
  JOIN public_profiles f ON f.id = c.from_user_id
  JOIN public_profiles t ON t.id = c.to_user_id
 WHERE c.id = :id;

-- name: challenge_state_as^
-- What a command's early check decides on (core.rules.challenge_access), and no more: the worker
-- reads the whole row again, under a lock. Sets the caller itself (ReadDatabase.read_as): the
-- challenge's state, or its tombstone (`status` NULL, `withdrawn_at` set), or no row.
SELECT * FROM challenge_state_as(:caller, :id);

-- name: list_challenges
-- The history screen. Sent and received are read from their own indexes and merged; `won` and
-- `lost` are from the caller's side (a sent challenge is won when the opponent completed it
-- without beating it); `quit` is an abandoned challenge, sent or received. Read through
-- challenges_as_seen (0019), so a pending challenge past its expiry is expired, not pending.
WITH sent AS (
    SELECT c.* FROM challenges_as_seen c
     WHERE :direction IN ('all', 'sent') AND c.from_user_id = :user_id
       AND CASE :filter WHEN 'won' THEN c.status = 'completed' AND NOT c.did_beat
                        WHEN 'lost' THEN c.status = 'completed' AND c.did_beat
                        WHEN 'quit' THEN c.status = 'abandoned'
                        WHEN 'pending' THEN c.status IN ('pending', 'accepted')
                        ELSE true END
       AND (:cursor_at::timestamptz IS NULL OR (c.created_at, c.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
     ORDER BY c.created_at DESC, c.id DESC
     LIMIT :limit
), received AS (
    SELECT c.* FROM challenges_as_seen c
     WHERE :direction IN ('all', 'received') AND c.to_user_id = :user_id
       AND CASE :filter WHEN 'won' THEN c.status = 'completed' AND c.did_beat
                        WHEN 'lost' THEN c.status = 'completed' AND NOT c.did_beat
                        WHEN 'quit' THEN c.status = 'abandoned'
                        WHEN 'pending' THEN c.status IN ('pending', 'accepted')
                        ELSE true END
       AND (:cursor_at::timestamptz IS NULL OR (c.created_at, c.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
     ORDER BY c.created_at DESC, c.id DESC
     LIMIT :limit
)
SELECT c.*,
       f.display_name AS from_display_name, f.avatar_url AS from_avatar_url,
       t.display_name AS to_display_name, t.avatar_url AS to_avatar_url
  FROM (SELECT * FROM sent UNION ALL SELECT * FROM received) c
  JOIN public_profiles f ON f.id = c.from_user_id
  JOIN public_profiles t ON t.id = c.to_user_id
 ORDER BY c.created_at DESC, c.id DESC
 LIMIT :limit;

-- name: retry_chain
-- The whole chain of the asked-for challenge, original first.
SELECT c.*, chain.depth,
       f.display_name AS from_display_name, f.avatar_url AS from_avatar_url,
       t.display_name AS to_display_name, t.avatar_url AS to_avatar_url
  FROM challenge_retry_chains chain
  JOIN challenges_as_seen c ON c.id = chain.challenge_id
  JOIN public_profiles f ON f.id = c.from_user_id
  JOIN public_profiles t ON t.id = c.to_user_id
 WHERE chain.root_challenge_id = (SELECT root_challenge_id FROM challenge_retry_chains
                                   WHERE challenge_id = :id)
 ORDER BY chain.depth;

-- name: challenge_stats^
-- docs/domain.md, "History, stats and the leaderboard". As the challenged, won/lost/quit/in
-- progress; as the challenger, beaten (the opponent beat it: the sender's `lost` tab) and
-- defended (the opponent completed it without beating it: the sender's `won` tab). A sent
-- challenge the opponent quit is neither: it is a quit, in both athletes' `quit` tab. Read
-- through challenges_as_seen (0019): a pending challenge past its expiry is not in progress. The
-- win rate is rounded as the leaderboard rounds it.
SELECT counts.*,
       COALESCE(round(won::numeric / NULLIF(won + lost + quit, 0), 4), 0) AS win_rate
  FROM (
SELECT count(*) FILTER (WHERE to_user_id = :user_id AND status = 'completed' AND did_beat) AS won,
       count(*) FILTER (WHERE to_user_id = :user_id AND status = 'completed' AND NOT did_beat) AS lost,
       count(*) FILTER (WHERE to_user_id = :user_id AND status = 'abandoned') AS quit,
       count(*) FILTER (WHERE to_user_id = :user_id AND status IN ('pending', 'accepted')) AS in_progress,
       count(*) FILTER (WHERE from_user_id = :user_id AND status = 'completed' AND did_beat) AS beaten,
       count(*) FILTER (WHERE from_user_id = :user_id AND status = 'completed' AND NOT did_beat) AS defended
  FROM challenges_as_seen
 WHERE :user_id IN (from_user_id, to_user_id)
  ) counts;

-- name: retry_stats^
SELECT * FROM get_user_retry_stats(:user_id);

-- name: abandonment_stats^
SELECT * FROM get_user_abandonment_stats(:user_id);

-- name: season_closed$
SELECT EXISTS (SELECT 1 FROM leaderboard_seasons_closed WHERE season = :season);

-- name: leaderboard_global
-- :season is the board's key: 'all', a current season, or 'final:<season>' for a closed one.
-- The top of a season's board, plus the caller's own row wherever it is; each rank is one more
-- than the number of athletes strictly ahead (ties share it): the athletes on every higher rank
-- key (a better record), summed from leaderboard_levels (migrations 0013 and 0016).
-- Someone not on the board has all zeros, which ties with everyone who has no wins and no quits.
WITH top AS (
    SELECT b.*, true AS in_top FROM leaderboard_counters b
     WHERE b.season = :season
     ORDER BY b.rank_key DESC, b.user_id
     LIMIT :limit
), me AS (
    SELECT me.id AS user_id,
           COALESCE(b.wins, 0) AS wins, COALESCE(b.losses, 0) AS losses,
           COALESCE(b.quits, 0) AS quits, COALESCE(b.win_rate, 0) AS win_rate,
           COALESCE(b.retries, 0) AS retries, COALESCE(b.retries_won, 0) AS retries_won,
           COALESCE(b.challenges_sent, 0) AS challenges_sent,
           COALESCE(b.rank_key, 9999999) AS rank_key, false AS in_top
      FROM (SELECT :user_id::uuid AS id) me
      LEFT JOIN leaderboard_counters b ON b.season = :season AND b.user_id = me.id
), rows AS (
    SELECT user_id, wins, losses, quits, win_rate, retries, retries_won, challenges_sent, rank_key, in_top
      FROM top
    UNION ALL
    SELECT * FROM me
)
SELECT r.user_id, r.wins, r.losses, r.quits, r.win_rate, r.retries, r.retries_won,
       r.challenges_sent, r.in_top, u.display_name, u.avatar_url, COALESCE(ar.value, 0) AS rating,
       1 + COALESCE((SELECT sum(l.athletes) FROM leaderboard_levels l
                      WHERE l.season = :season AND l.level > board_level(r.rank_key)), 0) AS rank
  FROM rows r
  LEFT JOIN public_profiles u ON u.id = r.user_id
  LEFT JOIN athlete_ratings ar ON ar.user_id = r.user_id
 ORDER BY r.in_top DESC, r.rank_key DESC, r.user_id;

-- name: leaderboard_global_by_rating
-- The athletes with the highest skill ratings, and the caller wherever they are, with their
-- all-time counters. Athletes with no settled challenge have no rating row: they are not listed,
-- and the caller's own is the starting one (value 0). A rank is one more than the athletes rated
-- strictly higher: those on higher rating levels (board 'rating' of leaderboard_levels) plus
-- those higher on one's own level (below (level + 1) / 8, its exact upper bound).
WITH top AS (
    SELECT user_id, value, true AS in_top FROM athlete_ratings ORDER BY value DESC, user_id LIMIT :limit
), me AS (
    SELECT :user_id::uuid AS user_id,
           COALESCE((SELECT value FROM athlete_ratings WHERE user_id = :user_id), 0) AS value,
           false AS in_top
), rows AS (
    SELECT * FROM top UNION ALL SELECT * FROM me
)
SELECT r.user_id, COALESCE(b.wins, 0) AS wins, COALESCE(b.losses, 0) AS losses,
       COALESCE(b.quits, 0) AS quits, COALESCE(b.win_rate, 0) AS win_rate,
       COALESCE(b.retries, 0) AS retries, COALESCE(b.retries_won, 0) AS retries_won,
       COALESCE(b.challenges_sent, 0) AS challenges_sent, r.in_top, u.display_name, u.avatar_url,
       r.value AS rating,
       1 + COALESCE((SELECT sum(l.athletes) FROM leaderboard_levels l
                      WHERE l.season = 'rating' AND l.level > rating_level(r.value)), 0)
         + (SELECT count(*) FROM athlete_ratings a
             WHERE a.value > r.value AND a.value < (rating_level(r.value) + 1) / 8::float8) AS rank
  FROM rows r
  LEFT JOIN public_profiles u ON u.id = r.user_id
  LEFT JOIN leaderboard_counters b ON b.season = 'all' AND b.user_id = r.user_id
 ORDER BY r.in_top DESC, r.value DESC, r.user_id;

-- name: leaderboard_friends
-- The caller and their friends, ranked among themselves in the season (by skill rating with
-- :by_rating); friends without a result in it count as all zeros, without a rating as the start.
WITH scope AS (
    SELECT :user_id::uuid AS user_id
    UNION
    SELECT friend_id FROM user_friends WHERE user_id = :user_id
), totals AS (
    SELECT s.user_id,
           COALESCE(b.wins, 0) AS wins, COALESCE(b.losses, 0) AS losses,
           COALESCE(b.quits, 0) AS quits, COALESCE(b.win_rate, 0) AS win_rate,
           COALESCE(b.retries, 0) AS retries, COALESCE(b.retries_won, 0) AS retries_won,
           COALESCE(b.challenges_sent, 0) AS challenges_sent, COALESCE(ar.value, 0) AS rating,
           CASE WHEN :by_rating THEN COALESCE(ar.value, 0)
                ELSE COALESCE(b.rank_key, 9999999)::float8 END AS sort_key
      FROM scope s
      LEFT JOIN leaderboard_counters b ON b.season = :season AND b.user_id = s.user_id
      LEFT JOIN athlete_ratings ar ON ar.user_id = s.user_id
), ranked AS (
    SELECT totals.*,
           rank() OVER (ORDER BY sort_key DESC) AS rank,
           row_number() OVER (ORDER BY sort_key DESC, user_id) AS position
      FROM totals
)
SELECT r.user_id, r.wins, r.losses, r.quits, r.win_rate, r.retries, r.retries_won,
       r.challenges_sent, r.rating, r.rank, r.position <= :limit AS in_top, u.display_name, u.avatar_url
  FROM ranked r LEFT JOIN public_profiles u ON u.id = r.user_id
 WHERE r.position <= :limit OR r.user_id = :user_id
 ORDER BY r.position;

-- name: list_notifications
SELECT n.id, n.challenge_id, n.community_challenge_id, n.notification_type, n.data, n.is_read,
       n.read_at, n.created_at,
       n.actor_id, a.display_name AS actor_display_name, a.avatar_url AS actor_avatar_url
  FROM challenge_notifications n LEFT JOIN public_profiles a ON a.id = n.actor_id
 WHERE n.user_id = :user_id
   AND (NOT :unread_only OR NOT n.is_read)
   AND (:cursor_at::timestamptz IS NULL OR (n.created_at, n.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
 ORDER BY n.created_at DESC, n.id DESC
 LIMIT :limit;

-- name: notification_exists$
SELECT EXISTS (SELECT 1 FROM challenge_notifications WHERE id = :id AND user_id = :user_id);

-- name: count_unread$
SELECT count(*) FROM challenge_notifications WHERE user_id = :user_id AND NOT is_read;

-- name: get_processed_command^
SELECT job_id, actor_name, user_id, status, result, error, finished_at
  FROM processed_commands WHERE job_id = :job_id;


-- name: points_total$
SELECT COALESCE(sum(points), 0)::integer FROM points_ledger WHERE user_id = :user_id;

-- name: points_ledger
SELECT l.id, l.action, l.points, l.base_points, l.multiplier, l.streak_days, l.source_id,
       l.milestone, l.community_challenge_id, c.name AS challenge_name, l.created_at
  FROM points_ledger l LEFT JOIN challenges c ON c.id = l.community_challenge_id
 WHERE l.user_id = :user_id
   AND (:cursor_at::timestamptz IS NULL OR (l.created_at, l.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
 ORDER BY l.created_at DESC, l.id DESC
 LIMIT :limit;

-- name: time_zone_names
-- Every time zone name this PostgreSQL knows (its tzdata may be older than Python's).
SELECT name FROM pg_timezone_names;

-- name: streaks^
-- The streak up to today and up to yesterday, in the user's own time zone.
SELECT activity_streak(:user_id, today) AS today, activity_streak(:user_id, today - 1) AS yesterday
  FROM (SELECT user_local_date(:user_id, now()) AS today) d;

-- name: list_community_challenges
-- Open challenges (not yet over), newest first, with whether the caller has joined.
SELECT c.*, days_until(c.ends_at) AS days_left,
       EXISTS (SELECT 1 FROM challenge_participants p
                WHERE p.challenge_id = c.id AND p.user_id = :user_id) AS joined
  FROM challenges c
 WHERE c.is_active AND c.ends_at > now()
   AND (:cursor_at::timestamptz IS NULL OR (c.created_at, c.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
 ORDER BY c.created_at DESC, c.id DESC
 LIMIT :limit;

-- name: get_community_challenge^
SELECT c.*, days_until(c.ends_at) AS days_left,
       c.ends_at <= now() AS has_ended,
       EXISTS (SELECT 1 FROM challenge_participants p
                WHERE p.challenge_id = c.id AND p.user_id = :user_id) AS joined
  FROM challenges c
 WHERE c.id = :id;

-- name: my_participations
-- Each of the caller's participations with its rank among all participants.
SELECT c.id AS community_challenge_id, c.name, c.challenge_type, c.unit, c.target_value AS target,
       c.points_reward, c.participant_count AS participants, c.ends_at,
       days_until(c.ends_at) AS days_left,
       p.total, p.milestone, p.status, p.joined_at, p.completed_at,
       community_rank(p.id) AS rank
  FROM challenge_participants p JOIN challenges c ON c.id = p.challenge_id
 WHERE p.user_id = :user_id
 ORDER BY p.status = 'active' DESC, c.ends_at, c.id;

-- name: community_leaderboard
-- The top :limit participants, then the caller's own row wherever it ranks.
WITH top AS (
    SELECT p.*, row_number() OVER (ORDER BY p.total DESC, p.total_reached_at, p.id) AS rank, true AS in_top
      FROM (SELECT * FROM community_standings WHERE challenge_id = :id
             ORDER BY total DESC, total_reached_at, id LIMIT :limit) p
), me AS (
    SELECT p.*, community_rank(p.id) AS rank, false AS in_top
      FROM community_standings p
     WHERE p.challenge_id = :id AND p.user_id = :user_id
)
SELECT r.user_id, r.total, r.status, r.rank, r.in_top, u.display_name, u.avatar_url
  FROM (SELECT * FROM top UNION ALL SELECT * FROM me) r JOIN public_profiles u ON u.id = r.user_id
 ORDER BY r.in_top DESC, r.rank;

-- The crowd (migration 0020) ------------------------------------------------------------------

-- name: crowd_of_workout^
-- A workout's totals and its kind's, NULL where there are none yet. Totals only: whose they are
-- is in crowd_athletes, which this role cannot read.
WITH n AS (SELECT workout_key(:workout_name) AS key),
workout AS (
    SELECT sum(athletes) AS athletes, sum(attempts) AS attempts, sum(wins) AS wins,
           sum(losses) AS losses, sum(quits) AS quits, sum(retries) AS retries,
           sum(first_wins_r0) AS first_wins_r0, sum(first_wins_r1) AS first_wins_r1,
           sum(first_wins_r2) AS first_wins_r2, sum(first_wins_r3) AS first_wins_r3
      FROM crowd_workouts WHERE workout_key = (SELECT key FROM n)
    HAVING count(*) > 0
)
SELECT (SELECT to_jsonb(workout) FROM workout) AS workout, to_jsonb(k) AS kind
  FROM n
  LEFT JOIN workout_kinds wk ON wk.workout_key = n.key
  LEFT JOIN crowd_kinds k ON k.kind = wk.kind;

-- name: crowd_kinds
SELECT * FROM crowd_kinds;

-- name: latest_pending_received^
-- The caller's newest challenge still waiting for their answer, for its calibration insight.
SELECT id, workout_name
  FROM challenges_as_seen
 WHERE to_user_id = :user_id AND status = 'pending'
 ORDER BY created_at DESC
 LIMIT 1;

-- Analytics (api/resources/analytics.py, for tokens with the role `analyst`): the views of the
-- schema `analytics` (migration 0021), over the days from :from_day to :to_day included (UTC).
-- Each filters on the views' `day`, which is a range of an index of workout_challenges. The
-- dashboard (docs/ops/analytics-dashboard.json) runs the same statements with Grafana's macros.

-- name: analytics_workouts
-- The :limit workouts most challenged. Grouped by name first, then by workout_key (one regular
-- expression per name, not per challenge), shown under the spelling sent most; the medians of the
-- completed attempts (the duration and the volume about half the attempts beat) only for the
-- workouts listed.
WITH spellings AS (
    SELECT workout_key(s.workout_name) AS workout_key, s.*
      FROM (SELECT workout_name, count(*) AS sent,
                   count(*) FILTER (WHERE completed) AS completed,
                   count(*) FILTER (WHERE won) AS won,
                   count(*) FILTER (WHERE abandoned) AS abandoned
              FROM analytics.workouts
             WHERE day >= :from_day::date AND day < :to_day::date + 1
             GROUP BY workout_name) s
), top AS (
    SELECT workout_key,
           (array_agg(workout_name ORDER BY sent DESC, workout_name))[1] AS workout_name,
           sum(sent)::bigint AS challenges_sent, sum(completed)::bigint AS completed,
           sum(won)::bigint AS won, sum(abandoned)::bigint AS abandoned
      FROM spellings
     GROUP BY workout_key
     ORDER BY challenges_sent DESC, workout_key
     LIMIT :limit
), targets AS (
    SELECT s.workout_key,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w.attempt_duration_minutes) AS duration_minutes,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w.attempt_total_volume_kg) AS total_volume_kg
      FROM analytics.workouts w
      JOIN spellings s ON s.workout_name = w.workout_name
     WHERE w.day >= :from_day::date AND w.day < :to_day::date + 1 AND w.completed
       AND s.workout_key IN (SELECT workout_key FROM top)
     GROUP BY s.workout_key
)
SELECT t.workout_key, t.workout_name, t.challenges_sent, t.completed, t.won, t.abandoned,
       round(t.completed::numeric / t.challenges_sent, 4) AS completion_rate,
       round(t.won::numeric / NULLIF(t.completed + t.abandoned, 0), 4) AS win_rate,
       round(t.abandoned::numeric / NULLIF(t.completed + t.abandoned, 0), 4) AS abandonment_rate,
       round(g.duration_minutes::numeric, 2) AS target_duration_minutes,
       round(g.total_volume_kg::numeric, 2) AS target_total_volume_kg
  FROM top t
  LEFT JOIN targets g ON g.workout_key = t.workout_key
 ORDER BY t.challenges_sent DESC, t.workout_key;

-- name: analytics_hours
-- Every hour of every ISO weekday, in the senders' own time zones, with the challenges sent then.
WITH counted AS (
    SELECT iso_weekday, hour, sum(challenges_sent)::bigint AS challenges_sent
      FROM analytics.hours
     WHERE day >= :from_day::date AND day < :to_day::date + 1
     GROUP BY iso_weekday, hour
)
SELECT d.iso_weekday, h.hour, COALESCE(c.challenges_sent, 0) AS challenges_sent
  FROM generate_series(1, 7) AS d (iso_weekday)
 CROSS JOIN generate_series(0, 23) AS h (hour)
  LEFT JOIN counted c ON c.iso_weekday = d.iso_weekday AND c.hour = h.hour
 ORDER BY d.iso_weekday, h.hour;

-- name: analytics_pairs
-- The :limit pairs of athletes with the most challenges between them, either way: ids only.
SELECT user_a, user_b, count(*) AS challenges, count(*) FILTER (WHERE sent_by_a) AS sent_by_a,
       count(*) FILTER (WHERE NOT sent_by_a) AS sent_by_b
  FROM analytics.pairs
 WHERE day >= :from_day::date AND day < :to_day::date + 1
 GROUP BY user_a, user_b
 ORDER BY challenges DESC, user_a, user_b
 LIMIT :limit;

-- name: analytics_quit_reasons
-- Quits per ISO week and category (a preset reason or 'other'): counts, never an athlete's words.
SELECT week, category, sum(quits)::bigint AS quits
  FROM analytics.quit_reasons
 WHERE day >= :from_day::date AND day < :to_day::date + 1
 GROUP BY week, category
 ORDER BY week, quits DESC, category;

-- name: analytics_completion
-- Every ISO week of the period, with what became of the challenges sent in it.
WITH counted AS (
    SELECT week, sum(sent)::bigint AS sent, sum(accepted)::bigint AS accepted,
           sum(completed)::bigint AS completed, sum(won)::bigint AS won,
           sum(abandoned)::bigint AS abandoned, sum(expired)::bigint AS expired,
           sum(declined)::bigint AS declined
      FROM analytics.completion
     WHERE day >= :from_day::date AND day < :to_day::date + 1
     GROUP BY week
)
SELECT w.week::date AS week, COALESCE(c.sent, 0) AS sent, COALESCE(c.accepted, 0) AS accepted,
       COALESCE(c.completed, 0) AS completed, COALESCE(c.won, 0) AS won,
       COALESCE(c.abandoned, 0) AS abandoned, COALESCE(c.expired, 0) AS expired,
       COALESCE(c.declined, 0) AS declined
  FROM generate_series(date_trunc('week', :from_day::timestamp), :to_day::timestamp, interval '1 week') AS w (week)
  LEFT JOIN counted c ON c.week = w.week::date
 ORDER BY w.week;

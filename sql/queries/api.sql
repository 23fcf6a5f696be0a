-- Reads of the API. It connects as challenges_api (SELECT only) with app.user_id set per
-- transaction, so Row Level Security limits every query to what the caller may see.

-- name: set_caller!
SELECT set_config('app.user_id', :user_id, true);

-- name: ping$
SELECT 1;

-- name: get_profile^
SELECT id, display_name, avatar_url, timezone, created_at FROM users WHERE id = :user_id;

-- name: user_exists$
SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id);

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
  FROM user_friends f JOIN users u ON u.id = f.friend_id
 WHERE f.user_id = :user_id
 ORDER BY u.display_name, u.id;

-- name: list_friend_requests
SELECT u.id, u.display_name, u.avatar_url, fr.created_at,
       CASE WHEN fr.requester_id = :user_id THEN 'outgoing' ELSE 'incoming' END AS direction
  FROM friendships fr
  JOIN users u ON u.id = CASE WHEN fr.requester_id = :user_id THEN fr.addressee_id ELSE fr.requester_id END
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
SELECT f.id, f.user_id, f.activity_type, f.activity_data, f.workout_log_id, f.visibility,
       f.created_at, u.display_name, u.avatar_url
  FROM activity_feed f JOIN users u ON u.id = f.user_id
 WHERE (f.user_id = :user_id
        OR (f.visibility IN ('friends', 'public')
            AND f.user_id IN (SELECT friend_id FROM user_friends WHERE user_id = :user_id)))
   AND (:cursor_at::timestamptz IS NULL OR (f.created_at, f.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
 ORDER BY f.created_at DESC, f.id DESC
 LIMIT :limit;

-- name: get_challenge^
SELECT c.*,
       f.display_name AS from_display_name, f.avatar_url AS from_avatar_url,
       t.display_name AS to_display_name, t.avatar_url AS to_avatar_url
  FROM workout_challenges c
  JOIN users f ON f.id = c.from_user_id
  JOIN users t ON t.id = c.to_user_id
 WHERE c.id = :id;

-- name: list_notifications
SELECT n.id, n.challenge_id, n.notification_type, n.data, n.is_read, n.read_at, n.created_at,
       n.actor_id, a.display_name AS actor_display_name, a.avatar_url AS actor_avatar_url
  FROM challenge_notifications n LEFT JOIN users a ON a.id = n.actor_id
 WHERE n.user_id = :user_id
   AND (NOT :unread_only OR NOT n.is_read)
   AND (:cursor_at::timestamptz IS NULL OR (n.created_at, n.id) < (:cursor_at::timestamptz, :cursor_id::uuid))
 ORDER BY n.created_at DESC, n.id DESC
 LIMIT :limit;

-- name: count_unread$
SELECT count(*) FROM challenge_notifications WHERE user_id = :user_id AND NOT is_read;

-- name: get_processed_command^
SELECT job_id, actor_name, user_id, status, result, error, finished_at
  FROM processed_commands WHERE job_id = :job_id;

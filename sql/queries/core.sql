-- Queries of the workers, who connect as the owning role (no RLS) and do every write.

-- name: lock_job!
-- Serialises two deliveries of one message, so the second sees the first's recorded outcome.
SELECT pg_advisory_xact_lock(hashtextextended(:job_id::text, 0));

-- name: get_outcome^
SELECT status, result, error FROM processed_commands WHERE job_id = :job_id;

-- name: record_outcome
-- Recorded with the command's effects; returns the outbox events its transaction wrote (the
-- triggers' rows), to publish once it has committed.
WITH recorded AS (
  INSERT INTO processed_commands (job_id, actor_name, user_id, status, result, error)
  VALUES (:job_id, :actor_name, :user_id, :status, :result, :error))
SELECT id, event_type, actor_id, subject_id, payload, created_at FROM events
 WHERE xact_id = pg_current_xact_id() AND published_at IS NULL;

-- name: ensure_user!
INSERT INTO users (id) VALUES (:user_id) ON CONFLICT (id) DO NOTHING;

-- name: user_exists$
SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id);

-- name: upsert_profile<!
INSERT INTO users (id, display_name, avatar_url, timezone)
VALUES (:user_id, COALESCE(:display_name, ''), :avatar_url, COALESCE(:timezone, 'UTC'))
ON CONFLICT (id) DO UPDATE SET
    display_name = COALESCE(:display_name, users.display_name),
    avatar_url = CASE WHEN :avatar_url_given THEN :avatar_url ELSE users.avatar_url END,
    timezone = COALESCE(:timezone, users.timezone),
    updated_at = now()
RETURNING id, display_name, avatar_url, timezone;

-- name: get_display_name$
SELECT display_name FROM users WHERE id = :user_id;

-- name: lock_friendship^
SELECT requester_id, addressee_id, status FROM friendships
 WHERE LEAST(requester_id, addressee_id) = LEAST(:a::uuid, :b::uuid)
   AND GREATEST(requester_id, addressee_id) = GREATEST(:a::uuid, :b::uuid)
   FOR UPDATE;

-- name: insert_friend_request!
INSERT INTO friendships (requester_id, addressee_id) VALUES (:requester_id, :addressee_id);

-- name: accept_friend_request!
UPDATE friendships SET status = 'accepted', accepted_at = now()
 WHERE requester_id = :requester_id AND addressee_id = :addressee_id AND status = 'pending';

-- name: delete_friendship!
DELETE FROM friendships
 WHERE LEAST(requester_id, addressee_id) = LEAST(:a::uuid, :b::uuid)
   AND GREATEST(requester_id, addressee_id) = GREATEST(:a::uuid, :b::uuid);

-- name: are_friends$
SELECT are_friends(:a, :b);

-- name: insert_workout_log<!
INSERT INTO workout_logs (id, user_id, workout_name, duration_minutes, total_volume, volume_unit,
                          notes, performed_at)
VALUES (:id, :user_id, :workout_name, :duration_minutes, :total_volume, :volume_unit, :notes,
        COALESCE(:performed_at, now()))
RETURNING performed_at, duration_minutes, total_volume_kg;

-- name: insert_habit_log<!
INSERT INTO habit_logs (id, user_id, habit_name, value, logged_at)
VALUES (:id, :user_id, :habit_name, :value, COALESCE(:logged_at, now()))
RETURNING logged_at, value;

-- name: get_workout_log^
SELECT id, user_id, workout_name, duration_minutes, total_volume, volume_unit, total_volume_kg
  FROM workout_logs WHERE id = :id;

-- name: insert_activity!
INSERT INTO activity_feed (id, user_id, activity_type, activity_data, workout_log_id, visibility)
VALUES (:id, :user_id, :activity_type, :activity_data, :workout_log_id, :visibility);

-- name: insert_challenge!
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_log_id, activity_id,
                                workout_name, workout_data, challenge_message, status,
                                accepted_at, challenger_stats, expires_at, is_retry,
                                retried_from_challenge_id)
VALUES (:id, :from_user_id, :to_user_id, :workout_log_id, :activity_id, :workout_name,
        :workout_data, :challenge_message, :status,
        CASE WHEN :status = 'accepted' THEN now() END, :workout_data,
        now() + make_interval(secs => :ttl_seconds), :retried_from_challenge_id::uuid IS NOT NULL,
        :retried_from_challenge_id);

-- name: lock_challenge^
SELECT *, expires_at <= now() AS is_expired FROM workout_challenges WHERE id = :id FOR UPDATE;

-- name: accept_challenge<!
UPDATE workout_challenges SET status = 'accepted', accepted_at = now()
 WHERE id = :id
RETURNING id, status, accepted_at;

-- name: complete_challenge<!
-- With what it did to both ratings (core/rules/ratings.py), in this one new version of the row.
UPDATE workout_challenges
   SET status = 'completed', completed_at = now(), challenged_stats = :challenged_stats,
       did_beat = :did_beat, rating_change = :rating_change, rating_seq = :rating_seq
 WHERE id = :id
RETURNING id, status, did_beat, challenger_stats, challenged_stats, completed_at;

-- name: decline_challenge!
UPDATE workout_challenges SET status = 'declined', declined_at = now() WHERE id = :id;

-- name: abandon_challenge<!
UPDATE workout_challenges
   SET status = 'abandoned', abandoned_at = now(), quit_reason = :quit_reason,
       quit_category = :quit_category, partial_stats = :partial_stats,
       rating_change = :rating_change, rating_seq = :rating_seq
 WHERE id = :id
RETURNING id, status, quit_reason, partial_stats, abandoned_at;

-- name: delete_challenge!
-- The withdrawal trigger leaves a tombstone and an event in the same transaction.
DELETE FROM workout_challenges WHERE id = :id;

-- name: get_withdrawn_challenge^
SELECT id, from_user_id, to_user_id, withdrawn_at FROM withdrawn_challenges WHERE id = :id;

-- name: get_activity^
SELECT id, user_id, activity_type, workout_log_id, visibility FROM activity_feed WHERE id = :id;

-- name: beat_this_taken$
SELECT EXISTS (SELECT 1 FROM workout_challenges
                WHERE activity_id = :activity_id AND to_user_id = :user_id AND NOT is_retry);

-- name: retry_round$
-- The round a rematch of :id plays: 2 for the first rematch of an original, 3 for a rematch of
-- that rematch, and so on.
SELECT challenge_retry_number(:id) + 2;

-- name: mark_notification_read^
UPDATE challenge_notifications SET is_read = true, read_at = COALESCE(read_at, now())
 WHERE id = :id AND user_id = :user_id
RETURNING id, is_read, read_at;

-- name: mark_all_notifications_read$
WITH marked AS (
    UPDATE challenge_notifications SET is_read = true, read_at = now()
     WHERE user_id = :user_id AND NOT is_read
    RETURNING 1
)
SELECT count(*) FROM marked;

-- name: unpublished_events_by_id
SELECT id, event_type, actor_id, subject_id, payload, created_at FROM events
 WHERE id = ANY(:ids::uuid[]) AND published_at IS NULL
 FOR UPDATE SKIP LOCKED;

-- name: lock_event_log!
-- Indexing transactions take turns, from their first statement to their commit: each rewrites
-- the timelines of its events' users in ChromaDB after reading them, and two at once could lose
-- one's events (`challenges reindex` next to the worker's indexer, or a turn that outlived its
-- key). Taken before any event is locked, so no indexer holds events while it waits for it.
SELECT pg_advisory_xact_lock(hashtextextended('event_log', 0));

-- name: events_to_index
-- The oldest published events not in the event log. Published ones only: an event is indexed
-- after its publisher is done with it, so the indexer's row locks never make the publisher
-- (SKIP LOCKED) pass one over. Locked until marked, so two indexers never take the same event.
SELECT e.id, e.event_type, e.actor_id, e.payload, e.created_at,
       f.display_name AS from_name, t.display_name AS to_name, m.display_name AS user_name
  FROM events e
  LEFT JOIN users f ON f.id = (e.payload ->> 'from_user_id')::uuid
  LEFT JOIN users t ON t.id = (e.payload ->> 'to_user_id')::uuid
  LEFT JOIN users m ON m.id = (e.payload ->> 'user_id')::uuid
 WHERE e.indexed_at IS NULL AND e.published_at IS NOT NULL
 ORDER BY e.created_at, e.id
 LIMIT :limit
   FOR UPDATE OF e SKIP LOCKED;

-- name: has_events_to_index$
SELECT EXISTS (SELECT 1 FROM events WHERE indexed_at IS NULL AND published_at IS NOT NULL);

-- name: events_page
SELECT e.id, e.event_type, e.actor_id, e.payload, e.created_at,
       f.display_name AS from_name, t.display_name AS to_name, m.display_name AS user_name
  FROM events e
  LEFT JOIN users f ON f.id = (e.payload ->> 'from_user_id')::uuid
  LEFT JOIN users t ON t.id = (e.payload ->> 'to_user_id')::uuid
  LEFT JOIN users m ON m.id = (e.payload ->> 'user_id')::uuid
 WHERE :cursor_at::timestamptz IS NULL OR (e.created_at, e.id) > (:cursor_at::timestamptz, :cursor_id::uuid)
 ORDER BY e.created_at, e.id
 LIMIT :limit;

-- name: mark_events_indexed!
UPDATE events SET indexed_at = now() WHERE id = ANY(:ids::uuid[]);

-- name: mark_all_events_unindexed!
UPDATE events SET indexed_at = NULL WHERE indexed_at IS NOT NULL;

-- name: mark_events_published!
UPDATE events SET published_at = now() WHERE id = ANY(:ids::uuid[]);

-- name: insert_event!
INSERT INTO events (event_type, actor_id, subject_id, payload)
VALUES (:event_type, :actor_id, :subject_id, :payload);

-- name: streak_at$
SELECT activity_streak(:user_id, user_local_date(:user_id, :at));

-- name: award_points^
INSERT INTO points_ledger (user_id, action, source_id, milestone, community_challenge_id,
                           base_points, multiplier, streak_days, points)
VALUES (:user_id, :action, :source_id, :milestone, :community_challenge_id, :base_points,
        :multiplier, :streak_days, :points)
ON CONFLICT ON CONSTRAINT one_award_per_source DO NOTHING
RETURNING points;

-- name: insert_community_challenge<!
INSERT INTO challenges (id, created_by, name, description, challenge_type, habit_name,
                        target_value, unit, duration_days, starts_at, ends_at, points_reward,
                        max_participants)
SELECT :id, :user_id, :name, :description, :challenge_type, :habit_name, :target_value, :unit,
       :duration_days, start, start + :duration_days * interval '24 hours', :points_reward,
       :max_participants
  FROM (SELECT COALESCE(:starts_at::timestamptz, now()) AS start) s
RETURNING *;

-- name: lock_community_challenge^
-- NO KEY UPDATE: joins queue on each other, but a log writing progress (which only needs the
-- row to exist) does not wait for them.
SELECT *, ends_at <= now() AS has_ended FROM challenges WHERE id = :id FOR NO KEY UPDATE;

-- name: has_joined$
SELECT EXISTS (SELECT 1 FROM challenge_participants WHERE challenge_id = :challenge_id AND user_id = :user_id);

-- name: insert_participant<!
-- The challenge row is locked by the caller, so the count and the capacity check cannot race.
WITH joined AS (
    INSERT INTO challenge_participants (challenge_id, user_id) VALUES (:challenge_id, :user_id)
    RETURNING id, joined_at
), counted AS (
    UPDATE challenges SET participant_count = participant_count + 1 WHERE id = :challenge_id
    RETURNING participant_count
)
SELECT joined.id, joined.joined_at, counted.participant_count FROM joined, counted;

-- name: participations_fed_by
-- The user's active participations a log at :logged_at feeds: the kind matches (and the habit,
-- if the challenge names one), and the log falls inside the window, after joining. Locked in
-- one order, so the scheduler cannot end one half-way and two logs never deadlock.
SELECT p.id, p.challenge_id, c.name, c.challenge_type, c.target_value, c.unit, c.points_reward
  FROM challenge_participants p JOIN challenges c ON c.id = p.challenge_id
 WHERE p.user_id = :user_id AND p.status = 'active' AND c.is_active
   AND c.challenge_type = ANY(:challenge_types)
   AND (c.habit_name IS NULL OR lower(btrim(c.habit_name)) = lower(btrim(:habit_name)))
   AND :logged_at::timestamptz >= GREATEST(c.starts_at, p.joined_at)
   AND :logged_at::timestamptz < c.ends_at
 ORDER BY p.id
   FOR UPDATE OF p;

-- name: add_progress<!
-- The entry is written once per log and participation, rounded as the log's own columns round
-- (two decimals, halves away from zero), and not at all when that leaves nothing; the total
-- grows only when it was written.
WITH entry AS (
    INSERT INTO challenge_progress (participant_id, challenge_id, user_id, source_type, source_id,
                                    value_achieved, logged_at)
    SELECT :participant_id, :challenge_id, :user_id, :source_type, :source_id, added, :logged_at
      FROM (SELECT round(:value::numeric, 2) AS added) v
     WHERE added > 0
    ON CONFLICT ON CONSTRAINT one_entry_per_log DO NOTHING
    RETURNING value_achieved
)
UPDATE challenge_participants p
   SET total = p.total + entry.value_achieved, total_reached_at = clock_timestamp()
  FROM entry
 WHERE p.id = :participant_id
RETURNING p.total, p.milestone, entry.value_achieved AS added;

-- name: record_milestone!
UPDATE challenge_participants
   SET milestone = :milestone,
       status = CASE WHEN :milestone = 100 THEN 'completed' ELSE status END,
       completed_at = CASE WHEN :milestone = 100 THEN clock_timestamp() ELSE completed_at END
 WHERE id = :participant_id;

-- name: insert_community_notification!
INSERT INTO challenge_notifications (user_id, community_challenge_id, notification_type, data)
VALUES (:user_id, :community_challenge_id, :notification_type, :data);

-- name: lock_ratings
-- Both athletes' ratings, locked until the transaction ends (created at :mu, :sigma when new),
-- in id order so that two settlements sharing an athlete queue rather than deadlock, with the
-- next place in the order ratings are applied (core/rules/ratings.py).
INSERT INTO athlete_ratings AS r (user_id, mu, sigma)
SELECT id, :mu, :sigma FROM unnest(:user_ids::uuid[]) id ORDER BY id
    ON CONFLICT (user_id) DO UPDATE SET user_id = r.user_id
RETURNING r.user_id, r.mu, r.sigma, r.value, r.rated_challenges, nextval('rating_seq') AS seq;

-- name: save_ratings!
-- The new ratings of a settled challenge's two athletes (locked by lock_ratings).
UPDATE athlete_ratings r
   SET mu = n.mu, sigma = n.sigma, rated_challenges = r.rated_challenges + 1, updated_at = now()
  FROM (VALUES (:challenger::uuid, :challenger_mu::float8, :challenger_sigma::float8),
               (:challenged::uuid, :challenged_mu::float8, :challenged_sigma::float8)) AS n (user_id, mu, sigma)
 WHERE r.user_id = n.user_id;

-- The crowd (migration 0020) ------------------------------------------------------------------

-- name: remember_workout_kinds!
-- The kinds the indexer found, by workout (a name's first kind stays: the kinds' examples change
-- only with a release, after which `challenges reindex` starts over).
INSERT INTO workout_kinds (workout_key, kind)
SELECT workout_key(name), kind FROM unnest(:names::text[], :kinds::text[]) AS found (name, kind)
    ON CONFLICT (workout_key) DO NOTHING;

-- name: unclassified_quits
-- Abandoned challenges among :ids whose custom reason has no category yet.
SELECT id, quit_reason FROM workout_challenges
 WHERE id = ANY(:ids::uuid[]) AND status = 'abandoned' AND quit_category IS NULL;

-- name: classify_quits!
UPDATE workout_challenges c SET quit_category = found.category
  FROM unnest(:ids::uuid[], :categories::text[]) AS found (id, category)
 WHERE c.id = found.id AND c.quit_category IS NULL;

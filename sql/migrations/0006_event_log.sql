-- The event log in ChromaDB: each outbox event is indexed once (upserted by its id) and marked
-- here, so the sweep can hand on whatever ChromaDB missed while it was down. Events carry
-- everything their sentence and metadata need but the names, which are the users' display names
-- at indexing time; so the log can be rebuilt from this table and the profiles.

ALTER TABLE events ADD COLUMN indexed_at timestamptz;
CREATE INDEX events_unindexed ON events (created_at) WHERE indexed_at IS NULL;

-- 1 for the first rematch of an original, 2 for a rematch of that rematch, and so on.
CREATE FUNCTION challenge_retry_number(p_challenge_id uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors AS (
        SELECT id, retried_from_challenge_id FROM workout_challenges WHERE id = p_challenge_id
        UNION ALL
        SELECT c.id, c.retried_from_challenge_id
          FROM workout_challenges c JOIN ancestors a ON c.id = a.retried_from_challenge_id
    )
    SELECT (count(*) - 1)::integer FROM ancestors
$$;

CREATE OR REPLACE FUNCTION record_challenge_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind      text;
    recipient uuid;
    actor     uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.is_retry THEN
            kind := 'challenge_retried'; recipient := NEW.from_user_id; actor := NEW.to_user_id;
        ELSIF NEW.status = 'accepted' THEN
            kind := 'challenge_accepted'; recipient := NEW.from_user_id; actor := NEW.to_user_id;
        ELSE
            kind := 'challenge_received'; recipient := NEW.to_user_id; actor := NEW.from_user_id;
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        recipient := NEW.from_user_id;
        actor := NEW.to_user_id;
        kind := CASE NEW.status
            WHEN 'accepted' THEN 'challenge_accepted'
            WHEN 'declined' THEN 'challenge_declined'
            WHEN 'completed' THEN CASE WHEN NEW.did_beat THEN 'challenge_beaten' ELSE 'challenge_completed' END
            WHEN 'abandoned' THEN 'challenge_abandoned'
            WHEN 'expired' THEN 'challenge_expired'
        END;
        IF NEW.status = 'expired' THEN
            actor := NULL;
        END IF;
    ELSE
        RETURN NEW;
    END IF;

    INSERT INTO challenge_notifications (challenge_id, user_id, actor_id, notification_type, data)
    VALUES (NEW.id, recipient, actor, kind, jsonb_build_object(
        'workout_name', NEW.workout_name,
        'did_beat', NEW.did_beat,
        'quit_reason', NEW.quit_reason));

    INSERT INTO events (event_type, actor_id, subject_id, payload)
    VALUES (
        CASE WHEN TG_OP = 'INSERT' AND NOT NEW.is_retry THEN 'challenge_created'
             WHEN NEW.status = 'completed' AND TG_OP = 'UPDATE' THEN 'challenge_completed'
             ELSE kind END,
        actor, NEW.id, jsonb_build_object(
            'challenge_id', NEW.id, 'from_user_id', NEW.from_user_id, 'to_user_id', NEW.to_user_id,
            'status', NEW.status, 'workout_name', NEW.workout_name, 'did_beat', NEW.did_beat,
            'quit_reason', NEW.quit_reason, 'is_retry', NEW.is_retry,
            'retried_from_challenge_id', NEW.retried_from_challenge_id,
            'retry_number', CASE WHEN NEW.is_retry THEN challenge_retry_number(NEW.id) ELSE 0 END,
            'activity_id', NEW.activity_id,
            'target', NEW.challenger_stats, 'attempt', NEW.challenged_stats,
            'partial_stats', NEW.partial_stats));
    RETURN NEW;
END
$$;

-- Friend challenges with every column of the seed, the events outbox, and the rules the data
-- must never break (no self challenge, legal status values and transitions, complete results).

CREATE TABLE workout_challenges (
    id                        uuid PRIMARY KEY,
    from_user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workout_log_id            uuid REFERENCES workout_logs (id) ON DELETE SET NULL,
    activity_id               uuid REFERENCES activity_feed (id) ON DELETE SET NULL,
    workout_name              text NOT NULL CHECK (char_length(workout_name) BETWEEN 1 AND 120),
    workout_data              jsonb NOT NULL,
    challenge_message         text CHECK (challenge_message IS NULL OR char_length(challenge_message) <= 500),
    status                    text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined', 'completed', 'expired', 'abandoned')),
    accepted_at               timestamptz,
    declined_at               timestamptz,
    completed_at              timestamptz,
    abandoned_at              timestamptz,
    expired_at                timestamptz,
    challenger_stats          jsonb,
    challenged_stats          jsonb,
    did_beat                  boolean,
    quit_reason               text CHECK (quit_reason IS NULL OR char_length(quit_reason) BETWEEN 1 AND 200),
    partial_stats             jsonb,
    is_retry                  boolean NOT NULL DEFAULT false,
    retried_from_challenge_id uuid REFERENCES workout_challenges (id),
    retry_count               integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    expires_at                timestamptz NOT NULL DEFAULT now() + interval '7 days',
    CONSTRAINT no_self_challenge CHECK (from_user_id <> to_user_id),
    CONSTRAINT retry_has_origin CHECK (is_retry = (retried_from_challenge_id IS NOT NULL)),
    CONSTRAINT completed_has_result CHECK (
        status <> 'completed'
        OR (did_beat IS NOT NULL AND challenged_stats IS NOT NULL AND completed_at IS NOT NULL)),
    CONSTRAINT abandoned_has_reason CHECK (
        status <> 'abandoned' OR (quit_reason IS NOT NULL AND abandoned_at IS NOT NULL))
);
CREATE INDEX workout_challenges_received ON workout_challenges (to_user_id, created_at DESC, id DESC);
CREATE INDEX workout_challenges_sent ON workout_challenges (from_user_id, created_at DESC, id DESC);
CREATE INDEX workout_challenges_due ON workout_challenges (expires_at) WHERE status = 'pending';
CREATE INDEX workout_challenges_retries ON workout_challenges (retried_from_challenge_id)
    WHERE retried_from_challenge_id IS NOT NULL;

-- The status machine of docs/domain.md ("Friend challenges"), enforced for every writer (workers and scheduler).
CREATE FUNCTION enforce_challenge_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('accepted', 'declined', 'expired'))
        OR (OLD.status = 'accepted' AND NEW.status IN ('completed', 'abandoned'))
    ) THEN
        RAISE EXCEPTION 'challenge % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER workout_challenges_transition
    BEFORE UPDATE ON workout_challenges
    FOR EACH ROW EXECUTE FUNCTION enforce_challenge_transition();

-- The seed's increment_retry_count(): a rematch bumps its original's retry_count.
CREATE FUNCTION increment_retry_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workout_challenges SET retry_count = retry_count + 1
     WHERE id = NEW.retried_from_challenge_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER workout_challenges_retry_count
    AFTER INSERT ON workout_challenges
    FOR EACH ROW WHEN (NEW.retried_from_challenge_id IS NOT NULL)
    EXECUTE FUNCTION increment_retry_count();

CREATE TABLE challenge_notifications (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    challenge_id      uuid REFERENCES workout_challenges (id) ON DELETE CASCADE,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id          uuid REFERENCES users (id) ON DELETE SET NULL,
    notification_type text NOT NULL CHECK (notification_type IN (
        'challenge_received', 'challenge_accepted', 'challenge_declined', 'challenge_completed',
        'challenge_beaten', 'challenge_abandoned', 'challenge_retried', 'challenge_expired',
        'community_milestone', 'community_completed')),
    data              jsonb NOT NULL DEFAULT '{}',
    is_read           boolean NOT NULL DEFAULT false,
    read_at           timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT friend_notification_has_challenge CHECK (
        challenge_id IS NOT NULL OR notification_type LIKE 'community\_%'),
    CONSTRAINT read_has_time CHECK (is_read = (read_at IS NOT NULL))
);
CREATE INDEX challenge_notifications_by_user ON challenge_notifications (user_id, created_at DESC, id DESC);
CREATE INDEX challenge_notifications_unread ON challenge_notifications (user_id) WHERE NOT is_read;

-- Transactional outbox: rows written with the change, published to Redis after commit, swept
-- by the scheduler if a worker died in between. xact_id lets a worker find its own events.
CREATE TABLE events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type   text NOT NULL,
    actor_id     uuid,
    subject_id   uuid,
    payload      jsonb NOT NULL DEFAULT '{}',
    xact_id      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX events_unpublished ON events (created_at) WHERE published_at IS NULL;
CREATE INDEX events_by_xact ON events (xact_id) WHERE published_at IS NULL;

-- Who is told what, and which event is logged, for every insert or status change of a
-- challenge. Doing it here puts both in the change's own transaction whoever makes it.
CREATE FUNCTION record_challenge_change() RETURNS trigger
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
            'retried_from_challenge_id', NEW.retried_from_challenge_id));
    RETURN NEW;
END
$$;
CREATE TRIGGER workout_challenges_record_change
    AFTER INSERT OR UPDATE OF status ON workout_challenges
    FOR EACH ROW EXECUTE FUNCTION record_challenge_change();

-- Exactly-once commands: a job's outcome is recorded in the same transaction as its effects.
CREATE TABLE processed_commands (
    job_id      uuid PRIMARY KEY,
    actor_name  text NOT NULL,
    user_id     uuid NOT NULL,
    status      text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    result      jsonb,
    error       jsonb,
    finished_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outcome_matches_status CHECK ((status = 'failed') = (error IS NOT NULL))
);
CREATE INDEX processed_commands_by_user ON processed_commands (user_id, finished_at DESC);

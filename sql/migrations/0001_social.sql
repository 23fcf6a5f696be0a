-- Users, friendships, workout logs and the activity feed: the social substrate challenges live on.

CREATE TABLE users (
    id           uuid PRIMARY KEY,
    display_name text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 80),
    avatar_url   text CHECK (avatar_url IS NULL OR char_length(avatar_url) <= 2048),
    timezone     text NOT NULL DEFAULT 'UTC' CHECK (char_length(timezone) BETWEEN 1 AND 64),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per pair of users, whoever asked first; 'accepted' makes them friends both ways.
CREATE TABLE friendships (
    requester_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    addressee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    accepted_at  timestamptz,
    PRIMARY KEY (requester_id, addressee_id),
    CONSTRAINT no_self_friendship CHECK (requester_id <> addressee_id),
    CONSTRAINT accepted_has_time CHECK ((status = 'accepted') = (accepted_at IS NOT NULL))
);
CREATE UNIQUE INDEX friendships_one_per_pair
    ON friendships (LEAST(requester_id, addressee_id), GREATEST(requester_id, addressee_id));
CREATE INDEX friendships_addressee ON friendships (addressee_id);

-- Both directions of every accepted friendship, so "my friends" is one indexed lookup.
CREATE VIEW user_friends AS
    SELECT requester_id AS user_id, addressee_id AS friend_id, accepted_at
      FROM friendships WHERE status = 'accepted'
    UNION ALL
    SELECT addressee_id, requester_id, accepted_at
      FROM friendships WHERE status = 'accepted';

CREATE FUNCTION are_friends(a uuid, b uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM friendships
         WHERE status = 'accepted'
           AND LEAST(requester_id, addressee_id) = LEAST(a, b)
           AND GREATEST(requester_id, addressee_id) = GREATEST(a, b)
    )
$$;

CREATE TABLE workout_logs (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workout_name     text NOT NULL CHECK (char_length(workout_name) BETWEEN 1 AND 120),
    duration_minutes numeric(7, 2) NOT NULL CHECK (duration_minutes > 0 AND duration_minutes <= 1440),
    total_volume     numeric(12, 2) NOT NULL CHECK (total_volume >= 0 AND total_volume <= 1000000),
    volume_unit      text NOT NULL DEFAULT 'lb' CHECK (volume_unit IN ('lb', 'kg')),
    -- Every comparison happens in kilograms, whatever unit the athlete logged in.
    total_volume_kg  numeric GENERATED ALWAYS AS (
        CASE volume_unit WHEN 'kg' THEN total_volume ELSE total_volume * 0.45359237 END
    ) STORED,
    notes            text CHECK (notes IS NULL OR char_length(notes) <= 1000),
    performed_at     timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workout_logs_by_user ON workout_logs (user_id, performed_at DESC, id DESC);

CREATE TABLE activity_feed (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    activity_type  text NOT NULL
        CHECK (activity_type IN ('workout_completed', 'challenge_victory', 'challenge_completed')),
    activity_data  jsonb NOT NULL DEFAULT '{}',
    workout_log_id uuid REFERENCES workout_logs (id) ON DELETE SET NULL,
    visibility     text NOT NULL DEFAULT 'friends' CHECK (visibility IN ('public', 'friends', 'private')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_feed_by_user ON activity_feed (user_id, created_at DESC, id DESC);

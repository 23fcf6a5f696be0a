-- Community challenges (coach-made group goals), habit logs, and the points ledger.
--
-- The constraints carry what the gamification seed got wrong: one participation per user and
-- challenge, one progress entry per log and participation, one ledger row per award and source,
-- and each milestone notification at most once per participation.

CREATE TABLE habit_logs (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    habit_name text NOT NULL CHECK (char_length(habit_name) BETWEEN 1 AND 80),
    value      numeric(10, 2) NOT NULL CHECK (value > 0 AND value <= 10000),
    logged_at  timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX habit_logs_by_user ON habit_logs (user_id, logged_at DESC, id DESC);

-- The community challenges themselves (the seed's `challenges`). `ends_at` is `starts_at` plus
-- whole 24-hour days, so it does not depend on a session's time zone.
CREATE TABLE challenges (
    id               uuid PRIMARY KEY,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    description      text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    challenge_type   text NOT NULL CHECK (challenge_type IN ('workouts', 'duration', 'volume', 'habit')),
    habit_name       text CHECK (habit_name IS NULL OR char_length(habit_name) BETWEEN 1 AND 80),
    target_value     numeric(14, 2) NOT NULL CHECK (target_value > 0),
    unit             text NOT NULL CHECK (char_length(unit) BETWEEN 1 AND 30),
    duration_days    integer NOT NULL CHECK (duration_days BETWEEN 1 AND 365),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    points_reward    integer NOT NULL DEFAULT 100 CHECK (points_reward BETWEEN 0 AND 100000),
    max_participants integer CHECK (max_participants IS NULL OR max_participants > 0),
    -- Kept by the join under this row's lock; the constraint makes overfilling impossible even
    -- for a join that forgot to look (the seed counted, then inserted, and two joins both passed).
    participant_count integer NOT NULL DEFAULT 0 CHECK (participant_count >= 0),
    is_active        boolean NOT NULL DEFAULT true,
    closed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT habit_name_only_for_habits CHECK (habit_name IS NULL OR challenge_type = 'habit'),
    CONSTRAINT window_is_duration CHECK (ends_at = starts_at + duration_days * interval '24 hours'),
    CONSTRAINT closed_has_time CHECK (is_active = (closed_at IS NULL)),
    CONSTRAINT not_over_capacity CHECK (max_participants IS NULL OR participant_count <= max_participants)
);
CREATE INDEX challenges_open ON challenges (ends_at) WHERE is_active;

-- `milestone` is the highest one announced (0 before 25 %); `total_reached_at` is when the
-- current total was reached, which breaks ties in the ranking (whoever got there first).
CREATE TABLE challenge_participants (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    challenge_id     uuid NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'ended')),
    total            numeric(14, 2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    total_reached_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    milestone        smallint NOT NULL DEFAULT 0 CHECK (milestone IN (0, 25, 50, 75, 100)),
    joined_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at     timestamptz,
    ended_at         timestamptz,
    CONSTRAINT one_participation_per_user UNIQUE (challenge_id, user_id),
    CONSTRAINT completed_has_time CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CONSTRAINT completed_is_full CHECK ((status = 'completed') = (milestone = 100)),
    CONSTRAINT ended_has_time CHECK ((status = 'ended') = (ended_at IS NOT NULL))
);
CREATE INDEX challenge_participants_ranking
    ON challenge_participants (challenge_id, total DESC, total_reached_at, id);
CREATE INDEX challenge_participants_by_user ON challenge_participants (user_id, joined_at DESC);

-- Whole days from now until `p_at`, rounded up (0 once it is past): "days left".
CREATE FUNCTION days_until(p_at timestamptz) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT GREATEST(0, ceil(extract(epoch FROM p_at - now()) / 86400))::integer
$$;

-- A participation's place in its challenge: 1 + those ahead of it, by total and then by who
-- reached their total first (the id settles exact ties). The ranking index answers the count.
CREATE FUNCTION community_rank(p_participant_id uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT 1 + count(*)::integer
      FROM challenge_participants me
      JOIN challenge_participants o ON o.challenge_id = me.challenge_id
     WHERE me.id = p_participant_id
       AND (o.total > me.total
            OR (o.total = me.total AND (o.total_reached_at, o.id) < (me.total_reached_at, me.id)))
$$;

-- One entry per log and participation: a redelivered log never counts twice.
CREATE TABLE challenge_progress (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    participant_id uuid NOT NULL REFERENCES challenge_participants (id) ON DELETE CASCADE,
    challenge_id   uuid NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source_type    text NOT NULL CHECK (source_type IN ('workout', 'habit')),
    source_id      uuid NOT NULL,
    value_achieved numeric(14, 2) NOT NULL CHECK (value_achieved > 0),
    logged_at      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT one_entry_per_log UNIQUE (participant_id, source_id)
);
CREATE INDEX challenge_progress_by_participant ON challenge_progress (participant_id, logged_at);

-- One row per award, tied to its source: a workout or habit log, or a participation (its
-- milestones and its completion). The unique constraint is what makes paying twice impossible.
CREATE TABLE points_ledger (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action                 text NOT NULL CHECK (action IN (
        'workout_completed', 'habit_logged', 'challenge_milestone', 'challenge_completed')),
    source_id              uuid NOT NULL,
    milestone              smallint CHECK (milestone IN (25, 50, 75, 100)),
    community_challenge_id uuid REFERENCES challenges (id) ON DELETE SET NULL,
    base_points            integer NOT NULL CHECK (base_points >= 0),
    multiplier             numeric(4, 2) NOT NULL DEFAULT 1 CHECK (multiplier >= 1),
    streak_days            integer CHECK (streak_days >= 1),
    points                 integer NOT NULL CHECK (points >= 0),
    created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT one_award_per_source UNIQUE NULLS NOT DISTINCT (action, source_id, milestone),
    CONSTRAINT milestone_names_its_milestone CHECK ((action = 'challenge_milestone') = (milestone IS NOT NULL))
);
CREATE INDEX points_ledger_by_user ON points_ledger (user_id, created_at DESC, id DESC);

-- Community notifications name their community challenge; each milestone (and the completion,
-- milestone 100) is announced at most once per participant.
ALTER TABLE challenge_notifications
    ADD COLUMN community_challenge_id uuid REFERENCES challenges (id) ON DELETE CASCADE,
    ADD CONSTRAINT community_notification_has_challenge CHECK (
        (notification_type LIKE 'community\_%') = (community_challenge_id IS NOT NULL));
ALTER TABLE challenge_notifications ALTER COLUMN created_at SET DEFAULT clock_timestamp();
CREATE UNIQUE INDEX community_notifications_once
    ON challenge_notifications (user_id, community_challenge_id, notification_type, ((data ->> 'milestone')))
    WHERE community_challenge_id IS NOT NULL;

-- Consecutive days, ending on `p_day`, on which the user logged a workout or a habit, the days
-- taken in the user's own time zone. Counting down from `p_day`, a day is in the streak while
-- its distance from `p_day` equals its position; the first gap breaks that for good.
CREATE FUNCTION activity_streak(p_user_id uuid, p_day date) RETURNS integer
LANGUAGE sql STABLE AS $$
    WITH zone AS (
        SELECT timezone FROM users WHERE id = p_user_id
    ), days AS (
        SELECT (w.performed_at AT TIME ZONE zone.timezone)::date AS day
          FROM workout_logs w, zone WHERE w.user_id = p_user_id
        UNION
        SELECT (h.logged_at AT TIME ZONE zone.timezone)::date
          FROM habit_logs h, zone WHERE h.user_id = p_user_id
    ), counted AS (
        SELECT p_day - day AS days_back, row_number() OVER (ORDER BY day DESC) - 1 AS position
          FROM days WHERE day <= p_day
    )
    SELECT count(*)::integer FROM counted WHERE days_back = position
$$;

-- The user's local date at a moment.
CREATE FUNCTION user_local_date(p_user_id uuid, p_at timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (p_at AT TIME ZONE timezone)::date FROM users WHERE id = p_user_id
$$;

ALTER TABLE habit_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON habit_logs FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

ALTER TABLE challenge_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON challenge_progress FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

ALTER TABLE points_ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON points_ledger FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

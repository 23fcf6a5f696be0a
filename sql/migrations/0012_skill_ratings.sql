-- Skill ratings (docs/domain.md, "Skill rating"): each athlete's openskill rating (Weng-Lin,
-- Plackett-Luce), moved by every completed or abandoned challenge, once, by the worker that
-- settles it (core/rules/ratings.py). `value` is the conservative estimate mu - 3 sigma, what the
-- board ranks by; an athlete with no row has the starting rating (25, 25/3: a value of 0).
--
-- A challenge keeps what it did to both ratings (`rating_change`) and when it was applied
-- (`rating_seq`, taken while both athletes' ratings are locked), so the reconciliation can replay
-- every rating in exactly the order the workers applied them.

CREATE TABLE athlete_ratings (
    user_id          uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    mu               double precision NOT NULL,
    sigma            double precision NOT NULL CHECK (sigma > 0),
    value            double precision NOT NULL GENERATED ALWAYS AS (mu - 3 * sigma) STORED,
    rated_challenges integer NOT NULL DEFAULT 0 CHECK (rated_challenges >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX athlete_ratings_rank ON athlete_ratings (value DESC, user_id);
GRANT SELECT ON athlete_ratings TO challenges_api;

CREATE SEQUENCE rating_seq;
ALTER TABLE workout_challenges
    ADD COLUMN rating_change jsonb,
    ADD COLUMN rating_seq bigint,
    ADD CONSTRAINT rated_once_settled CHECK (
        (rating_seq IS NULL) = (rating_change IS NULL)
        AND (rating_seq IS NULL OR status IN ('completed', 'abandoned')));
CREATE UNIQUE INDEX workout_challenges_rating_order ON workout_challenges (rating_seq) WHERE rating_seq IS NOT NULL;

-- Every relation the API's role can read is limited to what the API may show, by the database
-- itself (tests/sql/test_privacy.py lists them from the catalog and fails on any that is not).
-- Until now `users` (time zones included), the community challenges and their participants, the
-- ratings and the leaderboard's tables were readable whole by challenges_api, and only the fixed
-- queries kept one user's private columns out of another's answers.
--
-- What a user may see is docs/domain.md's: their own rows in full; of everyone else the public
-- profile (no time zone), the skill rating, the leaderboards, and the community challenges with
-- their participants' totals. A table that is public row by row gets a policy that admits every
-- row, and its private columns are hidden by column privileges; a table with private rows admits
-- the caller's own, and a view with only the public columns shows everyone's. Such a view runs
-- with its owner's rights, so past the policy: it must never gain a private column (the test
-- knows each one's columns). The policies are as cheap as the reads they guard: a comparison with
-- app_user_id() on the indexed key, or no condition at all.

-- Users: the caller's own row in full (GET /me; user_local_date() and activity_streak() count
-- streaks in the caller's own zone), and everyone's public profile, the names on every list
-- included, from public_profiles. Another user's time zone is not readable by any query.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY self_only ON users FOR SELECT TO challenges_api
    USING (id = app_user_id());

CREATE VIEW public_profiles AS
SELECT id, display_name, avatar_url, created_at FROM users;
GRANT SELECT ON public_profiles TO challenges_api;

-- Participations: the caller's own in full (GET /community-challenges/mine, and whether they
-- joined); everyone's total and status, as a challenge's leaderboard shows them, from
-- community_standings, with what orders the ranking (who reached their total first, the id for
-- exact ties). When someone joined or finished is theirs alone.
ALTER TABLE challenge_participants ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON challenge_participants FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

CREATE VIEW community_standings AS
SELECT id, challenge_id, user_id, status, total, total_reached_at FROM challenge_participants;
GRANT SELECT ON community_standings TO challenges_api;

-- A rank counts everyone ahead in the challenge, so it reads the standings, not the
-- participations, of which the caller sees only their own.
CREATE OR REPLACE FUNCTION community_rank(p_participant_id uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT 1 + count(*)::integer
      FROM community_standings me
      JOIN community_standings o ON o.challenge_id = me.challenge_id
     WHERE me.id = p_participant_id
       AND (o.total > me.total
            OR (o.total = me.total AND (o.total_reached_at, o.id) < (me.total_reached_at, me.id)))
$$;

-- Community challenges are public, every one to every user (docs/domain.md, "Community
-- challenges"): anyone lists the open ones, reads any by id, joins, and sees its name on the
-- points it paid; no column of them is private.
ALTER TABLE challenges ENABLE ROW LEVEL SECURITY;
CREATE POLICY public_rows ON challenges FOR SELECT TO challenges_api
    USING (true);

-- Ratings: every athlete's is on their public profile (GET /users/{id}) and on the board by
-- rating. When it last moved is shown to nobody.
ALTER TABLE athlete_ratings ENABLE ROW LEVEL SECURITY;
CREATE POLICY public_rows ON athlete_ratings FOR SELECT TO challenges_api
    USING (true);
REVOKE SELECT ON athlete_ratings FROM challenges_api;
GRANT SELECT (user_id, mu, sigma, value, rated_challenges) ON athlete_ratings TO challenges_api;

-- The leaderboard is public: an athlete's counters for a season are their row on that season's
-- global board, which ranks every athlete and which every user reads (docs/domain.md, "History,
-- stats and the leaderboard"); the levels only count the athletes with each record; which
-- seasons are closed is the same for everyone.
ALTER TABLE leaderboard_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY public_rows ON leaderboard_counters FOR SELECT TO challenges_api
    USING (true);

ALTER TABLE leaderboard_levels ENABLE ROW LEVEL SECURITY;
CREATE POLICY public_rows ON leaderboard_levels FOR SELECT TO challenges_api
    USING (true);

ALTER TABLE leaderboard_seasons_closed ENABLE ROW LEVEL SECURITY;
CREATE POLICY public_rows ON leaderboard_seasons_closed FOR SELECT TO challenges_api
    USING (true);

-- What the API never reads, its role cannot: progress entries (a participation's total says what
-- the API shows of them), the seed's pending_challenges_with_users (it joins users whole; the
-- API lists challenges with its own query), and yoyo's records of the migrations, readable only
-- because 0004 granted every table there was.
REVOKE SELECT ON challenge_progress, pending_challenges_with_users,
                 _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock
    FROM challenges_api;

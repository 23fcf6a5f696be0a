-- The API's read-only role and Row Level Security. The API connects as challenges_api, which can
-- only SELECT, and sets app.user_id per transaction; the policies then show each user only their
-- own rows even when a query forgets a WHERE. Workers and the scheduler connect as the owner,
-- which RLS does not restrict.

DO $$
BEGIN
    CREATE ROLE challenges_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
EXCEPTION
    -- Roles are cluster-wide: another database (or a concurrent migration) may have made it.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO challenges_api', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO challenges_api;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO challenges_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO challenges_api;
REVOKE SELECT ON events FROM challenges_api;

CREATE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.user_id', true), '')::uuid
$$;

ALTER TABLE workout_challenges ENABLE ROW LEVEL SECURITY;
CREATE POLICY participants_only ON workout_challenges FOR SELECT TO challenges_api
    USING (app_user_id() IN (from_user_id, to_user_id));

ALTER TABLE challenge_notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY recipient_only ON challenge_notifications FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

ALTER TABLE workout_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON workout_logs FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

ALTER TABLE friendships ENABLE ROW LEVEL SECURITY;
CREATE POLICY parties_only ON friendships FOR SELECT TO challenges_api
    USING (app_user_id() IN (requester_id, addressee_id));

ALTER TABLE activity_feed ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible_posts ON activity_feed FOR SELECT TO challenges_api
    USING (user_id = app_user_id()
           OR visibility = 'public'
           OR (visibility = 'friends' AND are_friends(user_id, app_user_id())));

ALTER TABLE processed_commands ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON processed_commands FOR SELECT TO challenges_api
    USING (user_id = app_user_id());

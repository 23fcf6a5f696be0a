-- The API's precheck of a challenge command in one round trip: this function sets the caller
-- and then reads the challenge's state (or its tombstone) under Row Level Security, where the
-- precheck used to send the caller, the state and, for a missing challenge, the tombstone as
-- separate statements. The caller cannot be set by the reading statement itself (the policies'
-- `app_user_id()` may be evaluated before anything else in it); in a PL/pgSQL body each
-- statement runs after the one before. SECURITY INVOKER (the default): it reads as challenges_api,
-- so the policies apply as to any other read.

CREATE FUNCTION challenge_state_as(caller text, challenge uuid)
RETURNS TABLE (id uuid, from_user_id uuid, to_user_id uuid, status text, retry_count integer,
               is_expired boolean, withdrawn_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.user_id', caller, false);
    RETURN QUERY
        SELECT c.id, c.from_user_id, c.to_user_id, c.status, c.retry_count, c.expires_at <= now(),
               NULL::timestamptz
          FROM workout_challenges c WHERE c.id = challenge;
    IF NOT FOUND THEN
        RETURN QUERY
            SELECT w.id, w.from_user_id, w.to_user_id, NULL::text, NULL::integer, NULL::boolean,
                   w.withdrawn_at
              FROM withdrawn_challenges w WHERE w.id = challenge;
    END IF;
END
$$;

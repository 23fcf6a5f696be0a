-- A closed season tells its podium (jobs/leaderboards.py): `leaderboard_podium`, about no
-- challenge, once per athlete and season.

ALTER TABLE challenge_notifications
    DROP CONSTRAINT challenge_notifications_notification_type_check,
    ADD CONSTRAINT challenge_notifications_notification_type_check CHECK (notification_type IN (
        'challenge_received', 'challenge_accepted', 'challenge_declined', 'challenge_completed',
        'challenge_beaten', 'challenge_abandoned', 'challenge_retried', 'challenge_expired',
        'community_milestone', 'community_completed', 'leaderboard_podium')),
    DROP CONSTRAINT friend_notification_has_challenge,
    ADD CONSTRAINT friend_notification_has_challenge CHECK (
        (challenge_id IS NOT NULL) = (notification_type LIKE 'challenge\_%'));
CREATE UNIQUE INDEX podium_notifications_once
    ON challenge_notifications (user_id, ((data ->> 'season')))
    WHERE notification_type = 'leaderboard_podium';

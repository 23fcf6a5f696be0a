-- The board by skill rating gets levels too (migration 0013): a rank by rating was one count of
-- every athlete rated higher, 115 ms at 100,000 athletes once recent games had left their index
-- entries to be checked against the table. Its levels are kept in `leaderboard_levels` under the
-- board key 'rating', by the same trigger function, now on `athlete_ratings` as well: a rating
-- level is an eighth of a rating point (a power of two, so a level's bounds are exact in
-- floating point: level L holds the values v with L / 8 <= v < (L + 1) / 8).

CREATE FUNCTION rating_level(value double precision) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT floor(value * 8)::bigint $$;

-- An athlete leaves their old level and joins the new one, on the board the row belongs to: a
-- season's (the counters) or 'rating' (the ratings); both rows in level order, so two
-- transactions never take them in opposite orders.
CREATE OR REPLACE FUNCTION count_board_level() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_board text;
    old_level bigint;
    new_board text;
    new_level bigint;
BEGIN
    IF TG_TABLE_NAME = 'athlete_ratings' THEN
        old_board := 'rating';
        new_board := 'rating';
        old_level := rating_level(OLD.value);
        new_level := rating_level(NEW.value);
    ELSE
        old_board := OLD.season;
        new_board := NEW.season;
        old_level := board_level(OLD.rank_key);
        new_level := board_level(NEW.rank_key);
    END IF;
    INSERT INTO leaderboard_levels AS l (season, level, shard, athletes)
    SELECT d.season, d.level, board_shard(d.user_id), sum(d.athletes)
      FROM (SELECT new_board AS season, new_level AS level, NEW.user_id AS user_id, 1 AS athletes
             WHERE TG_OP <> 'DELETE'
            UNION ALL
            SELECT old_board, old_level, OLD.user_id, -1 WHERE TG_OP <> 'INSERT') d
     GROUP BY d.season, d.level, d.user_id
    HAVING sum(d.athletes) <> 0
     ORDER BY d.season, d.level
        ON CONFLICT (season, level, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_rating_level_entry AFTER INSERT OR DELETE ON athlete_ratings
    FOR EACH ROW EXECUTE FUNCTION count_board_level();
CREATE TRIGGER count_rating_level_change AFTER UPDATE ON athlete_ratings
    FOR EACH ROW WHEN (rating_level(OLD.value) <> rating_level(NEW.value) OR OLD.user_id <> NEW.user_id)
    EXECUTE FUNCTION count_board_level();

INSERT INTO leaderboard_levels (season, level, shard, athletes)
SELECT 'rating', rating_level(value), board_shard(user_id), count(*) FROM athlete_ratings GROUP BY 2, 3;

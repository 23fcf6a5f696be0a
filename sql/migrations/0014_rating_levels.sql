-- The board by skill rating gets levels too (migration 0013): a rank by rating was one count of
-- every athlete rated higher, 115 ms at 100,000 athletes once recent games had left their index
-- entries to be checked against the table. Its levels are kept in `leaderboard_levels` under the
-- board key 'rating': a rating level is an eighth of a rating point (a power of two, so a level's
-- bounds are exact in floating point: level L holds the values v with L / 8 <= v < (L + 1) / 8).
--
-- Kept per statement, not per row: settling a challenge writes both athletes' ratings in one
-- statement (their first game inserts both rows), and taking each row's level rows in turn, two
-- settlements could take the same two level rows in opposite orders and deadlock. Per statement,
-- all of its level rows are taken at once, in level order.

CREATE FUNCTION rating_level(value double precision) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT floor(value * 8)::bigint $$;

CREATE FUNCTION count_rating_levels() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO leaderboard_levels AS l (season, level, shard, athletes)
        SELECT 'rating', rating_level(value), board_shard(user_id), count(*) FROM added
         GROUP BY 2, 3 ORDER BY 2, 3
            ON CONFLICT (season, level, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO leaderboard_levels AS l (season, level, shard, athletes)
        SELECT 'rating', rating_level(value), board_shard(user_id), -count(*) FROM removed
         GROUP BY 2, 3 ORDER BY 2, 3
            ON CONFLICT (season, level, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes;
    ELSE
        INSERT INTO leaderboard_levels AS l (season, level, shard, athletes)
        SELECT 'rating', d.level, d.shard, sum(d.athletes)
          FROM (SELECT rating_level(value) AS level, board_shard(user_id) AS shard, 1 AS athletes FROM new_ratings
                UNION ALL
                SELECT rating_level(value), board_shard(user_id), -1 FROM old_ratings) d
         GROUP BY d.level, d.shard
        HAVING sum(d.athletes) <> 0
         ORDER BY d.level, d.shard
            ON CONFLICT (season, level, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_rating_levels_added AFTER INSERT ON athlete_ratings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION count_rating_levels();
CREATE TRIGGER count_rating_levels_moved AFTER UPDATE ON athlete_ratings
    REFERENCING OLD TABLE AS old_ratings NEW TABLE AS new_ratings FOR EACH STATEMENT EXECUTE FUNCTION count_rating_levels();
CREATE TRIGGER count_rating_levels_removed AFTER DELETE ON athlete_ratings
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION count_rating_levels();

INSERT INTO leaderboard_levels (season, level, shard, athletes)
SELECT 'rating', rating_level(value), board_shard(user_id), count(*) FROM athlete_ratings GROUP BY 2, 3;

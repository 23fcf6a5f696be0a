-- How many athletes each board has at each level, so that a rank on a large board is the
-- athletes on the levels above (a sum over a few hundred rows) plus a count among those on your
-- own level, instead of a count of everyone ahead (docs/domain.md, "History, stats and the
-- leaderboard"). A level is rank_key / 10^10: the wins and the tenth of the win rate (rank_key is
-- wins * 10^12 + win rate in basis points * 10^7 + 9,999,999 - quits), so a level holds the
-- athletes with as many wins and a win rate in the same tenth. Kept by a trigger on the counters
-- themselves, in the same transaction; spread over 16 shards by user id, so that athletes moving
-- at the same moment rarely wait for one another on the same level row.

CREATE FUNCTION board_shard(user_id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$ SELECT (get_byte(uuid_send(user_id), 15) % 16)::smallint $$;

CREATE FUNCTION board_level(rank_key bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT rank_key / 10000000000 $$;

CREATE TABLE leaderboard_levels (
    season   text NOT NULL,
    level    bigint NOT NULL,
    shard    smallint NOT NULL,
    athletes integer NOT NULL,
    PRIMARY KEY (season, level, shard)
);
GRANT SELECT ON leaderboard_levels TO challenges_api;

-- The athlete leaves their old level and joins the new one; both rows in level order, so two
-- transactions never take them in opposite orders.
CREATE FUNCTION count_board_level() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leaderboard_levels AS l (season, level, shard, athletes)
    SELECT d.season, d.level, board_shard(d.user_id), sum(d.athletes)
      FROM (SELECT NEW.season AS season, board_level(NEW.rank_key) AS level, NEW.user_id AS user_id,
                   1 AS athletes
             WHERE TG_OP <> 'DELETE'
            UNION ALL
            SELECT OLD.season, board_level(OLD.rank_key), OLD.user_id, -1 WHERE TG_OP <> 'INSERT') d
     GROUP BY d.season, d.level, d.user_id
    HAVING sum(d.athletes) <> 0
     ORDER BY d.season, d.level
        ON CONFLICT (season, level, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_board_level_entry AFTER INSERT OR DELETE ON leaderboard_counters
    FOR EACH ROW EXECUTE FUNCTION count_board_level();
CREATE TRIGGER count_board_level_change AFTER UPDATE ON leaderboard_counters
    FOR EACH ROW WHEN (board_level(OLD.rank_key) <> board_level(NEW.rank_key)
                       OR OLD.season <> NEW.season OR OLD.user_id <> NEW.user_id)
    EXECUTE FUNCTION count_board_level();

INSERT INTO leaderboard_levels (season, level, shard, athletes)
SELECT season, board_level(rank_key), board_shard(user_id), count(*) FROM leaderboard_counters GROUP BY 1, 2, 3;

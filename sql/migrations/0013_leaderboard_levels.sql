-- How many athletes each board has at each number of wins, so that a rank on a large board is
-- the athletes on the levels above (a sum over a few hundred rows) plus a count among those with
-- as many wins as you, instead of a count of everyone ahead (docs/domain.md, "History, stats and
-- the leaderboard"). Kept by a trigger on the counters themselves, in the same transaction;
-- spread over 16 shards by user id, so that athletes winning at the same moment rarely wait for
-- one another on the same level row.

CREATE FUNCTION board_shard(user_id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$ SELECT (get_byte(uuid_send(user_id), 15) % 16)::smallint $$;

CREATE TABLE leaderboard_levels (
    season   text NOT NULL,
    wins     integer NOT NULL,
    shard    smallint NOT NULL,
    athletes integer NOT NULL,
    PRIMARY KEY (season, wins, shard)
);
GRANT SELECT ON leaderboard_levels TO challenges_api;

-- The athlete leaves the level of their old wins and joins the one of their new wins; both rows in
-- wins order, so two transactions never take them in opposite orders.
CREATE FUNCTION count_board_level() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leaderboard_levels AS l (season, wins, shard, athletes)
    SELECT d.season, d.wins, board_shard(d.user_id), sum(d.athletes)
      FROM (SELECT NEW.season AS season, NEW.wins AS wins, NEW.user_id AS user_id, 1 AS athletes
             WHERE TG_OP <> 'DELETE'
            UNION ALL
            SELECT OLD.season, OLD.wins, OLD.user_id, -1 WHERE TG_OP <> 'INSERT') d
     GROUP BY d.season, d.wins, d.user_id
    HAVING sum(d.athletes) <> 0
     ORDER BY d.season, d.wins
        ON CONFLICT (season, wins, shard) DO UPDATE SET athletes = l.athletes + excluded.athletes;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_board_level_entry AFTER INSERT OR DELETE ON leaderboard_counters
    FOR EACH ROW EXECUTE FUNCTION count_board_level();
CREATE TRIGGER count_board_level_change AFTER UPDATE OF wins, season, user_id ON leaderboard_counters
    FOR EACH ROW WHEN (OLD.wins <> NEW.wins OR OLD.season <> NEW.season OR OLD.user_id <> NEW.user_id)
    EXECUTE FUNCTION count_board_level();

INSERT INTO leaderboard_levels (season, wins, shard, athletes)
SELECT season, wins, board_shard(user_id), count(*) FROM leaderboard_counters GROUP BY 1, 2, 3;

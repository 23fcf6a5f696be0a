-- A level of a season's board (migration 0013) was the wins and the tenth of the win rate, so
-- every athlete without a win shared level 0, ordered within it only by their quits: an athlete
-- with no win and one quit counted the tens of thousands with no win and no quit one by one
-- (10-12 ms at 100,000 athletes, the slowest ranks on the board). Without a win the win rate is
-- 0 and the quits are the whole order, so those athletes now get a level per number of quits
-- (the levels below 0: -1 for none, -2 for one, ... -1001 for a thousand or more), and a rank
-- counts within one level only those with the same quits, which are ties.
--
-- board_level_end(level) is the first rank_key above a level, the bound of that count.

CREATE OR REPLACE FUNCTION board_level(rank_key bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN rank_key >= 10000000000 THEN rank_key / 10000000000
                ELSE -1 - least(9999999 - rank_key, 1000) END
$$;

CREATE FUNCTION board_level_end(level bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN level >= 0 THEN (level + 1) * 10000000000 ELSE 10000001 + level END
$$;

DELETE FROM leaderboard_levels WHERE season <> 'rating';
INSERT INTO leaderboard_levels (season, level, shard, athletes)
SELECT season, board_level(rank_key), board_shard(user_id), count(*) FROM leaderboard_counters GROUP BY 1, 2, 3;

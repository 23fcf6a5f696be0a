-- A level of a season's board (migration 0013) was the wins and the tenth of the win rate, and a
-- rank counted, one by one, those ahead on one's own level: at 1,000,000 challenges between
-- 100,000 athletes a level held up to 13,000 of them (four wins and a win rate in the fifties,
-- by every mix of losses and quits), and every athlete without a win shared one, so the slowest
-- ranks took 10-12 ms. But records are small numbers: that whole board has a few hundred
-- different ones. So a level is now one rank key, the athletes with the very same record (wins,
-- win rate, quits), and a rank is one more than the athletes on the keys above: a sum over
-- keys times 16 shards rows (3,600 on that board), with nothing left to count one by one; the
-- number of different records grows with the length of athletes' histories, not their number.

CREATE OR REPLACE FUNCTION board_level(rank_key bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT rank_key $$;

DELETE FROM leaderboard_levels WHERE season <> 'rating';
INSERT INTO leaderboard_levels (season, level, shard, athletes)
SELECT season, board_level(rank_key), board_shard(user_id), count(*) FROM leaderboard_counters GROUP BY 1, 2, 3;

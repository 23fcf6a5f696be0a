-- Events of one transaction (a demo seed, an expiry run) get distinct, increasing times, so the
-- event log and its insights order them as they happened rather than as ties.
ALTER TABLE events ALTER COLUMN created_at SET DEFAULT clock_timestamp();

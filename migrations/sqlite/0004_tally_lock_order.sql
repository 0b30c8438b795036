-- Kept in step with migrations/postgres/0004. SQLite has one writer at a time, so the tally
-- lock order needs no change here; the listing indexes lose the counters, as there.
DROP INDEX jobs_listing_live;
DROP INDEX jobs_listing_deleted;
CREATE INDEX jobs_listing_live ON jobs (work_area_id, id) WHERE deleted_at IS NULL;
CREATE INDEX jobs_listing_deleted ON jobs (work_area_id, id) WHERE deleted_at IS NOT NULL;

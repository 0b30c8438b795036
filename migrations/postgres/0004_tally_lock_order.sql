-- Two writers moving jobs between the same two tallies in opposite directions used to lock the
-- two tally rows in opposite orders and deadlock (a 500 under concurrent task updates). The
-- rows are now always locked in one order: the lower key first.
CREATE OR REPLACE FUNCTION jobs_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key TEXT;
    new_key TEXT;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_key := concat_ws(',', OLD.work_area_id, OLD.deleted_at IS NOT NULL,
            OLD.tasks_completed_count >= OLD.tasks_count,
            OLD.assets_received_count >= OLD.assets_count, OLD.active_problems_count > 0);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_key := concat_ws(',', NEW.work_area_id, NEW.deleted_at IS NOT NULL,
            NEW.tasks_completed_count >= NEW.tasks_count,
            NEW.assets_received_count >= NEW.assets_count, NEW.active_problems_count > 0);
    END IF;
    -- Most updates (a second task completed, a rename) leave the job in its tally.
    IF old_key IS NOT DISTINCT FROM new_key THEN
        RETURN NULL;
    END IF;
    IF old_key IS NOT NULL AND (new_key IS NULL OR old_key < new_key) THEN
        PERFORM job_tally_move(OLD.work_area_id, OLD.deleted_at IS NOT NULL,
            OLD.tasks_completed_count >= OLD.tasks_count,
            OLD.assets_received_count >= OLD.assets_count, OLD.active_problems_count > 0, -1);
        old_key := NULL;
    END IF;
    IF new_key IS NOT NULL THEN
        PERFORM job_tally_move(NEW.work_area_id, NEW.deleted_at IS NOT NULL,
            NEW.tasks_completed_count >= NEW.tasks_count,
            NEW.assets_received_count >= NEW.assets_count, NEW.active_problems_count > 0, 1);
    END IF;
    IF old_key IS NOT NULL THEN
        PERFORM job_tally_move(OLD.work_area_id, OLD.deleted_at IS NOT NULL,
            OLD.tasks_completed_count >= OLD.tasks_count,
            OLD.assets_received_count >= OLD.assets_count, OLD.active_problems_count > 0, -1);
    END IF;
    RETURN NULL;
END $$;

-- Counters change with every task, asset and problem write. Kept out of the listing indexes
-- (and with room left on each page), those updates can stay on their page without touching any
-- index (HOT); the planner walked the primary key for pages anyway.
DROP INDEX jobs_listing_live;
DROP INDEX jobs_listing_deleted;
CREATE INDEX jobs_listing_live ON jobs (work_area_id, id) WHERE deleted_at IS NULL;
CREATE INDEX jobs_listing_deleted ON jobs (work_area_id, id) WHERE deleted_at IS NOT NULL;
ALTER TABLE jobs SET (fillfactor = 85);

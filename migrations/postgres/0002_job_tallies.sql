-- Constant-time totals for the jobs list. Every job sits in exactly one tally: its work area,
-- whether it is deleted, and the three facts the list filters test (all tasks completed, all
-- assets received, has an active problem). A list's total-entries is a sum over at most eight
-- rows of this table instead of a count over the jobs.
CREATE TABLE job_tallies (
    work_area_id BIGINT  NOT NULL REFERENCES work_areas (id) ON DELETE CASCADE,
    deleted      BOOLEAN NOT NULL,
    all_tasks    BOOLEAN NOT NULL,
    all_assets   BOOLEAN NOT NULL,
    problematic  BOOLEAN NOT NULL,
    n            BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (work_area_id, deleted, all_tasks, all_assets, problematic)
);

CREATE FUNCTION job_tally_move(area BIGINT, del BOOLEAN, t BOOLEAN, a BOOLEAN, p BOOLEAN, delta INTEGER)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO job_tallies (work_area_id, deleted, all_tasks, all_assets, problematic, n)
    VALUES (area, del, t, a, p, delta)
    ON CONFLICT (work_area_id, deleted, all_tasks, all_assets, problematic)
    DO UPDATE SET n = job_tallies.n + EXCLUDED.n;
$$;

CREATE FUNCTION jobs_tally() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF old_key IS NOT NULL THEN
        PERFORM job_tally_move(OLD.work_area_id, OLD.deleted_at IS NOT NULL,
            OLD.tasks_completed_count >= OLD.tasks_count,
            OLD.assets_received_count >= OLD.assets_count, OLD.active_problems_count > 0, -1);
    END IF;
    IF new_key IS NOT NULL THEN
        PERFORM job_tally_move(NEW.work_area_id, NEW.deleted_at IS NOT NULL,
            NEW.tasks_completed_count >= NEW.tasks_count,
            NEW.assets_received_count >= NEW.assets_count, NEW.active_problems_count > 0, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_tally AFTER INSERT OR DELETE OR UPDATE OF work_area_id, deleted_at,
    tasks_count, tasks_completed_count, assets_count, assets_received_count, active_problems_count
    ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_tally();

INSERT INTO job_tallies (work_area_id, deleted, all_tasks, all_assets, problematic, n)
SELECT work_area_id, deleted_at IS NOT NULL, tasks_completed_count >= tasks_count,
       assets_received_count >= assets_count, active_problems_count > 0, count(*)
  FROM jobs GROUP BY 1, 2, 3, 4, 5;

-- Listing: page queries walk this index in id order and test the filters on the included
-- counters, so neither a page nor an OFFSET needs the table rows of the jobs it skips.
CREATE INDEX jobs_listing_live ON jobs (work_area_id, id)
    INCLUDE (tasks_count, tasks_completed_count, assets_count, assets_received_count,
             active_problems_count)
    WHERE deleted_at IS NULL;
CREATE INDEX jobs_listing_deleted ON jobs (work_area_id, id)
    INCLUDE (tasks_count, tasks_completed_count, assets_count, assets_received_count,
             active_problems_count)
    WHERE deleted_at IS NOT NULL;
DROP INDEX jobs_work_area_live;
DROP INDEX jobs_work_area_deleted;

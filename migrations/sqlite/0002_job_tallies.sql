-- Constant-time totals for the jobs list (see migrations/postgres/0002): one row per work area,
-- deleted flag and combination of the three facts the filters test.
CREATE TABLE job_tallies (
    work_area_id INTEGER NOT NULL REFERENCES work_areas (id) ON DELETE CASCADE,
    deleted      BOOLEAN NOT NULL,
    all_tasks    BOOLEAN NOT NULL,
    all_assets   BOOLEAN NOT NULL,
    problematic  BOOLEAN NOT NULL,
    n            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (work_area_id, deleted, all_tasks, all_assets, problematic)
);

CREATE TRIGGER jobs_tally_added AFTER INSERT ON jobs BEGIN
    INSERT INTO job_tallies (work_area_id, deleted, all_tasks, all_assets, problematic, n)
    VALUES (NEW.work_area_id, NEW.deleted_at IS NOT NULL,
            NEW.tasks_completed_count >= NEW.tasks_count,
            NEW.assets_received_count >= NEW.assets_count, NEW.active_problems_count > 0, 1)
    ON CONFLICT (work_area_id, deleted, all_tasks, all_assets, problematic)
    DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER jobs_tally_removed AFTER DELETE ON jobs BEGIN
    UPDATE job_tallies SET n = n - 1
     WHERE work_area_id = OLD.work_area_id AND deleted = (OLD.deleted_at IS NOT NULL)
       AND all_tasks = (OLD.tasks_completed_count >= OLD.tasks_count)
       AND all_assets = (OLD.assets_received_count >= OLD.assets_count)
       AND problematic = (OLD.active_problems_count > 0);
END;

-- Fires only when the job moves to another tally.
CREATE TRIGGER jobs_tally_moved AFTER UPDATE OF work_area_id, deleted_at, tasks_count,
    tasks_completed_count, assets_count, assets_received_count, active_problems_count ON jobs
WHEN (OLD.work_area_id, OLD.deleted_at IS NOT NULL, OLD.tasks_completed_count >= OLD.tasks_count,
      OLD.assets_received_count >= OLD.assets_count, OLD.active_problems_count > 0)
  IS NOT (NEW.work_area_id, NEW.deleted_at IS NOT NULL, NEW.tasks_completed_count >= NEW.tasks_count,
      NEW.assets_received_count >= NEW.assets_count, NEW.active_problems_count > 0)
BEGIN
    UPDATE job_tallies SET n = n - 1
     WHERE work_area_id = OLD.work_area_id AND deleted = (OLD.deleted_at IS NOT NULL)
       AND all_tasks = (OLD.tasks_completed_count >= OLD.tasks_count)
       AND all_assets = (OLD.assets_received_count >= OLD.assets_count)
       AND problematic = (OLD.active_problems_count > 0);
    INSERT INTO job_tallies (work_area_id, deleted, all_tasks, all_assets, problematic, n)
    VALUES (NEW.work_area_id, NEW.deleted_at IS NOT NULL,
            NEW.tasks_completed_count >= NEW.tasks_count,
            NEW.assets_received_count >= NEW.assets_count, NEW.active_problems_count > 0, 1)
    ON CONFLICT (work_area_id, deleted, all_tasks, all_assets, problematic)
    DO UPDATE SET n = n + 1;
END;

INSERT INTO job_tallies (work_area_id, deleted, all_tasks, all_assets, problematic, n)
SELECT work_area_id, deleted_at IS NOT NULL, tasks_completed_count >= tasks_count,
       assets_received_count >= assets_count, active_problems_count > 0, count(*)
  FROM jobs WHERE true GROUP BY 1, 2, 3, 4, 5;

CREATE INDEX jobs_listing_live ON jobs (work_area_id, id, tasks_count, tasks_completed_count,
    assets_count, assets_received_count, active_problems_count) WHERE deleted_at IS NULL;
CREATE INDEX jobs_listing_deleted ON jobs (work_area_id, id, tasks_count, tasks_completed_count,
    assets_count, assets_received_count, active_problems_count) WHERE deleted_at IS NOT NULL;
DROP INDEX jobs_work_area_live;
DROP INDEX jobs_work_area_deleted;

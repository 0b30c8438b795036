-- The same schema as migrations/postgres, in SQLite's dialect. Keep the two in step.
-- Ids use AUTOINCREMENT so that an id is never reused (sub-resource URLs stay unambiguous).

CREATE TABLE accounts (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    login      TEXT NOT NULL UNIQUE,
    realm      TEXT NOT NULL,
    ha1_md5    TEXT NOT NULL
);

CREATE TABLE work_areas (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL
);
CREATE INDEX work_areas_account ON work_areas (account_id, id);

CREATE TABLE templates (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    due_date_offset_days INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
);

CREATE TABLE template_tasks (
    template_id       INTEGER NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    requires_duration BOOLEAN NOT NULL DEFAULT FALSE,
    responsible_email TEXT,
    PRIMARY KEY (template_id, position)
);

CREATE TABLE template_assets (
    template_id INTEGER NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    type_name   TEXT NOT NULL,
    PRIMARY KEY (template_id, position)
);

CREATE TABLE jobs (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    work_area_id           INTEGER NOT NULL REFERENCES work_areas (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    begins_at              DATE NOT NULL,
    due_date               DATE NOT NULL,
    ends_at                DATE,
    licensor_name          TEXT NOT NULL,
    tag_list               TEXT NOT NULL DEFAULT '',
    title_external_id      TEXT,
    due_date_offset_days   INTEGER NOT NULL,
    template_name          TEXT NOT NULL,
    scheduling_href        TEXT,
    metadata_href          TEXT,
    title_href             TEXT,
    deleted_at             DATETIME,
    tasks_count            INTEGER NOT NULL DEFAULT 0,
    tasks_completed_count  INTEGER NOT NULL DEFAULT 0,
    assets_count           INTEGER NOT NULL DEFAULT 0,
    assets_received_count  INTEGER NOT NULL DEFAULT 0,
    active_problems_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_work_area_live ON jobs (work_area_id, id) WHERE deleted_at IS NULL;
CREATE INDEX jobs_work_area_deleted ON jobs (work_area_id, id) WHERE deleted_at IS NOT NULL;

CREATE TABLE tasks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id            INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
    requires_duration BOOLEAN NOT NULL DEFAULT FALSE,
    duration          TEXT,
    position          INTEGER NOT NULL,
    responsible_email TEXT
);
CREATE INDEX tasks_job ON tasks (job_id, position, id);

CREATE TABLE assets (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id    INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    type_name TEXT NOT NULL,
    status    TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'received', 'claimed')),
    progress  INTEGER CHECK (progress BETWEEN 0 AND 100)
);
CREATE INDEX assets_job ON assets (job_id, id);

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    creator    TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX notes_job ON notes (job_id, id);

CREATE TABLE problems (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    dismissed   BOOLEAN NOT NULL DEFAULT FALSE,
    reporter    TEXT NOT NULL
);
CREATE INDEX problems_job ON problems (job_id, id);

-- Counter maintenance, as in PostgreSQL: triggers, so that no write path can forget.
CREATE TRIGGER tasks_added AFTER INSERT ON tasks BEGIN
    UPDATE jobs SET tasks_count = tasks_count + 1,
                    tasks_completed_count = tasks_completed_count + (NEW.status = 'completed')
     WHERE id = NEW.job_id;
END;
CREATE TRIGGER tasks_removed AFTER DELETE ON tasks BEGIN
    UPDATE jobs SET tasks_count = tasks_count - 1,
                    tasks_completed_count = tasks_completed_count - (OLD.status = 'completed')
     WHERE id = OLD.job_id;
END;
CREATE TRIGGER tasks_changed AFTER UPDATE OF status, job_id ON tasks BEGIN
    UPDATE jobs SET tasks_count = tasks_count - 1,
                    tasks_completed_count = tasks_completed_count - (OLD.status = 'completed')
     WHERE id = OLD.job_id;
    UPDATE jobs SET tasks_count = tasks_count + 1,
                    tasks_completed_count = tasks_completed_count + (NEW.status = 'completed')
     WHERE id = NEW.job_id;
END;

CREATE TRIGGER assets_added AFTER INSERT ON assets BEGIN
    UPDATE jobs SET assets_count = assets_count + 1,
                    assets_received_count = assets_received_count + (NEW.status = 'received')
     WHERE id = NEW.job_id;
END;
CREATE TRIGGER assets_removed AFTER DELETE ON assets BEGIN
    UPDATE jobs SET assets_count = assets_count - 1,
                    assets_received_count = assets_received_count - (OLD.status = 'received')
     WHERE id = OLD.job_id;
END;
CREATE TRIGGER assets_changed AFTER UPDATE OF status, job_id ON assets BEGIN
    UPDATE jobs SET assets_count = assets_count - 1,
                    assets_received_count = assets_received_count - (OLD.status = 'received')
     WHERE id = OLD.job_id;
    UPDATE jobs SET assets_count = assets_count + 1,
                    assets_received_count = assets_received_count + (NEW.status = 'received')
     WHERE id = NEW.job_id;
END;

CREATE TRIGGER problems_added AFTER INSERT ON problems BEGIN
    UPDATE jobs SET active_problems_count = active_problems_count + (NOT NEW.dismissed)
     WHERE id = NEW.job_id;
END;
CREATE TRIGGER problems_removed AFTER DELETE ON problems BEGIN
    UPDATE jobs SET active_problems_count = active_problems_count - (NOT OLD.dismissed)
     WHERE id = OLD.job_id;
END;
CREATE TRIGGER problems_changed AFTER UPDATE OF dismissed, job_id ON problems BEGIN
    UPDATE jobs SET active_problems_count = active_problems_count - (NOT OLD.dismissed)
     WHERE id = OLD.job_id;
    UPDATE jobs SET active_problems_count = active_problems_count + (NOT NEW.dismissed)
     WHERE id = NEW.job_id;
END;

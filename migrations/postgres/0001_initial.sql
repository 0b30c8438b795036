-- Accounts own everything a robot user can see.
CREATE TABLE accounts (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- Robot users. Digest needs HA1 = H(login:realm:password), never the password itself,
-- so HA1 is stored per algorithm together with the realm it was computed for.
CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    login      TEXT NOT NULL UNIQUE,
    realm      TEXT NOT NULL,
    ha1_md5    TEXT NOT NULL
);

CREATE TABLE work_areas (
    id         BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL
);
CREATE INDEX work_areas_account ON work_areas (account_id, id);

CREATE TABLE templates (
    id                   BIGSERIAL PRIMARY KEY,
    account_id           BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    due_date_offset_days INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
);

CREATE TABLE template_tasks (
    template_id       BIGINT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    requires_duration BOOLEAN NOT NULL DEFAULT FALSE,
    responsible_email TEXT,
    PRIMARY KEY (template_id, position)
);

CREATE TABLE template_assets (
    template_id BIGINT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    type_name   TEXT NOT NULL,
    PRIMARY KEY (template_id, position)
);

-- Jobs. The five *_count columns are counters maintained by the triggers below in the same
-- statement as the change to a task, asset or problem; the statuses themselves are derived from
-- them and the date at query time (src/domain/status.rs), never stored.
CREATE TABLE jobs (
    id                     BIGSERIAL PRIMARY KEY,
    work_area_id           BIGINT NOT NULL REFERENCES work_areas (id) ON DELETE CASCADE,
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
    deleted_at             TIMESTAMPTZ,
    tasks_count            INTEGER NOT NULL DEFAULT 0,
    tasks_completed_count  INTEGER NOT NULL DEFAULT 0,
    assets_count           INTEGER NOT NULL DEFAULT 0,
    assets_received_count  INTEGER NOT NULL DEFAULT 0,
    active_problems_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_work_area_live ON jobs (work_area_id, id) WHERE deleted_at IS NULL;
CREATE INDEX jobs_work_area_deleted ON jobs (work_area_id, id) WHERE deleted_at IS NOT NULL;

CREATE TABLE tasks (
    id                BIGSERIAL PRIMARY KEY,
    job_id            BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
    requires_duration BOOLEAN NOT NULL DEFAULT FALSE,
    duration          TEXT,
    position          INTEGER NOT NULL,
    responsible_email TEXT
);
CREATE INDEX tasks_job ON tasks (job_id, position, id);

CREATE TABLE assets (
    id        BIGSERIAL PRIMARY KEY,
    job_id    BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    type_name TEXT NOT NULL,
    status    TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'received', 'claimed')),
    progress  INTEGER CHECK (progress BETWEEN 0 AND 100)
);
CREATE INDEX assets_job ON assets (job_id, id);

CREATE TABLE notes (
    id         BIGSERIAL PRIMARY KEY,
    job_id     BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    creator    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX notes_job ON notes (job_id, id);

CREATE TABLE problems (
    id          BIGSERIAL PRIMARY KEY,
    job_id      BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    dismissed   BOOLEAN NOT NULL DEFAULT FALSE,
    reporter    TEXT NOT NULL
);
CREATE INDEX problems_job ON problems (job_id, id);

-- Counter maintenance. Triggers rather than application code so that no write path can forget.
CREATE FUNCTION tasks_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE jobs SET tasks_count = tasks_count - 1,
                        tasks_completed_count = tasks_completed_count - (OLD.status = 'completed')::int
         WHERE id = OLD.job_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE jobs SET tasks_count = tasks_count + 1,
                        tasks_completed_count = tasks_completed_count + (NEW.status = 'completed')::int
         WHERE id = NEW.job_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_roll_up AFTER INSERT OR DELETE OR UPDATE OF status, job_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_roll_up();

CREATE FUNCTION assets_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE jobs SET assets_count = assets_count - 1,
                        assets_received_count = assets_received_count - (OLD.status = 'received')::int
         WHERE id = OLD.job_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE jobs SET assets_count = assets_count + 1,
                        assets_received_count = assets_received_count + (NEW.status = 'received')::int
         WHERE id = NEW.job_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER assets_roll_up AFTER INSERT OR DELETE OR UPDATE OF status, job_id ON assets
    FOR EACH ROW EXECUTE FUNCTION assets_roll_up();

CREATE FUNCTION problems_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE jobs SET active_problems_count = active_problems_count - (NOT OLD.dismissed)::int
         WHERE id = OLD.job_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE jobs SET active_problems_count = active_problems_count + (NOT NEW.dismissed)::int
         WHERE id = NEW.job_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER problems_roll_up AFTER INSERT OR DELETE OR UPDATE OF dismissed, job_id ON problems
    FOR EACH ROW EXECUTE FUNCTION problems_roll_up();

-- +goose Up
CREATE TABLE maintenance_windows (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at   TIMESTAMP NULL,
    ends_at     TIMESTAMP NULL,
    cron        TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    timezone    TEXT NOT NULL DEFAULT '',
    monitor_ids TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- The state machine's own verdict, kept beside the shown state: during
-- maintenance the monitor shows "maintenance" but keeps judging, so it
-- resumes with the right state when the window ends, across restarts too.
ALTER TABLE monitor_status ADD COLUMN verdict TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE monitor_status DROP COLUMN verdict;
DROP TABLE maintenance_windows;

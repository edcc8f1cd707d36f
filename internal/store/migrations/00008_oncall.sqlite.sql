-- +goose Up
-- A schedule's layers are one JSON document: they are always read and
-- written together, and a layer has no identity outside its schedule.
CREATE TABLE oncall_schedules (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    time_zone   TEXT NOT NULL,
    layers      TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE oncall_overrides (
    id          INTEGER PRIMARY KEY,
    schedule_id BIGINT NOT NULL REFERENCES oncall_schedules(id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    starts_at   TIMESTAMP NOT NULL,
    ends_at     TIMESTAMP NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX oncall_overrides_schedule ON oncall_overrides(schedule_id, ends_at);

-- Levels (targets and delays) are one JSON document, like layers; targets
-- name users and schedules by id without foreign keys so deleting a
-- schedule never blocks on a policy, and the engine reports the gap.
CREATE TABLE escalation_policies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    repeats     INTEGER NOT NULL DEFAULT 0,
    levels      TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- One row per incident being escalated: the next step (level, round) and
-- when it is due. The engine advances it with a conditional UPDATE in the
-- same transaction as the page, so a step is paged once per commit; step
-- counts every change of the row and is what that UPDATE compares.
CREATE TABLE escalations (
    incident_id BIGINT PRIMARY KEY,
    policy_id   BIGINT NOT NULL,
    level       INTEGER NOT NULL DEFAULT 0,
    round       INTEGER NOT NULL DEFAULT 0,
    next_at     TIMESTAMP NOT NULL,
    state       TEXT NOT NULL,
    step        INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX escalations_due ON escalations(state, next_at);

-- +goose Down
DROP TABLE escalations;
DROP TABLE escalation_policies;
DROP TABLE oncall_overrides;
DROP TABLE oncall_schedules;

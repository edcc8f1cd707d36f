-- +goose Up
-- Backup jobs: what is backed up (protected CIs), when runs are expected
-- (cron in a time zone, or a period), and the limits a run is judged by.
-- The check-in key is kept as a SHA-256 hash; the raw key is shown once.
CREATE TABLE backup_jobs (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    description            TEXT NOT NULL DEFAULT '',
    tool                   TEXT NOT NULL DEFAULT '',
    cron                   TEXT NOT NULL DEFAULT '',
    timezone               TEXT NOT NULL DEFAULT '',
    period_seconds         BIGINT NOT NULL DEFAULT 0,
    grace_seconds          BIGINT NOT NULL,
    max_duration_seconds   BIGINT NOT NULL DEFAULT 0,
    min_bytes              BIGINT NOT NULL DEFAULT 0,
    rpo_seconds            BIGINT NOT NULL,
    restore_max_age_days   BIGINT NOT NULL DEFAULT 0,
    self_backup            BOOLEAN NOT NULL DEFAULT FALSE,
    key_hash               TEXT NOT NULL UNIQUE,
    state                  TEXT NOT NULL DEFAULT 'waiting',
    state_detail           TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);

CREATE TABLE backup_job_cis (
    job_id BIGINT NOT NULL REFERENCES backup_jobs(id) ON DELETE CASCADE,
    ci_id  BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, ci_id)
);
CREATE INDEX backup_job_cis_ci ON backup_job_cis (ci_id);

-- One row per run: a start check-in opens it, success/fail closes it; a
-- finish without a start is a run of its own.
CREATE TABLE backup_runs (
    id           INTEGER PRIMARY KEY,
    job_id       BIGINT NOT NULL REFERENCES backup_jobs(id) ON DELETE CASCADE,
    started_at   TIMESTAMP NULL,
    finished_at  TIMESTAMP NULL,
    status       TEXT NOT NULL,
    exit_code    BIGINT NULL,
    bytes        BIGINT NULL,
    files        BIGINT NULL,
    duration_ms  BIGINT NULL,
    snapshot_id  TEXT NOT NULL DEFAULT '',
    log_tail     TEXT NOT NULL DEFAULT '',
    source_addr  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX backup_runs_job ON backup_runs (job_id, id);

-- The alerts the evaluator has raised and not cleared, so a restart
-- neither raises them twice nor forgets to clear them.
CREATE TABLE backup_alerts (
    key       TEXT PRIMARY KEY,
    summary   TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL
);

CREATE TABLE backup_restore_tests (
    id               INTEGER PRIMARY KEY,
    job_id           BIGINT NOT NULL REFERENCES backup_jobs(id) ON DELETE CASCADE,
    tested_at        TIMESTAMP NOT NULL,
    result           TEXT NOT NULL,
    data_checked     TEXT NOT NULL DEFAULT '',
    duration_seconds BIGINT NOT NULL,
    notes            TEXT NOT NULL DEFAULT '',
    recorded_by      TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX backup_restore_tests_job ON backup_restore_tests (job_id, tested_at);

-- CI types whose items should be covered by a backup job.
CREATE TABLE backup_ci_types (
    type_id BIGINT PRIMARY KEY REFERENCES ci_types(id) ON DELETE CASCADE
);

CREATE TABLE dr_plans (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    rto_seconds            BIGINT NOT NULL,
    rpo_seconds            BIGINT NOT NULL,
    runbook                TEXT NOT NULL DEFAULT '',
    contacts               TEXT NOT NULL DEFAULT '',
    exercise_interval_days BIGINT NOT NULL DEFAULT 0,
    next_exercise_due      TIMESTAMP NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);

CREATE TABLE dr_plan_cis (
    plan_id BIGINT NOT NULL REFERENCES dr_plans(id) ON DELETE CASCADE,
    ci_id   BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    PRIMARY KEY (plan_id, ci_id)
);

CREATE TABLE dr_exercises (
    id           INTEGER PRIMARY KEY,
    plan_id      BIGINT NOT NULL REFERENCES dr_plans(id) ON DELETE CASCADE,
    held_at      TIMESTAMP NOT NULL,
    outcome      TEXT NOT NULL,
    rto_seconds  BIGINT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    recorded_by  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX dr_exercises_plan ON dr_exercises (plan_id, held_at);

-- +goose Down
DROP TABLE dr_exercises;
DROP TABLE dr_plan_cis;
DROP TABLE dr_plans;
DROP TABLE backup_ci_types;
DROP TABLE backup_restore_tests;
DROP TABLE backup_alerts;
DROP TABLE backup_runs;
DROP TABLE backup_job_cis;
DROP TABLE backup_jobs;

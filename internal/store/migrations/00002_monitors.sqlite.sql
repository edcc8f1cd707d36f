-- +goose Up
CREATE TABLE monitors (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    type              TEXT NOT NULL,
    settings          TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    tags              TEXT NOT NULL DEFAULT '',
    interval_ms       BIGINT NOT NULL,
    timeout_ms        BIGINT NOT NULL,
    failure_threshold BIGINT NOT NULL,
    success_threshold BIGINT NOT NULL,
    paused            BOOLEAN NOT NULL DEFAULT FALSE,
    source            TEXT NOT NULL DEFAULT 'api',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

-- One row per monitor, rewritten after every check: kept apart from the
-- definition so the hot update touches a narrow row.
CREATE TABLE monitor_status (
    monitor_id      BIGINT PRIMARY KEY REFERENCES monitors(id) ON DELETE CASCADE,
    state           TEXT NOT NULL,
    state_since     TIMESTAMP NOT NULL,
    last_check_at   TIMESTAMP NULL,
    last_status     TEXT NOT NULL DEFAULT '',
    last_latency_us BIGINT NOT NULL DEFAULT 0,
    last_message    TEXT NOT NULL DEFAULT '',
    fail_streak     BIGINT NOT NULL DEFAULT 0,
    ok_streak       BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE check_results (
    id         INTEGER PRIMARY KEY,
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    status     TEXT NOT NULL,
    latency_us BIGINT NOT NULL,
    message    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX check_results_monitor_at ON check_results(monitor_id, at);
CREATE INDEX check_results_at ON check_results(at);

CREATE TABLE monitor_events (
    id         INTEGER PRIMARY KEY,
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    message    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX monitor_events_monitor ON monitor_events(monitor_id, id);

-- Rollups: per minute and per hour. Latency percentiles come from a
-- histogram the scheduler keeps per bucket; uptime is up+degraded over count.
CREATE TABLE monitor_rollups (
    monitor_id  BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    resolution  BIGINT NOT NULL,
    bucket      TIMESTAMP NOT NULL,
    n_total     BIGINT NOT NULL,
    n_up        BIGINT NOT NULL,
    n_degraded  BIGINT NOT NULL,
    n_down      BIGINT NOT NULL,
    lat_min_us  BIGINT NOT NULL,
    lat_avg_us  BIGINT NOT NULL,
    lat_max_us  BIGINT NOT NULL,
    lat_p50_us  BIGINT NOT NULL,
    lat_p95_us  BIGINT NOT NULL,
    lat_p99_us  BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, resolution, bucket)
);
CREATE INDEX monitor_rollups_bucket ON monitor_rollups(resolution, bucket);

-- +goose Down
DROP TABLE monitor_rollups;
DROP TABLE monitor_events;
DROP TABLE check_results;
DROP TABLE monitor_status;
DROP TABLE monitors;

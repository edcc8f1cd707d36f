-- +goose Up
-- The host agent fleet (internal/fleet). Secrets (enrollment tokens, agent
-- credentials) are stored as hex SHA-256 only.
CREATE TABLE agent_enroll_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP NULL,
    used_by     BIGINT NULL,
    revoked_at  TIMESTAMP NULL
);

-- One row per host: re-enrolling the same machine id keeps the row (and so
-- its CI, asset, metrics and history) and replaces the credential.
CREATE TABLE agents (
    id                 INTEGER PRIMARY KEY,
    machine_id         TEXT NOT NULL DEFAULT '',
    hostname           TEXT NOT NULL,
    agent_version      TEXT NOT NULL DEFAULT '',
    credential_hash    TEXT NOT NULL UNIQUE,
    enrolled_at        TIMESTAMP NOT NULL,
    revoked_at         TIMESTAMP NULL,
    last_seq           BIGINT NOT NULL DEFAULT 0,
    last_seen          TIMESTAMP NULL,
    last_addr          TEXT NOT NULL DEFAULT '',
    facts              TEXT NOT NULL DEFAULT '',
    facts_hash         TEXT NOT NULL DEFAULT '',
    facts_at           TIMESTAMP NULL,
    ci_id              BIGINT NULL REFERENCES cis(id) ON DELETE SET NULL,
    asset_id           BIGINT NULL REFERENCES assets(id) ON DELETE SET NULL,
    software_hash      TEXT NOT NULL DEFAULT '',
    software_count     BIGINT NOT NULL DEFAULT 0,
    software_at        TIMESTAMP NULL,
    updates_checked_at TIMESTAMP NULL,
    updates_count      BIGINT NOT NULL DEFAULT 0,
    security_count     BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX agents_machine ON agents(machine_id) WHERE machine_id <> '';
CREATE INDEX agents_hostname ON agents(hostname);

-- Software inventories are stored by content: a set per inventory hash,
-- shared by every host with that exact inventory (hosts built from one
-- image), so a fleet of identical hosts stores one list. agents.software_hash
-- points at its set; sets no host points at are deleted by the retention job.
CREATE TABLE agent_software_sets (
    hash       TEXT PRIMARY KEY,
    count      BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE agent_packages (
    set_hash TEXT NOT NULL REFERENCES agent_software_sets(hash) ON DELETE CASCADE,
    source   TEXT NOT NULL,
    name     TEXT NOT NULL,
    version  TEXT NOT NULL,
    arch     TEXT NOT NULL
);
CREATE INDEX agent_packages_set ON agent_packages(set_hash, name);
CREATE INDEX agent_packages_name ON agent_packages(name);

CREATE TABLE agent_updates (
    agent_id  BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    current   TEXT NOT NULL,
    candidate TEXT NOT NULL,
    security  BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX agent_updates_agent ON agent_updates(agent_id);

-- Metrics: a series is (agent, name, key); samples and rollups refer to it
-- by id, so a sample row is three numbers. Times are unix seconds.
CREATE TABLE agent_series (
    id       INTEGER PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    key      TEXT NOT NULL DEFAULT '',
    UNIQUE (agent_id, name, key)
);
CREATE TABLE agent_samples (
    series_id BIGINT NOT NULL REFERENCES agent_series(id) ON DELETE CASCADE,
    t         BIGINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series_id, t)
) WITHOUT ROWID;
CREATE INDEX agent_samples_t ON agent_samples(t);
CREATE TABLE agent_rollups (
    series_id  BIGINT NOT NULL REFERENCES agent_series(id) ON DELETE CASCADE,
    resolution BIGINT NOT NULL,
    bucket     BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    min_value  DOUBLE PRECISION NOT NULL,
    avg_value  DOUBLE PRECISION NOT NULL,
    max_value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series_id, resolution, bucket)
) WITHOUT ROWID;
CREATE INDEX agent_rollups_bucket ON agent_rollups(resolution, bucket);
-- How far each resolution is rolled up, and buckets to redo because late
-- samples (an agent's spool after an outage) arrived after their rollup.
CREATE TABLE agent_rollup_state (
    resolution  BIGINT PRIMARY KEY,
    next_bucket BIGINT NOT NULL
);
CREATE TABLE agent_rollup_dirty (
    resolution BIGINT NOT NULL,
    bucket     BIGINT NOT NULL,
    PRIMARY KEY (resolution, bucket)
);

-- Configuration drift: each watched file's reported change, with its diff.
CREATE TABLE agent_file_changes (
    id          INTEGER PRIMARY KEY,
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    mode        TEXT NOT NULL,
    diff        TEXT NOT NULL,
    truncated   BOOLEAN NOT NULL,
    error       TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX agent_file_changes_agent ON agent_file_changes(agent_id, id);

-- +goose Down
DROP TABLE agent_file_changes;
DROP TABLE agent_rollup_dirty;
DROP TABLE agent_rollup_state;
DROP TABLE agent_rollups;
DROP TABLE agent_samples;
DROP TABLE agent_series;
DROP TABLE agent_updates;
DROP TABLE agent_packages;
DROP TABLE agent_software_sets;
DROP TABLE agents;
DROP TABLE agent_enroll_tokens;

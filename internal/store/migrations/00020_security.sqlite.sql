-- +goose Up
CREATE TABLE security_findings (
    id              INTEGER PRIMARY KEY,
    source          TEXT NOT NULL,
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL,
    ci_id           BIGINT NULL,
    status          TEXT NOT NULL,
    evidence        TEXT NOT NULL DEFAULT '{}',
    first_seen      TIMESTAMP NOT NULL,
    last_seen       TIMESTAMP NOT NULL,
    fixed_at        TIMESTAMP NULL,
    accepted_reason TEXT NOT NULL DEFAULT '',
    accepted_by     TEXT NOT NULL DEFAULT '',
    accepted_until  TIMESTAMP NULL,
    UNIQUE (source, key)
);
CREATE INDEX security_findings_scope ON security_findings (source, scope, status);
CREATE INDEX security_findings_status ON security_findings (status, severity);
CREATE INDEX security_findings_ci ON security_findings (ci_id, status);

-- The newest certificate each TLS check saw, for the certificate horizon.
CREATE TABLE security_certs (
    monitor_id BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    ci_id      BIGINT NULL,
    not_after  TIMESTAMP NOT NULL,
    checked_at TIMESTAMP NOT NULL
);

-- Security settings edited by admins: one row per key.
CREATE TABLE security_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- TOTP second factor: the secret (sealed with the secret key) and the
-- last time step used, so a code cannot be replayed within its step.
CREATE TABLE user_totp (
    user_id      BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       TEXT NOT NULL,
    confirmed_at TIMESTAMP NULL,
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE user_recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   TIMESTAMP NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE user_recovery_codes;
DROP TABLE user_totp;
DROP TABLE security_settings;
DROP TABLE security_certs;
DROP TABLE security_findings;

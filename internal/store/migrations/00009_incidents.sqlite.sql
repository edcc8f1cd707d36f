-- +goose Up
-- Technical services: what alerts and incidents belong to, with their
-- grouping rule and escalation policy (oncall owns that table: no FK).
CREATE TABLE services (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    description          TEXT NOT NULL DEFAULT '',
    escalation_policy_id BIGINT NULL,
    group_by             TEXT NOT NULL DEFAULT '',
    group_window_ms      BIGINT NOT NULL DEFAULT 3600000,
    auto_resolve         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

-- Integrations: one secret key each (stored as a SHA-256 hash).
CREATE TABLE integrations (
    id         INTEGER PRIMARY KEY,
    service_id BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    key_hint   TEXT NOT NULL,
    mapping    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX integrations_service ON integrations(service_id);

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    priority        TEXT NOT NULL,
    status          TEXT NOT NULL,
    service_id      BIGINT NULL REFERENCES services(id),
    group_key       TEXT NOT NULL DEFAULT '',
    assignee_id     BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    responders      TEXT NOT NULL DEFAULT '',
    auto_resolve    BOOLEAN NOT NULL DEFAULT TRUE,
    merged_into     BIGINT NULL REFERENCES incidents(id),
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP NULL,
    resolved_at     TIMESTAMP NULL,
    last_alert_at   TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX incidents_status ON incidents(status, id);
CREATE INDEX incidents_group ON incidents(service_id, group_key, id) WHERE resolved_at IS NULL;

-- Alerts: one open alert per scope (an integration, or the monitors) and
-- dedup key; a trigger after resolve opens a new row.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    service_id      BIGINT NOT NULL REFERENCES services(id),
    integration_id  BIGINT NULL REFERENCES integrations(id) ON DELETE SET NULL,
    scope           TEXT NOT NULL,
    dedup_key       TEXT NOT NULL,
    status          TEXT NOT NULL,
    severity        TEXT NOT NULL,
    summary         TEXT NOT NULL,
    source          TEXT NOT NULL DEFAULT '',
    labels          TEXT NOT NULL DEFAULT '{}',
    details         TEXT NOT NULL DEFAULT '{}',
    links           TEXT NOT NULL DEFAULT '[]',
    event_count     BIGINT NOT NULL DEFAULT 1,
    first_seen      TIMESTAMP NOT NULL,
    last_seen       TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP NULL,
    resolved_at     TIMESTAMP NULL,
    incident_id     BIGINT NULL REFERENCES incidents(id)
);
CREATE UNIQUE INDEX alerts_open ON alerts(scope, dedup_key) WHERE resolved_at IS NULL;
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE INDEX alerts_service ON alerts(service_id, id);

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    alert_id    BIGINT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline(incident_id, id);

-- Server secrets of the incident domain (the action-link HMAC key).
CREATE TABLE incident_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Problems: the shared cause of incidents, with root cause, workaround and
-- the known-error flag responders search.
CREATE TABLE problems (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    status      TEXT NOT NULL,
    root_cause  TEXT NOT NULL DEFAULT '',
    workaround  TEXT NOT NULL DEFAULT '',
    known_error BOOLEAN NOT NULL DEFAULT FALSE,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE TABLE problem_incidents (
    problem_id  BIGINT NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    PRIMARY KEY (problem_id, incident_id)
);
CREATE INDEX problem_incidents_incident ON problem_incidents(incident_id);

-- Postmortems: one document per incident, and its action items.
CREATE TABLE postmortems (
    incident_id BIGINT PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE TABLE postmortem_actions (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    owner_id    BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    due_on      TEXT NOT NULL DEFAULT '',
    done        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX postmortem_actions_incident ON postmortem_actions(incident_id, id);

-- +goose Down
DROP TABLE postmortem_actions;
DROP TABLE postmortems;
DROP TABLE problem_incidents;
DROP TABLE problems;
DROP TABLE incident_secrets;
DROP TABLE incident_timeline;
DROP TABLE alerts;
DROP TABLE incidents;
DROP TABLE integrations;
DROP TABLE services;

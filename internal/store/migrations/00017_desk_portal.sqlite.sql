-- +goose Up
-- Organisations group requesters; an organisation that shares tickets lets
-- each member see every ticket whose organisation is its name.
CREATE TABLE sd_organizations (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    share_tickets BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    TIMESTAMP NOT NULL
);
-- A user belongs to at most one organisation.
CREATE TABLE sd_org_members (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    org_id  BIGINT NOT NULL REFERENCES sd_organizations(id) ON DELETE CASCADE
);
CREATE INDEX sd_org_members_org ON sd_org_members(org_id);
CREATE INDEX sd_tickets_organization ON sd_tickets(organization, id);

-- The service catalog: request forms whose typed fields (JSON) become a
-- ticket with the item's defaults.
CREATE TABLE sd_catalog_items (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    icon        TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    position    INTEGER NOT NULL DEFAULT 0,
    ticket_type     TEXT NOT NULL DEFAULT 'service_request',
    ticket_category TEXT NOT NULL DEFAULT '',
    group_id    BIGINT NULL REFERENCES sd_groups(id) ON DELETE SET NULL,
    impact      INTEGER NOT NULL DEFAULT 2,
    urgency     INTEGER NOT NULL DEFAULT 2,
    fields      TEXT NOT NULL DEFAULT '[]',
    updated_at  TIMESTAMP NOT NULL
);
-- An item with rows here is visible only to members of those organisations.
CREATE TABLE sd_catalog_orgs (
    item_id BIGINT NOT NULL REFERENCES sd_catalog_items(id) ON DELETE CASCADE,
    org_id  BIGINT NOT NULL REFERENCES sd_organizations(id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, org_id)
);
-- A ticket opened from the catalog keeps the item and the answers.
CREATE TABLE sd_ticket_forms (
    ticket_id BIGINT PRIMARY KEY REFERENCES sd_tickets(id) ON DELETE CASCADE,
    item_id   BIGINT NULL REFERENCES sd_catalog_items(id) ON DELETE SET NULL,
    item_name TEXT NOT NULL,
    answers   TEXT NOT NULL DEFAULT '[]'
);

-- One satisfaction rating per ticket.
CREATE TABLE sd_ratings (
    ticket_id  BIGINT PRIMARY KEY REFERENCES sd_tickets(id) ON DELETE CASCADE,
    score      INTEGER NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    rated_by   TEXT NOT NULL,
    via        TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE sd_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- Per-ticket measures kept current with the SLA state, so the metrics are
-- plain aggregates: business seconds to first response and to resolution
-- (pending time excluded), public agent replies, reopens, the CSAT score.
ALTER TABLE sd_tickets ADD COLUMN response_s BIGINT NULL;
ALTER TABLE sd_tickets ADD COLUMN resolution_s BIGINT NULL;
ALTER TABLE sd_tickets ADD COLUMN agent_replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sd_tickets ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sd_tickets ADD COLUMN csat_score INTEGER NOT NULL DEFAULT 0;
-- Covers the metrics query: a range of creation times, read from the index
-- alone.
CREATE INDEX sd_tickets_metrics ON sd_tickets(created_at, group_id, status, merged_into, response_s, resolution_s,
    sla_response_state, sla_resolution_state, agent_replies, reopens, csat_score);
-- Covers the backlog: unresolved tickets by group and age.
CREATE INDEX sd_tickets_backlog ON sd_tickets(status, group_id, created_at);

-- +goose Down
DROP INDEX sd_tickets_backlog;
DROP INDEX sd_tickets_metrics;
ALTER TABLE sd_tickets DROP COLUMN csat_score;
ALTER TABLE sd_tickets DROP COLUMN reopens;
ALTER TABLE sd_tickets DROP COLUMN agent_replies;
ALTER TABLE sd_tickets DROP COLUMN resolution_s;
ALTER TABLE sd_tickets DROP COLUMN response_s;
DROP TABLE sd_secrets;
DROP TABLE sd_ratings;
DROP TABLE sd_ticket_forms;
DROP TABLE sd_catalog_orgs;
DROP TABLE sd_catalog_items;
DROP INDEX sd_tickets_organization;
DROP TABLE sd_org_members;
DROP TABLE sd_organizations;

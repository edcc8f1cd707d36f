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

-- Per-ticket measures kept current with the SLA state: business seconds
-- to first response and to resolution (pending time excluded), public
-- agent replies, reopens, the CSAT score; rollup_group is the group under
-- which the ticket is counted in sd_metrics_daily (NULL: not counted).
ALTER TABLE sd_tickets ADD COLUMN response_s BIGINT NULL;
ALTER TABLE sd_tickets ADD COLUMN resolution_s BIGINT NULL;
ALTER TABLE sd_tickets ADD COLUMN agent_replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sd_tickets ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sd_tickets ADD COLUMN csat_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sd_tickets ADD COLUMN rollup_group BIGINT NULL;
-- rollup_open: the ticket is counted as unresolved (backlog) there.
ALTER TABLE sd_tickets ADD COLUMN rollup_open BOOLEAN NOT NULL DEFAULT FALSE;

-- The metrics' rollup: the sums of the measures of the tickets opened on
-- one UTC day (days since 1970-01-01) in one group (0: none), and how many
-- of them are unresolved (the backlog), kept by
-- adding each ticket's change as it happens, so a year of metrics reads a
-- few thousand rows whatever the number of tickets.
CREATE TABLE sd_metrics_daily (
    day                 BIGINT NOT NULL,
    group_id            BIGINT NOT NULL,
    tickets             BIGINT NOT NULL DEFAULT 0,
    responded           BIGINT NOT NULL DEFAULT 0,
    response_sum        BIGINT NOT NULL DEFAULT 0,
    resolved            BIGINT NOT NULL DEFAULT 0,
    resolution_sum      BIGINT NOT NULL DEFAULT 0,
    response_met        BIGINT NOT NULL DEFAULT 0,
    response_breached   BIGINT NOT NULL DEFAULT 0,
    resolution_met      BIGINT NOT NULL DEFAULT 0,
    resolution_breached BIGINT NOT NULL DEFAULT 0,
    first_contact       BIGINT NOT NULL DEFAULT 0,
    rated               BIGINT NOT NULL DEFAULT 0,
    csat_sum            BIGINT NOT NULL DEFAULT 0,
    unresolved          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, group_id)
);
-- Tickets already there count with what is known of them: their SLA
-- states (their times are measured from their next change on).
INSERT INTO sd_metrics_daily (day, group_id, tickets, response_met, response_breached, resolution_met, resolution_breached, unresolved)
SELECT CAST(julianday(substr(created_at, 1, 10)) - 2440587.5 AS INTEGER), COALESCE(group_id, 0), COUNT(*),
    SUM(CASE WHEN sla_response_state = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN sla_response_state = 'breached' THEN 1 ELSE 0 END),
    SUM(CASE WHEN sla_resolution_state = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN sla_resolution_state = 'breached' THEN 1 ELSE 0 END),
    SUM(CASE WHEN status IN ('new', 'open', 'pending') THEN 1 ELSE 0 END)
FROM sd_tickets WHERE merged_into IS NULL GROUP BY 1, 2;
UPDATE sd_tickets SET rollup_group = COALESCE(group_id, 0), rollup_open = status IN ('new', 'open', 'pending') WHERE merged_into IS NULL;

-- +goose Down
DROP TABLE sd_metrics_daily;
ALTER TABLE sd_tickets DROP COLUMN rollup_open;
ALTER TABLE sd_tickets DROP COLUMN rollup_group;
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

-- +goose Up
CREATE TABLE sd_calendars (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    time_zone  TEXT NOT NULL,
    all_day    BOOLEAN NOT NULL DEFAULT FALSE,
    hours      TEXT NOT NULL DEFAULT '{}',
    holidays   TEXT NOT NULL DEFAULT '[]',
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sd_sla_policies (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    position           INTEGER NOT NULL,
    match_priority     INTEGER NOT NULL DEFAULT 0,
    match_category     TEXT NOT NULL DEFAULT '',
    match_organization TEXT NOT NULL DEFAULT '',
    calendar_id        BIGINT NULL REFERENCES sd_calendars(id),
    response_minutes   INTEGER NOT NULL,
    resolution_minutes INTEGER NOT NULL,
    warn_percent       INTEGER NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE sd_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    assign_mode TEXT NOT NULL DEFAULT 'none',
    categories  TEXT NOT NULL DEFAULT '',
    last_assignee BIGINT NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE sd_group_members (
    group_id BIGINT NOT NULL REFERENCES sd_groups(id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE sd_priority_matrix (
    impact   INTEGER NOT NULL,
    urgency  INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    PRIMARY KEY (impact, urgency)
);
INSERT INTO sd_priority_matrix (impact, urgency, priority) VALUES
    (1, 1, 1), (1, 2, 2), (1, 3, 3),
    (2, 1, 2), (2, 2, 3), (2, 3, 4),
    (3, 1, 3), (3, 2, 4), (3, 3, 5);

CREATE TABLE sd_tickets (
    id                  INTEGER PRIMARY KEY,
    type                TEXT NOT NULL,
    status              TEXT NOT NULL,
    pending_reason      TEXT NOT NULL DEFAULT '',
    subject             TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    requester_id        BIGINT NOT NULL REFERENCES users(id),
    organization        TEXT NOT NULL DEFAULT '',
    assignee_id         BIGINT NULL REFERENCES users(id),
    group_id            BIGINT NULL REFERENCES sd_groups(id),
    category            TEXT NOT NULL DEFAULT '',
    impact              INTEGER NOT NULL,
    urgency             INTEGER NOT NULL,
    priority            INTEGER NOT NULL,
    tags                TEXT NOT NULL DEFAULT '',
    due_at              TIMESTAMP NULL,
    merged_into         BIGINT NULL REFERENCES sd_tickets(id),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    resolved_at         TIMESTAMP NULL,
    first_response_at   TIMESTAMP NULL,
    sla_policy_id       BIGINT NULL REFERENCES sd_sla_policies(id) ON DELETE SET NULL,
    sla_calendar_id     BIGINT NULL REFERENCES sd_calendars(id) ON DELETE SET NULL,
    sla_response_s      BIGINT NOT NULL DEFAULT 0,
    sla_resolution_s    BIGINT NOT NULL DEFAULT 0,
    sla_warn_percent    INTEGER NOT NULL DEFAULT 0,
    sla_state           TEXT NOT NULL DEFAULT '',
    sla_response_state  TEXT NOT NULL DEFAULT '',
    sla_resolution_state TEXT NOT NULL DEFAULT '',
    sla_paused          BOOLEAN NOT NULL DEFAULT FALSE,
    -- Unix seconds, never NULL (253402300799 = none), so both engines sort
    -- and compare them the same way and the queue index serves ORDER BY.
    sla_due             BIGINT NOT NULL DEFAULT 253402300799,
    sla_next_check      BIGINT NOT NULL DEFAULT 253402300799
);
CREATE INDEX sd_tickets_status_group_due ON sd_tickets(status, group_id, sla_due, id);
CREATE INDEX sd_tickets_status_due ON sd_tickets(status, sla_due, id);
-- The "all unresolved, soonest due" queue walks this in order: tickets
-- without a due time (pending, resolved, closed) sort last, so the first
-- page is found after reading little more than a page.
CREATE INDEX sd_tickets_due ON sd_tickets(sla_due, id);
CREATE INDEX sd_tickets_requester ON sd_tickets(requester_id, id);
CREATE INDEX sd_tickets_assignee ON sd_tickets(assignee_id, status, id);
CREATE INDEX sd_tickets_next_check ON sd_tickets(sla_next_check);

CREATE TABLE sd_comments (
    id         INTEGER PRIMARY KEY,
    ticket_id  BIGINT NOT NULL REFERENCES sd_tickets(id) ON DELETE CASCADE,
    author_id  BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    author     TEXT NOT NULL,
    public     BOOLEAN NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sd_comments_ticket ON sd_comments(ticket_id, id);

CREATE TABLE sd_history (
    id        INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES sd_tickets(id) ON DELETE CASCADE,
    at        TIMESTAMP NOT NULL,
    actor     TEXT NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT NOT NULL DEFAULT '',
    new_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sd_history_ticket ON sd_history(ticket_id, id);

-- Attachments live in their own table so ticket rows and lists never
-- carry their bytes; content_type is what the server sniffed, not what the
-- uploader claimed.
CREATE TABLE sd_attachments (
    id           INTEGER PRIMARY KEY,
    ticket_id    BIGINT NOT NULL REFERENCES sd_tickets(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX sd_attachments_ticket ON sd_attachments(ticket_id, id);

-- +goose Down
DROP TABLE sd_attachments;
DROP TABLE sd_history;
DROP TABLE sd_comments;
DROP TABLE sd_tickets;
DROP TABLE sd_priority_matrix;
DROP TABLE sd_group_members;
DROP TABLE sd_groups;
DROP TABLE sd_sla_policies;
DROP TABLE sd_calendars;

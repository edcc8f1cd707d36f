-- +goose Up
-- Change management: change requests with their CIs, links, timeline and
-- approvals; approver groups (CABs) and their rules by risk; templates of
-- standard changes; freeze (blackout) windows.
CREATE TABLE change_templates (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    description         TEXT NOT NULL DEFAULT '',
    category            TEXT NOT NULL DEFAULT '',
    risk                TEXT NOT NULL,
    impact              TEXT NOT NULL DEFAULT '',
    implementation_plan TEXT NOT NULL DEFAULT '',
    backout_plan        TEXT NOT NULL DEFAULT '',
    test_plan           TEXT NOT NULL DEFAULT '',
    duration_ms         BIGINT NOT NULL,
    ci_ids              TEXT NOT NULL DEFAULT '',
    created_by          TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

CREATE TABLE changes (
    id                  INTEGER PRIMARY KEY,
    type                TEXT NOT NULL,
    state               TEXT NOT NULL,
    outcome             TEXT NOT NULL DEFAULT '',
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    category            TEXT NOT NULL DEFAULT '',
    risk                TEXT NOT NULL DEFAULT '',
    risk_answers        TEXT NOT NULL DEFAULT '',
    impact              TEXT NOT NULL DEFAULT '',
    implementation_plan TEXT NOT NULL DEFAULT '',
    backout_plan        TEXT NOT NULL DEFAULT '',
    test_plan           TEXT NOT NULL DEFAULT '',
    planned_start       TIMESTAMP NULL,
    planned_end         TIMESTAMP NULL,
    actual_start        TIMESTAMP NULL,
    actual_end          TIMESTAMP NULL,
    implementer_id      BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    requester_id        BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    requester           TEXT NOT NULL,
    template_id         BIGINT NULL REFERENCES change_templates(id) ON DELETE SET NULL,
    skip_maintenance    BOOLEAN NOT NULL DEFAULT FALSE,
    maintenance_id      BIGINT NULL,
    approval_round      INTEGER NOT NULL DEFAULT 1,
    unapproved          BOOLEAN NOT NULL DEFAULT FALSE,
    in_freeze           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    submitted_at        TIMESTAMP NULL,
    closed_at           TIMESTAMP NULL
);
-- Conflict checks read open changes by time: planned_start bounds the scan.
CREATE INDEX changes_state_start ON changes (state, planned_start);
CREATE INDEX changes_start ON changes (planned_start, id);
CREATE INDEX changes_actual ON changes (actual_start);
CREATE INDEX changes_created ON changes (created_at, id);

CREATE TABLE change_cis (
    change_id BIGINT NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
    ci_id     BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    PRIMARY KEY (change_id, ci_id)
);
CREATE INDEX change_cis_ci ON change_cis (ci_id, change_id);

-- Tickets, problems and incidents tied to a change; caused marks an
-- incident flagged "possibly caused by" the change.
CREATE TABLE change_links (
    change_id  BIGINT NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    object_id  BIGINT NOT NULL,
    caused     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (change_id, kind, object_id)
);
CREATE INDEX change_links_object ON change_links (kind, object_id);

CREATE TABLE change_events (
    id         INTEGER PRIMARY KEY,
    change_id  BIGINT NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX change_events_change ON change_events (change_id, id);

CREATE TABLE cab_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE TABLE cab_members (
    group_id BIGINT NOT NULL REFERENCES cab_groups(id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX cab_members_user ON cab_members (user_id);
-- A change of a risk level needs min_approvals from each group listed for
-- that level; no row for a level means no approval is needed.
CREATE TABLE approval_rules (
    risk          TEXT NOT NULL,
    group_id      BIGINT NOT NULL REFERENCES cab_groups(id) ON DELETE CASCADE,
    min_approvals INTEGER NOT NULL,
    PRIMARY KEY (risk, group_id)
);

CREATE TABLE change_approvals (
    id        INTEGER PRIMARY KEY,
    change_id BIGINT NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
    round     INTEGER NOT NULL,
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    decision  TEXT NOT NULL,
    comment   TEXT NOT NULL DEFAULT '',
    at        TIMESTAMP NOT NULL,
    UNIQUE (change_id, round, user_id)
);

CREATE TABLE change_freezes (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at   TIMESTAMP NULL,
    ends_at     TIMESTAMP NULL,
    cron        TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    timezone    TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE change_freezes;
DROP TABLE change_approvals;
DROP TABLE approval_rules;
DROP TABLE cab_members;
DROP TABLE cab_groups;
DROP TABLE change_events;
DROP TABLE change_links;
DROP TABLE change_cis;
DROP TABLE changes;
DROP TABLE change_templates;

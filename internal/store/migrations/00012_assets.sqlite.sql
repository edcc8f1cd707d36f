-- +goose Up
-- Hardware and software assets. Dates are ISO 'YYYY-MM-DD' text ('' when
-- unknown) so one SQL text compares them on both engines; cost is integer
-- cents with its currency. The linked CI lives in ci_links (kind 'asset').
CREATE TABLE assets (
    id                INTEGER PRIMARY KEY,
    tag               TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    serial            TEXT NOT NULL DEFAULT '',
    model             TEXT NOT NULL DEFAULT '',
    manufacturer      TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL DEFAULT '',
    location          TEXT NOT NULL DEFAULT '',
    owner_id          BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    assignee_id       BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    assigned_location TEXT NOT NULL DEFAULT '',
    cost_cents        BIGINT NULL,
    currency          TEXT NOT NULL DEFAULT '',
    supplier          TEXT NOT NULL DEFAULT '',
    purchase_date     TEXT NOT NULL DEFAULT '',
    warranty_end      TEXT NOT NULL DEFAULT '',
    lease_end         TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    -- search is tag, serial, model and manufacturer lowercased (by the
    -- service), so the text filter is one LIKE per row, not four lower().
    search            TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
-- The list filters by one column and sorts by tag (or changed time): each
-- filter index ends with the sort key so a filtered page is an index range.
CREATE INDEX assets_status_tag ON assets (status, tag);
CREATE INDEX assets_status_updated ON assets (status, updated_at, id);
CREATE INDEX assets_category_tag ON assets (category, tag);
CREATE INDEX assets_location_tag ON assets (location, tag);
CREATE INDEX assets_assignee_tag ON assets (assignee_id, tag);
CREATE INDEX assets_warranty ON assets (warranty_end);
CREATE INDEX assets_lease ON assets (lease_end);
CREATE INDEX assets_updated ON assets (updated_at, id);

-- Every lifecycle move, check-out, check-in and edit of an asset.
CREATE TABLE asset_history (
    id          INTEGER PRIMARY KEY,
    asset_id    BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX asset_history_asset ON asset_history (asset_id, id);

-- Stocktakes: a run covers the assets on hand (not ordered, not disposed), at one
-- location or everywhere; assets are marked seen by tag; the missing are
-- those in scope not seen.
CREATE TABLE asset_audits (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    location   TEXT NOT NULL DEFAULT '',
    closed     BOOLEAN NOT NULL DEFAULT FALSE,
    started_at TIMESTAMP NOT NULL,
    started_by TEXT NOT NULL,
    closed_at  TIMESTAMP NULL
);
CREATE TABLE asset_audit_seen (
    audit_id BIGINT NOT NULL REFERENCES asset_audits(id) ON DELETE CASCADE,
    asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    seen_at  TIMESTAMP NOT NULL,
    seen_by  TEXT NOT NULL,
    PRIMARY KEY (audit_id, asset_id)
);

-- +goose Down
DROP TABLE asset_audit_seen;
DROP TABLE asset_audits;
DROP TABLE asset_history;
DROP TABLE assets;

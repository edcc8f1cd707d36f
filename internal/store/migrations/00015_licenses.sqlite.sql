-- +goose Up
-- Software licenses: what was bought (seats, key, dates, cost) and the name
-- patterns that decide which installed packages count against it. Dates are
-- 'YYYY-MM-DD' text like the assets' so one SQL text compares them on both
-- engines. patterns holds one glob per line. license_key is kept as typed
-- (it must be shown again on request); the service masks it on every read.
CREATE TABLE licenses (
    id            INTEGER PRIMARY KEY,
    product       TEXT NOT NULL,
    publisher     TEXT NOT NULL DEFAULT '',
    license_type  TEXT NOT NULL,
    seats         BIGINT NOT NULL,
    license_key   TEXT NOT NULL DEFAULT '',
    purchase_date TEXT NOT NULL DEFAULT '',
    cost_cents    BIGINT NULL,
    currency      TEXT NOT NULL DEFAULT '',
    supplier      TEXT NOT NULL DEFAULT '',
    expires       TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    patterns      TEXT NOT NULL DEFAULT '',
    -- search is product and publisher lowercased (by the service).
    search        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX licenses_product ON licenses (product, id);
CREATE INDEX licenses_publisher ON licenses (publisher, product);
CREATE INDEX licenses_expires ON licenses (expires);

-- A seat given to a user or to a (hardware) asset: exactly one of the two.
CREATE TABLE license_seats (
    id          INTEGER PRIMARY KEY,
    license_id  BIGINT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    user_id     BIGINT NULL REFERENCES users(id) ON DELETE CASCADE,
    asset_id    BIGINT NULL REFERENCES assets(id) ON DELETE CASCADE,
    assigned_at TIMESTAMP NOT NULL,
    assigned_by TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    CHECK ((user_id IS NULL) <> (asset_id IS NULL))
);
CREATE UNIQUE INDEX license_seats_user ON license_seats (license_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX license_seats_asset ON license_seats (license_id, asset_id) WHERE asset_id IS NOT NULL;
CREATE INDEX license_seats_by_user ON license_seats (user_id);
CREATE INDEX license_seats_by_asset ON license_seats (asset_id);

-- Every edit, assignment, unassignment and key reveal of a license.
CREATE TABLE license_history (
    id         INTEGER PRIMARY KEY,
    license_id BIGINT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX license_history_license ON license_history (license_id, id);

-- +goose Down
DROP TABLE license_history;
DROP TABLE license_seats;
DROP TABLE licenses;

-- +goose Up
-- The secret part of a heartbeat monitor's ping URL, kept apart from the
-- definition so that replacing a definition never changes the URL.
CREATE TABLE heartbeat_keys (
    monitor_id BIGINT PRIMARY KEY REFERENCES monitors(id) ON DELETE CASCADE,
    ping_key   TEXT NOT NULL UNIQUE
);

CREATE TABLE heartbeat_pings (
    id          INTEGER PRIMARY KEY,
    monitor_id  BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    kind        TEXT NOT NULL,
    exit_code   BIGINT NULL,
    rid         TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    source_addr TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX heartbeat_pings_monitor ON heartbeat_pings(monitor_id, id);
CREATE INDEX heartbeat_pings_at ON heartbeat_pings(at);

-- +goose Down
DROP TABLE heartbeat_pings;
DROP TABLE heartbeat_keys;

-- +goose Up
-- Numeric values a check reports beside its verdict: Nagios perfdata, HTTP
-- status, days to certificate expiry, packet loss, SNMP values. Kept as long
-- as raw results.
CREATE TABLE check_metrics (
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    name       TEXT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    unit       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX check_metrics_series ON check_metrics(monitor_id, name, at);
CREATE INDEX check_metrics_at ON check_metrics(at);

-- +goose Down
DROP TABLE check_metrics;

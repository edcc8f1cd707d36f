-- +goose Up
-- Channels are admin-defined destinations: a kind (email, webhook, slack,
-- teams, discord, mattermost, ntfy, telegram) and its settings as JSON,
-- validated per kind by the notify package before they are stored.
CREATE TABLE notification_channels (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    settings   TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A contact method is one user's address on a channel: an email address,
-- a Telegram chat id, an ntfy topic, a personal webhook URL.
CREATE TABLE contact_methods (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    label      TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contact_methods_user ON contact_methods(user_id);
CREATE INDEX contact_methods_channel ON contact_methods(channel_id);

-- A notification rule says when a page reaches a contact method: at once
-- or after a delay, such as "email at once, webhook after 5 minutes".
CREATE TABLE notification_rules (
    id                INTEGER PRIMARY KEY,
    user_id           BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id BIGINT NOT NULL REFERENCES contact_methods(id) ON DELETE CASCADE,
    delay_minutes     BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX notification_rules_user ON notification_rules(user_id);
CREATE INDEX notification_rules_method ON notification_rules(contact_method_id);

-- The outbox: a notification is a row before it is sent. next_attempt_at is
-- when the worker may claim the row: not_before for a new row, the backoff
-- for a failed one, the end of the lease for one being sent (so a crash
-- mid-send re-sends once the lease runs out: at-least-once).
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    idem_key        TEXT NOT NULL UNIQUE,
    channel_id      BIGINT NULL REFERENCES notification_channels(id) ON DELETE SET NULL,
    channel_kind    TEXT NOT NULL,
    channel_name    TEXT NOT NULL,
    address         TEXT NOT NULL DEFAULT '',
    user_id         BIGINT NULL,
    ref_kind        TEXT NOT NULL DEFAULT '',
    ref_id          BIGINT NOT NULL DEFAULT 0,
    title           TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    not_before      TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP NULL
);
CREATE INDEX notifications_due ON notifications(status, next_attempt_at);
CREATE INDEX notifications_ref ON notifications(ref_kind, ref_id);
CREATE INDEX notifications_user ON notifications(user_id);

-- +goose Down
DROP TABLE notifications;
DROP TABLE notification_rules;
DROP TABLE contact_methods;
DROP TABLE notification_channels;

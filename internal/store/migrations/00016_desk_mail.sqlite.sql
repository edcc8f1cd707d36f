-- +goose Up
-- Every mail opsdeck's service desk received or sent: inbound rows record
-- the outcome (ticket, reply or why it was dropped) and deduplicate by
-- Message-ID; both directions' Message-IDs thread replies into tickets.
CREATE TABLE desk_mail_messages (
    id          INTEGER PRIMARY KEY,
    direction   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    via         TEXT NOT NULL DEFAULT '',
    from_addr   TEXT NOT NULL DEFAULT '',
    to_addr     TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    size        BIGINT NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    ticket_id   BIGINT NULL REFERENCES sd_tickets(id) ON DELETE SET NULL,
    comment_id  BIGINT NULL,
    requester_id BIGINT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (direction, message_id)
);
CREATE INDEX desk_mail_messages_msgid ON desk_mail_messages (message_id);
CREATE INDEX desk_mail_messages_ticket ON desk_mail_messages (ticket_id);
CREATE INDEX desk_mail_messages_sender ON desk_mail_messages (from_addr, created_at);

-- Outbound notifications, rendered when queued and sent at least once by
-- the deskmail worker through a notify email channel's SMTP settings.
CREATE TABLE desk_mail_outbox (
    id            INTEGER PRIMARY KEY,
    idem_key      TEXT NOT NULL UNIQUE,
    ticket_id     BIGINT NOT NULL,
    to_addr       TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    in_reply_to   TEXT NOT NULL DEFAULT '',
    references_ids TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    sent_at       TIMESTAMP NULL
);
CREATE INDEX desk_mail_outbox_due ON desk_mail_outbox (status, next_attempt_at);

-- Cursors of the change feed the outbound side reads (last comment and
-- history row turned into mail).
CREATE TABLE desk_mail_cursors (
    name    TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL
);


CREATE INDEX desk_mail_users_email ON users (lower(email));

-- +goose Down
DROP INDEX desk_mail_users_email;
DROP TABLE desk_mail_cursors;
DROP TABLE desk_mail_outbox;
DROP TABLE desk_mail_messages;

-- +goose Up
-- Full-text index over ticket subjects and descriptions, an external-content
-- FTS5 table the triggers keep current on every write (like kb_articles_fts).
-- porter stems English words; the queue's q= searches it.
CREATE VIRTUAL TABLE sd_tickets_fts USING fts5(subject, description, content='sd_tickets', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');

-- The tickets already there.
INSERT INTO sd_tickets_fts (sd_tickets_fts) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER sd_tickets_ai AFTER INSERT ON sd_tickets BEGIN
    INSERT INTO sd_tickets_fts (rowid, subject, description) VALUES (new.id, new.subject, new.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER sd_tickets_ad AFTER DELETE ON sd_tickets BEGIN
    INSERT INTO sd_tickets_fts (sd_tickets_fts, rowid, subject, description) VALUES ('delete', old.id, old.subject, old.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER sd_tickets_au AFTER UPDATE OF subject, description ON sd_tickets BEGIN
    INSERT INTO sd_tickets_fts (sd_tickets_fts, rowid, subject, description) VALUES ('delete', old.id, old.subject, old.description);
    INSERT INTO sd_tickets_fts (rowid, subject, description) VALUES (new.id, new.subject, new.description);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER sd_tickets_au;
DROP TRIGGER sd_tickets_ad;
DROP TRIGGER sd_tickets_ai;
DROP TABLE sd_tickets_fts;

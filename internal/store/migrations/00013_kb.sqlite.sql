-- +goose Up
CREATE TABLE kb_categories (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE kb_articles (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    category_id  BIGINT NULL REFERENCES kb_categories(id) ON DELETE SET NULL,
    status       TEXT NOT NULL,
    author_id    BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    revision     INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    published_at TIMESTAMP NULL
);
CREATE INDEX kb_articles_category ON kb_articles (category_id, status, id);
CREATE INDEX kb_articles_status ON kb_articles (status, id);

CREATE TABLE kb_revisions (
    article_id BIGINT NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL,
    author_id  BIGINT NULL REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (article_id, revision)
);

-- Full-text index over title and body, an external-content FTS5 table the
-- triggers keep current on every write. porter stems English words.
CREATE VIRTUAL TABLE kb_articles_fts USING fts5(title, body, content='kb_articles', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');

-- +goose StatementBegin
CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN
    INSERT INTO kb_articles_fts (kb_articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER kb_articles_au AFTER UPDATE OF title, body ON kb_articles BEGIN
    INSERT INTO kb_articles_fts (kb_articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
-- +goose StatementEnd

CREATE TABLE kb_ticket_articles (
    ticket_id  BIGINT NOT NULL REFERENCES sd_tickets(id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);
CREATE INDEX kb_ticket_articles_article ON kb_ticket_articles (article_id);

-- +goose Down
DROP TABLE kb_ticket_articles;
DROP TRIGGER kb_articles_au;
DROP TRIGGER kb_articles_ad;
DROP TRIGGER kb_articles_ai;
DROP TABLE kb_articles_fts;
DROP TABLE kb_revisions;
DROP TABLE kb_articles;
DROP TABLE kb_categories;
